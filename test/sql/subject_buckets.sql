-- Subject lookups across id buckets, and entries read by a list of ids (docs/personal-data.md,
-- "Finding a subject's entries"). witness.entry_lookup_subject is led by the id bucket (id >> 16):
-- witness._subject_buckets() must name every bucket that holds subject keys and no bucket between
-- them, a subject whose entries lie in two buckets is found entirely (sealed and pending, in clear
-- and encrypted), and witness._entries_by_id() returns exactly the entries of the ids it is given
-- (duplicates, NULLs and ids of no entry ignored; statement-time bounds respected). In a database of
-- its own: the 131,072 filler entries must not change what the other tests see.
\set SHOW_CONTEXT never
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_subject_buckets;
\c witness_subject_buckets
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
RESET client_min_messages;
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false)) IS NOT NULL AS key_set;
CREATE SCHEMA sb;
CREATE TABLE sb.person (id int PRIMARY KEY, email text NOT NULL, note text);
CREATE TABLE sb.secret (id int PRIMARY KEY, email text NOT NULL, note text);
CREATE TABLE sb.filler (id int PRIMARY KEY);
SET client_min_messages = warning;
SELECT witness.track('sb.person', 'pii', subject_column => 'email', encrypt => false);
SELECT witness.track('sb.secret', 'pii', subject_column => 'email', encrypt => true);
SELECT witness.track('sb.filler');
RESET client_min_messages;

-- Bucket 0: three entries of far@ in each table, and one of near@.
INSERT INTO sb.person VALUES (1, 'far@sb.example', 'a'), (2, 'far@sb.example', 'b'), (3, 'near@sb.example', 'c');
UPDATE sb.person SET note = 'a2' WHERE id = 1;
INSERT INTO sb.secret VALUES (1, 'far@sb.example', 'a'), (2, 'far@sb.example', 'b');
UPDATE sb.secret SET note = 'a2' WHERE id = 1;
SELECT count(*) >= 0 AS sealed FROM witness.seal();
-- Entries without a subject up to the third bucket: the second holds no subject key.
INSERT INTO sb.filler SELECT g FROM generate_series(1, (2 << 16) + 10 - (SELECT max(id) FROM witness.entry)::int) g;
SELECT max(id) >> 16 AS bucket_of_the_last_filler FROM witness.entry;
-- Bucket 2: more of far@, sealed, then two pending.
INSERT INTO sb.person VALUES (4, 'far@sb.example', 'd');
INSERT INTO sb.secret VALUES (4, 'far@sb.example', 'd');
SELECT count(*) >= 0 AS sealed FROM witness.seal();
UPDATE sb.person SET note = 'd2' WHERE id = 4;
UPDATE sb.secret SET note = 'd2' WHERE id = 4;

-- One probe per bucket that holds subject keys: buckets 0 and 2, not 1.
SELECT witness._subject_buckets() AS buckets;
SELECT count(DISTINCT k.id >> 16) AS buckets_with_subject_keys FROM witness.entry_lookup k WHERE k.subject_key IS NOT NULL;

-- far@ is found in both buckets, sealed and pending, in clear and by its pseudonym: exactly the
-- entries a sequential scan finds, each with its ctid and partition.
CREATE TABLE sb.found AS
SELECT (f.entry).id, f.entry_ctid, f.entry_part FROM witness._subject_entries('far@sb.example', witness._lookup_pseudonyms('far@sb.example')) f;
SELECT count(*) AS far_entries, count(DISTINCT f.id >> 16) AS far_buckets,
       count(*) FILTER (WHERE e.subject_pseudonym IS NOT NULL) AS far_encrypted,
       bool_and(e.ctid = f.entry_ctid AND e.tableoid = f.entry_part) AS located
FROM sb.found f JOIN witness.entry e ON e.id = f.id;
SELECT array_agg(f.id ORDER BY f.id) = (SELECT array_agg(e.id ORDER BY e.id) FROM witness.entry e
                                        WHERE e.subject = 'far@sb.example'
                                           OR e.subject_pseudonym = ANY (witness._lookup_pseudonyms('far@sb.example'))) AS found_equals_seq_scan
FROM sb.found f;
SELECT count(*) AS near_entries FROM witness._subject_entries('near@sb.example', witness._lookup_pseudonyms('near@sb.example'));

-- witness._entries_by_id(): the entries of the ids given, once each, wherever they are.
CREATE TABLE sb.wanted AS
SELECT ARRAY(SELECT id FROM sb.found) || ARRAY[(SELECT max(id) FROM sb.found), NULL, -5, (SELECT max(id) FROM witness.entry) + 1000,
                                                (SELECT min(id) FROM witness.entry WHERE table_name = 'filler')] AS ids;
SELECT count(*) AS by_id, count(DISTINCT (b.entry).id) AS distinct_ids,
       count(*) FILTER (WHERE (b.entry).table_name = 'filler') AS filler,
       bool_and(e.ctid = b.entry_ctid AND e.tableoid = b.entry_part AND e.id = (b.entry).id) AS located
FROM sb.wanted w CROSS JOIN LATERAL witness._entries_by_id(w.ids) b JOIN witness.entry e ON e.id = (b.entry).id;
SELECT count(*) AS by_id_within_times FROM sb.wanted w
CROSS JOIN LATERAL witness._entries_by_id(w.ids, (SELECT min(stmt_time) FROM witness.entry WHERE table_name = 'filler'), now()) b;
-- The same bounds in a session whose time zone prints as an abbreviation another zone owns (IST,
-- read back as Israel's): the bounds go to the query as values, not as text.
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kolkata';
SELECT count(*) AS by_id_within_times_in_ist FROM sb.wanted w
CROSS JOIN LATERAL witness._entries_by_id(w.ids, (SELECT min(stmt_time) FROM witness.entry WHERE table_name = 'filler'), now()) b;
RESET DateStyle;
RESET TimeZone;
SELECT count(*) AS by_id_before_all FROM sb.wanted w
CROSS JOIN LATERAL witness._entries_by_id(w.ids, NULL, '2000-01-01') b;
SELECT count(*) AS by_id_of_nothing FROM witness._entries_by_id('{}'), witness._entries_by_id(NULL) x;
-- witness._entries_at(): the same entries, read at the places their lookup rows remember
-- (entry_lookup.entry_tid); the pending ones, and any whose place is wrong, unknown or of another
-- entry, are read by id. Never an entry lost, doubled or another's.
CREATE TABLE sb.places AS
SELECT array_agg(f.id ORDER BY f.id) AS ids, array_agg(k.entry_tid ORDER BY f.id) AS tids,
       array_agg(k.entry_tid ORDER BY f.id DESC) AS rotated, count(k.entry_tid) AS known,
       count(*) FILTER (WHERE k.entry_tid = e.ctid) AS right_places
FROM sb.found f JOIN witness.entry e ON e.id = f.id LEFT JOIN witness.entry_lookup k ON k.id = f.id;
SELECT cardinality(ids) AS far_ids, known, right_places FROM sb.places;
CREATE FUNCTION sb.same_as_by_id(ids bigint[], tids tid[]) RETURNS TABLE (entries bigint, same boolean, located boolean)
LANGUAGE sql AS $$
	SELECT count(*), array_agg((a.entry).id ORDER BY (a.entry).id) = (SELECT array_agg((b.entry).id ORDER BY (b.entry).id) FROM witness._entries_by_id(ids) b)
	                 AND bool_and(e::text = (a.entry)::text),
	       bool_and(e.ctid = a.entry_ctid AND e.tableoid = a.entry_part)
	FROM witness._entries_at(ids, tids) a JOIN witness.entry e ON e.id = (a.entry).id
$$;
SELECT * FROM sb.same_as_by_id((SELECT ids FROM sb.places), (SELECT tids FROM sb.places));
SELECT * FROM sb.same_as_by_id((SELECT ids FROM sb.places), (SELECT rotated FROM sb.places));
SELECT * FROM sb.same_as_by_id((SELECT ids FROM sb.places),
                               ARRAY(SELECT ctid FROM witness.entry WHERE table_name = 'filler' LIMIT 20) || '{"(0,0)", "(4294967294,1)", NULL}'::tid[]);
SELECT * FROM sb.same_as_by_id((SELECT ids FROM sb.places), NULL);
SELECT count(*) AS at_nothing FROM witness._entries_at('{}', '{}'), witness._entries_at(NULL, NULL) x;
-- The BRIN index on id is scanned once per id range and partition, never once per id: given
-- "id = ANY (array)" as an index condition, it scanned itself once per element (17,000 entries of
-- one subject: 3 GB and 19 s). Every 1000th filler entry: ids in 129 ranges of 1024.
CREATE FUNCTION sb.id_brin_scans() RETURNS bigint LANGUAGE sql AS $$
	SELECT COALESCE(sum(s.idx_scan), 0)::bigint FROM pg_stat_all_indexes s
	JOIN pg_class i ON i.oid = s.indexrelid JOIN pg_am a ON a.oid = i.relam
	WHERE s.relid IN (SELECT relid FROM pg_partition_tree('witness.entry')) AND a.amname = 'brin'
	  AND pg_get_indexdef(s.indexrelid) LIKE '%USING brin (id)%'
$$;
CREATE TABLE sb.spread AS SELECT ARRAY(SELECT id FROM witness.entry WHERE table_name = 'filler' AND id % 1000 = 0) AS ids;
SELECT pg_stat_force_next_flush();
SELECT sb.id_brin_scans() AS scans_before \gset
SELECT count(*) AS spread_entries, (SELECT count(DISTINCT i >> 10) FROM sb.spread, unnest(ids) i) AS spread_ranges
FROM sb.spread w CROSS JOIN LATERAL witness._entries_by_id(w.ids) b;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT sb.id_brin_scans() - :scans_before
       BETWEEN 1 AND (SELECT count(DISTINCT i >> 10) FROM sb.spread, unnest(ids) i) * (SELECT count(*) FROM pg_partition_tree('witness.entry') WHERE isleaf)
       AS one_scan_per_range_and_partition;

-- Read at their places, the entries of the 129 ranges take no scan of the BRIN index at all.
CREATE TABLE sb.spread_places AS
SELECT array_agg(k.id) AS ids, array_agg(k.entry_tid) AS tids FROM sb.spread w, unnest(w.ids) i JOIN witness.entry_lookup k ON k.id = i;
SELECT pg_stat_force_next_flush();
SELECT sb.id_brin_scans() AS scans_before \gset
SELECT count(*) AS spread_at_places FROM sb.spread_places p CROSS JOIN LATERAL witness._entries_at(p.ids, p.tids) a;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT sb.id_brin_scans() - :scans_before AS brin_scans_at_places;

-- A place is a hint, overwritten in its lookup row, not transactionally: places moved in a transaction
-- that rolls back stay moved, and name row versions that are not there. Every entry of far@ is still
-- found, by id. (An erasure that rolls back leaves none: it wrote new versions of its lookup rows,
-- clearing their keys, before it moved their places.)
CREATE TABLE sb.far AS SELECT array_agg((f.entry).id) AS ids FROM witness._subject_entries('far@sb.example', witness._lookup_pseudonyms('far@sb.example')) f;
BEGIN;
SELECT witness.erase_subject('far@sb.example', 'regression test: rolled back') AS far_erased_then_rolled_back;
ROLLBACK;
SELECT count(*) AS far_in_lookup, count(*) FILTER (WHERE e.ctid <> k.entry_tid) AS far_places_stale
FROM sb.far w, unnest(w.ids) i JOIN witness.entry_lookup k ON k.id = i JOIN witness.entry e ON e.id = k.id;
BEGIN;
SELECT witness._move_lookup_places(w.ids, array_fill('(0,1)'::tid, ARRAY[cardinality(w.ids)])) AS far_moved FROM sb.far w;
ROLLBACK;
SELECT count(*) AS far_in_lookup, count(*) FILTER (WHERE e.ctid <> k.entry_tid) AS far_places_stale
FROM sb.far w, unnest(w.ids) i JOIN witness.entry_lookup k ON k.id = i JOIN witness.entry e ON e.id = k.id;
SELECT count(*) AS far_found, count(*) FILTER (WHERE (f.entry).erasure_id IS NULL) AS far_not_erased
FROM witness._subject_entries('far@sb.example', witness._lookup_pseudonyms('far@sb.example')) f;
-- Only pg_witness overwrites places.
SELECT witness._move_lookup_places_in_place('{1}', '{"(0,1)"}');
-- With a CHECK constraint on the lookup table, the places are updated through SQL, which checks it
-- (counted as row updates of the table; an overwrite is not one).
BEGIN;
SELECT FROM witness._begin_internal_ddl();
ALTER TABLE witness.entry_lookup ADD CONSTRAINT sb_placed CHECK (entry_tid IS NOT NULL) NOT VALID;
SELECT witness._move_lookup_places_in_place('{1}', '{"(0,1)"}') IS NULL AS in_place_declines;
SELECT FROM witness._end_internal_ddl();
SELECT witness._move_lookup_places(array_agg(e.id), array_agg(e.ctid)) AS places_given
FROM sb.far w, unnest(w.ids) i JOIN witness.entry e ON e.id = i;
SELECT n_tup_upd >= 8 AS updated_through_sql FROM pg_stat_xact_user_tables WHERE relid = 'witness.entry_lookup'::regclass;
SELECT count(*) FILTER (WHERE e.ctid <> k.entry_tid) AS far_places_stale
FROM sb.far w, unnest(w.ids) i JOIN witness.entry_lookup k ON k.id = i JOIN witness.entry e ON e.id = k.id;
ROLLBACK;
-- With an index on the places, too: an overwrite would leave the index saying where they were.
BEGIN;
CREATE INDEX sb_by_place ON witness.entry_lookup (entry_tid);
SELECT FROM witness._begin_internal_ddl();
SELECT witness._move_lookup_places_in_place('{1}', '{"(0,1)"}') IS NULL AS in_place_declines;
SELECT FROM witness._end_internal_ddl();
SELECT witness._move_lookup_places(w.ids, array_fill('(4000000,7)'::tid, ARRAY[cardinality(w.ids)])) AS far_moved FROM sb.far w;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) AS found_through_the_index FROM witness.entry_lookup WHERE entry_tid = '(4000000,7)';
ROLLBACK;

-- The erasure takes every entry of far@ in both buckets; the export then lists them all as erased.
SELECT witness.erase_subject('far@sb.example', 'regression test: entries in two buckets') AS far_erased;
SELECT count(*) AS far_left FROM witness._subject_entries('far@sb.example', witness._lookup_pseudonyms('far@sb.example')) f
WHERE (f.entry).erasure_id IS NULL;
SELECT count(*) FILTER (WHERE line::json ->> 'status' = 'erased') AS exported_erased, count(*) - 1 AS exported_entries
FROM witness.subject_export('far@sb.example', 'json', 'regression test') AS line;
-- The erasure wrote new versions of the entries elsewhere and told their lookup rows: an export
-- reads those 8 at their new places, and only the 2 the lookup table does not hold yet (pending when
-- erased) by id, in one range: one scan of the BRIN index on id.
SELECT count(*) AS erased_in_lookup, count(*) FILTER (WHERE e.ctid = k.entry_tid) AS at_their_new_places
FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.erasure_id IS NOT NULL;
SELECT pg_stat_force_next_flush();
SELECT sb.id_brin_scans() AS scans_before \gset
SELECT count(*) AS erased_listed FROM witness.subject_export('far@sb.example', 'csv', 'regression test') AS line
WHERE line LIKE '%payload erased%';
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT sb.id_brin_scans() - :scans_before AS brin_scans_listing_erased;
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT status, entries_erased FROM witness.verify();

\c :original_db
SET client_min_messages = warning;
DROP DATABASE witness_subject_buckets;
RESET client_min_messages;
