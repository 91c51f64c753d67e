-- Installing the extension creates schema witness and nothing outside it.
CREATE EXTENSION pg_witness;

SELECT extversion FROM pg_extension WHERE extname = 'pg_witness';

-- Every object pg_witness creates carries a comment.
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object_without_comment
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_witness'
WHERE d.deptype = 'e'
  AND d.classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_event_trigger'::regclass,
                    'pg_opclass'::regclass, 'pg_opfamily'::regclass)
  AND obj_description(d.objid, d.classid::regclass::name) IS NULL
  AND NOT (d.classid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = d.objid) IN ('i', 't'))
ORDER BY 1;
-- ... and so does every column of its tables, views and composite types (what \d+ and BI tools show;
-- a partition's columns are its table's).
SELECT c.oid::regclass AS relation, a.attname AS column_without_comment
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_witness'
JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE d.deptype = 'e' AND c.relkind IN ('r', 'p', 'v', 'm', 'c') AND NOT c.relispartition
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1, 2;

-- The trail and configuration tables give PUBLIC nothing.
SELECT c.relname, c.relacl IS NULL OR NOT EXISTS (
           SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0) AS public_has_nothing
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'witness' AND c.relkind IN ('r', 'p', 'v', 'S')
ORDER BY 1;

-- Only superusers (and roles they grant it to) may change what is tracked.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'witness' AND p.proname IN ('track', 'untrack', '_invalidate', '_begin_internal_ddl', '_end_internal_ddl',
                                              '_capture_rows', '_record_ddl', '_sync_capture_triggers', '_outer_user')
ORDER BY 1;

SELECT witness.classifications();
SELECT witness.tag_mask('{pii,internal}'), witness.tag_names(17::smallint), witness.tag_names(0::smallint);
-- A mistyped tag is an error, not a mask of 0 that a filter on it would silently match nothing with;
-- NULL elements count for nothing.
SELECT witness.tag_mask('{pii,pli}');
SELECT witness.tag_mask(ARRAY[NULL, 'financial']), witness.tag_mask('{}');

-- Every record table of pg_witness's own, and its id sequence, is saved by pg_dump with the
-- extension: a restored trail keeps the rows its entries were captured from.
SELECT t.relid::regclass AS record_table,
       t.relid = ANY (e.extconfig) AS dumped,
       pg_get_serial_sequence(t.relid::regclass::text, t.key_columns[1])::regclass::oid = ANY (e.extconfig) AS sequence_dumped
FROM witness.tracked_table t, pg_extension e
WHERE e.extname = 'pg_witness' AND t.schema_name = 'witness'
ORDER BY t.relid::regclass::text;
