-- Subject access (GDPR Art. 15): witness.subject_export() lists every entry about one data subject,
-- oldest first, with its changes, its status (sealed in block N, pending, erased) and whether it
-- verifies; JSON lines carry inclusion proofs, CSV follows RFC 4180. No value of another subject
-- appears, every export is recorded in the trail, and only privileged roles may export.
CREATE SCHEMA sx;
-- Runs a statement and says how it ended: 'ok' or SQLSTATE and message.
CREATE FUNCTION sx.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- RFC 9162 section 2.1.3.2: the root an audit path implies (as docs/verification.md's Python does).
CREATE FUNCTION sx.root_from_path(leaf bytea, idx bigint, size bigint, path jsonb) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
	fn bigint := idx;
	sn bigint := size - 1;
	r bytea := leaf;
	p bytea;
BEGIN
	FOR p IN SELECT decode(x, 'hex') FROM jsonb_array_elements_text(path) x LOOP
		IF sn = 0 THEN
			RETURN NULL;
		END IF;
		IF fn % 2 = 1 OR fn = sn THEN
			r := sha256('\x01'::bytea || p || r);
			WHILE fn <> 0 AND fn % 2 = 0 LOOP
				fn := fn / 2;
				sn := sn / 2;
			END LOOP;
		ELSE
			r := sha256('\x01'::bytea || r || p);
		END IF;
		fn := fn / 2;
		sn := sn / 2;
	END LOOP;
	RETURN CASE WHEN sn = 0 THEN r END;
END
$$;
-- The fields of one CSV record (RFC 4180), for checking the quoting: a small state machine.
CREATE FUNCTION sx.csv_fields(rec text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	fields text[] := '{}';
	cur text := '';
	quoted boolean := false;
	i integer := 1;
	ch text;
BEGIN
	WHILE i <= length(rec) LOOP
		ch := substr(rec, i, 1);
		IF quoted THEN
			IF ch = '"' AND substr(rec, i + 1, 1) = '"' THEN
				cur := cur || '"';
				i := i + 1;
			ELSIF ch = '"' THEN
				quoted := false;
			ELSE
				cur := cur || ch;
			END IF;
		ELSIF ch = '"' THEN
			quoted := true;
		ELSIF ch = ',' THEN
			fields := fields || cur;
			cur := '';
		ELSIF ch IN (chr(10), chr(13)) THEN
			RAISE EXCEPTION 'unquoted line break in CSV record %', rec;
		ELSE
			cur := cur || ch;
		END IF;
		i := i + 1;
	END LOOP;
	IF quoted THEN
		RAISE EXCEPTION 'unterminated quote in CSV record %', rec;
	END IF;
	RETURN fields || cur;
END
$$;

CREATE TABLE sx.customer (id int PRIMARY KEY, email text, plan text, note text);
SELECT witness.track('sx.customer', 'pii', subject_column => 'email', encrypt => false);
CREATE TABLE sx.orders (order_no int PRIMARY KEY, customer text NOT NULL, item text);
SELECT witness.track('sx.orders', 'pii', subject_column => 'customer', encrypt => false);
SELECT count(*) >= 0 AS sealed_earlier_entries FROM witness.seal();
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
SELECT witness._last_entry_id() AS e0 \gset

-- ann and bob, sealed in one block; a statement that changes both their rows; ann's later changes pending.
INSERT INTO sx.customer VALUES (1, 'ann@sx.example', 'basic', 'first'), (2, 'bob@sx.example', 'bob-secret-plan', 'bob-secret-note');
INSERT INTO sx.orders VALUES (10, 'ann@sx.example', 'teapot'), (11, 'bob@sx.example', 'bob-secret-item');
UPDATE sx.customer SET plan = CASE id WHEN 1 THEN 'pro' ELSE 'bob-secret-plan-2' END;
SELECT entry_count FROM witness.seal();
UPDATE sx.customer SET note = E'a "quoted", two-line\nnote' WHERE id = 1;
DELETE FROM sx.orders WHERE order_no = 10;
-- cy's row is given to ann, its note changed with it: neither its old subject (cy's address) nor its
-- old note (cy's data) may reach ann's export.
INSERT INTO sx.customer VALUES (3, 'cy@sx.example', 'basic', 'cy-private-note');
UPDATE sx.customer SET email = 'ann@sx.example', note = 'given to ann' WHERE id = 3;

-- JSON: a first line describing the export, then one line per entry, oldest first.
SET witness.reason = 'GDPR Art. 15 request #77';
CREATE TABLE sx.out AS SELECT n, line FROM witness.subject_export('ann@sx.example') WITH ORDINALITY AS x(line, n);
RESET witness.reason;
SELECT line::json ->> 'export' AS export, line::json ->> 'subject' AS subject, line::json ->> 'entries' AS entries,
       (line::json ->> 'generated_at')::timestamptz = (SELECT max(accessed_at) FROM witness.subject_access) AS generated_at_is_the_access,
       line::json ->> 'database' = witness.database_id() AS database
FROM sx.out WHERE n = 1;
SELECT n, (l ->> 'entry_id')::bigint - :e0 AS entry, l ->> 'operation' AS op, l ->> 'table' AS "table",
       l -> 'row_key' AS row_key, l -> 'changes' AS changes, l ->> 'status' AS status,
       (l ->> 'block_no')::bigint - :base AS block, l ->> 'verified' AS verified, l ->> 'problem' AS problem,
       l ->> 'actor' AS actor, l ->> 'reason' AS reason, l -> 'proof' IS NOT NULL AND l ->> 'proof' <> 'null' AS has_proof,
       (l ->> 'time')::timestamptz = (SELECT stmt_time FROM witness.entry e WHERE e.id = (l ->> 'entry_id')::bigint) AS time_is_stmt_time
FROM sx.out, LATERAL (SELECT line::json AS l) j WHERE n > 1 ORDER BY n;
-- Oldest first: ids ascend.
SELECT bool_and(a.id < b.id) AS oldest_first
FROM (SELECT n, (line::json ->> 'entry_id')::bigint AS id FROM sx.out WHERE n > 1) a
JOIN (SELECT n, (line::json ->> 'entry_id')::bigint AS id FROM sx.out WHERE n > 1) b ON b.n = a.n + 1;
-- No value of another subject appears anywhere: not bob's, not cy's.
SELECT count(*) FILTER (WHERE line LIKE '%bob%') AS lines_naming_bob, count(*) FILTER (WHERE line LIKE '%cy@%' OR line LIKE '%cy-private%') AS lines_naming_cy
FROM sx.out;
-- A sealed entry's proof is witness.prove()'s, and its audit path leads from the leaf to the block's root.
SELECT (l ->> 'entry_id')::bigint - :e0 AS entry, (l -> 'proof')::jsonb = witness.prove((l ->> 'entry_id')::bigint) AS same_as_prove,
       sx.root_from_path(decode(l -> 'proof' ->> 'leaf_hash', 'hex'), (l -> 'proof' ->> 'leaf_index')::bigint,
                         (l -> 'proof' ->> 'tree_size')::bigint, (l -> 'proof' -> 'audit_path')::jsonb)
       = (SELECT b.merkle_root FROM witness.block b WHERE b.block_no = (l ->> 'block_no')::bigint) AS path_reaches_root,
       decode(l -> 'proof' ->> 'leaf_hash', 'hex') = (SELECT witness.entry_leaf_hash(e) FROM witness.entry e WHERE e.id = (l ->> 'entry_id')::bigint) AS leaf_is_the_entrys
FROM sx.out, LATERAL (SELECT line::json AS l) j WHERE n > 1 AND l ->> 'status' = 'sealed' ORDER BY n;

-- CSV: a header row, then a record per changed field (one for an entry without fields); quoted as
-- RFC 4180 says; entry ids, times and block numbers shown relative here.
CREATE FUNCTION sx.masked(rec text, e0 bigint, base bigint) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(rec, '^\d+', ((substring(rec FROM '^\d+'))::bigint - e0)::text),
	                                     '\d{4}-\d\d-\d\dT[0-9:.]+Z', '<time>', 'g'),
	                      ',(sealed|erased),(\d+),',
	                      COALESCE(',\1,' || (substring(rec FROM ',(?:sealed|erased),(\d+),')::bigint - base)::text || ',', ',\1,\2,'))
$$;
CREATE TABLE sx.csv AS SELECT n, line FROM witness.subject_export('ann@sx.example', 'csv', 'GDPR Art. 15 request #78') WITH ORDINALITY AS x(line, n);
SELECT CASE WHEN n = 1 THEN line ELSE sx.masked(line, :e0, :base) END AS csv FROM sx.csv ORDER BY n;
-- Every record has the header's 14 fields, and a quoted field reads back as the stored value.
SELECT bool_and(cardinality(sx.csv_fields(line)) = 14) AS all_records_have_14_fields FROM sx.csv;
SELECT (sx.csv_fields(line))[7] AS old_note, (sx.csv_fields(line))[8] = (SELECT note FROM sx.customer WHERE id = 1) AS new_note_reads_back
FROM sx.csv WHERE (sx.csv_fields(line))[6] = 'note' AND (sx.csv_fields(line))[4] = 'UPDATE' AND (sx.csv_fields(line))[5] = '{"id": 1}';
-- NULL is an empty field, the empty string a quoted one.
SELECT witness._csv_line(ARRAY[NULL, '', 'plain', 'a,b', 'say "hi"', E'cr\rlf\n']) AS rfc4180;
SELECT count(*) FILTER (WHERE line LIKE '%bob%' OR line LIKE '%cy@%' OR line LIKE '%cy-private%') AS csv_lines_naming_others FROM sx.csv;

-- A subject with no entries: only the describing line.
SELECT line::json ->> 'entries' AS entries FROM witness.subject_export('nobody@sx.example', 'json', 'request #79') AS line;

-- Erased entries are listed as erased: header only, no row key or values, still verified and proved.
INSERT INTO sx.customer VALUES (4, 'dan@sx.example', 'basic', 'dan-note');
UPDATE sx.customer SET plan = 'pro' WHERE id = 4;
SELECT entry_count FROM witness.seal();
SELECT witness.erase_subject('dan@sx.example', 'GDPR Art. 17 request #80') AS erased;
SELECT (l ->> 'entry_id')::bigint - :e0 AS entry, l ->> 'operation' AS op, l ->> 'status' AS status, l -> 'row_key' AS row_key,
       l -> 'changes' AS changes, l ->> 'verified' AS verified, (l -> 'erasure' ->> 'erasure_id')::bigint = (SELECT max(erasure_id) FROM witness.erasure) AS names_the_erasure,
       (l -> 'proof')::jsonb = witness.prove((l ->> 'entry_id')::bigint) AS proof_still_holds
FROM witness.subject_export('dan@sx.example', 'json', 'request #81') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
WHERE n > 1 ORDER BY n;
SELECT sx.masked(line, :e0, :base) AS csv FROM witness.subject_export('dan@sx.example', 'csv', 'request #82') WITH ORDINALITY AS x(line, n)
WHERE n > 1 ORDER BY n;
-- The erasure keeps no subject in clear, only a salted digest, which matches dan and no one else: ann's
-- export lists none of dan's erased entries.
SELECT e.entry_ids IS NOT NULL AS has_entries, length(e.subject_salt) AS salt_len,
       e.subject_digest = sha256('\x04'::bytea || e.subject_salt || convert_to('dan@sx.example', 'UTF8')) AS digest_matches_dan,
       e.subject_digest = sha256('\x04'::bytea || e.subject_salt || convert_to('ann@sx.example', 'UTF8')) AS digest_matches_ann,
       (SELECT new_values::text FROM witness.entry x WHERE x.table_name = 'erasure' AND (x.new_values ->> 'erasure_id')::bigint = e.erasure_id) LIKE '%dan@%' AS recorded_in_clear
FROM witness.erasure e WHERE e.erasure_id = (SELECT max(erasure_id) FROM witness.erasure);
SELECT count(*) FILTER (WHERE line::json ->> 'status' = 'erased') AS erased_lines_for_ann
FROM witness.subject_export('ann@sx.example', 'json', 'request #83') AS line;

-- Tampering: ann's sealed INSERT with a changed value no longer verifies (payload against its
-- commitment) and has no proof: an entry in clear stores its commitment's first 8 bytes only, so a
-- changed payload leaves nothing that reproduces its leaf. A changed header fails its leaf hash and
-- loses its proof too.
SELECT id AS ann_ins, new_values AS ann_values, actor AS ann_actor FROM witness.entry
WHERE subject = 'ann@sx.example' AND op = 'I' AND table_name = 'customer' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = replace(new_values::text, '"basic"', '"platinum"')::json WHERE id = :ann_ins;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT (l ->> 'entry_id')::bigint - :e0 AS entry, l ->> 'status' AS status, l ->> 'verified' AS verified, l ->> 'problem' AS problem,
       l -> 'changes' -> 3 AS shown_as_stored, l ->> 'proof' <> 'null' AS has_proof
FROM witness.subject_export('ann@sx.example', 'json', 'request #84') AS line, LATERAL (SELECT line::json AS l) j
WHERE l ->> 'entry_id' = :'ann_ins';
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = :'ann_values', actor = 'someone else' WHERE id = :ann_ins;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT (l ->> 'entry_id')::bigint - :e0 AS entry, l ->> 'status' AS status, l ->> 'verified' AS verified, l ->> 'problem' AS problem,
       l ->> 'proof' <> 'null' AS has_proof
FROM witness.subject_export('ann@sx.example', 'json', 'request #85') AS line, LATERAL (SELECT line::json AS l) j
WHERE l ->> 'entry_id' = :'ann_ins';
SELECT sx.masked(line, :e0, :base) AS csv FROM witness.subject_export('ann@sx.example', 'csv', 'request #86') AS line
WHERE line LIKE :'ann_ins' || ',%';
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET actor = NULL WHERE id = :ann_ins;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT count(*) FILTER (WHERE line::json ->> 'verified' = 'false') AS unverified_after_restore
FROM witness.subject_export('ann@sx.example', 'json', 'request #87') AS line;

-- Bad requests: unknown or NULL format (22023), NULL or empty subject (22004), no reason (22023).
SELECT count(*) AS accesses_before FROM witness.subject_access \gset
SELECT sx.try($$SELECT witness.subject_export('ann@sx.example', 'xml', 'r')$$);
SELECT sx.try($$SELECT witness.subject_export('ann@sx.example', NULL, 'r')$$);
SELECT sx.try($$SELECT witness.subject_export(NULL, 'json', 'r')$$);
SELECT sx.try($$SELECT witness.subject_export('', 'csv', 'r')$$);
SELECT sx.try($$SELECT witness.subject_export('ann@sx.example')$$);
SELECT sx.try($$SELECT witness.subject_export('ann@sx.example', 'json', '  ')$$);
SELECT sx.try($$SELECT witness.subject_export('ann@sx.example', 'json', repeat('x', 1025))$$);
\set VERBOSITY default
SELECT witness.subject_export('ann@sx.example', 'xml', 'r');
\set VERBOSITY terse
-- None of them was recorded.
SELECT count(*) - :accesses_before AS recorded FROM witness.subject_access;

-- Privileges: a role without EXECUTE is refused, even with USAGE on the schema; its helpers too.
CREATE ROLE sx_nobody;
GRANT USAGE ON SCHEMA witness, sx TO sx_nobody;
SET ROLE sx_nobody;
SELECT sx.try($$SELECT witness.subject_export('ann@sx.example', 'json', 'curious')$$);
SELECT sx.try($$SELECT witness._subject_export_lines('ann@sx.example', 'json', 1, now())$$);
SELECT sx.try($$SELECT witness._entry_payload(NULL::witness.entry)$$);
SELECT sx.try($$SELECT * FROM witness.subject_access$$);
SELECT sx.try($$INSERT INTO witness.subject_access (subject_salt, subject_digest, format, reason, role_name) VALUES ('', '', 'json', 'forged', 'me')$$);
RESET ROLE;
-- Granted EXECUTE, it exports without any right on the trail's tables, and is named in the record.
CREATE ROLE sx_dpo;
GRANT USAGE ON SCHEMA witness, sx TO sx_dpo;
GRANT EXECUTE ON FUNCTION witness.subject_export(text, text, text) TO sx_dpo;
SET ROLE sx_dpo;
SELECT count(*) AS lines FROM witness.subject_export('ann@sx.example', 'csv', 'DPO: request #88');
SELECT sx.try($$SELECT count(*) FROM witness.entry$$);
RESET ROLE;
-- Not even the owner writes the access record directly.
SELECT sx.try($$INSERT INTO witness.subject_access (subject_salt, subject_digest, format, reason, role_name) VALUES ('', '', 'json', 'forged', 'me')$$);
SELECT sx.try($$DELETE FROM witness.subject_access$$);

-- Every export is recorded: who, when, in which format, why; the subject only as a salted digest.
SELECT a.access_id - min(a.access_id) OVER () + 1 AS access, a.format, a.reason, a.role_name,
       a.subject_digest = sha256('\x04'::bytea || a.subject_salt || convert_to('ann@sx.example', 'UTF8')) AS is_ann,
       a.subject_digest = sha256('\x04'::bytea || a.subject_salt || convert_to('dan@sx.example', 'UTF8')) AS is_dan
FROM witness.subject_access a ORDER BY a.access_id;
-- ... and each record is an entry of the trail, without the subject in clear.
SELECT count(*) AS access_entries, count(*) FILTER (WHERE e.new_values::text LIKE '%@sx.example%') AS naming_a_subject,
       count(*) FILTER (WHERE e.new_values ->> 'role_name' = 'sx_dpo') AS by_the_dpo
FROM witness.entry e WHERE e.schema_name = 'witness' AND e.table_name = 'subject_access' AND e.op = 'I';
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem FROM witness.verify(:base + 1);

-- The record stays whatever the caller's transaction does next: a background worker writes and
-- commits it before the first line (docs/personal-data.md, "Every export is recorded").
SELECT max(access_id) AS last_access FROM witness.subject_access \gset
SET witness.actor = 'sx-auditor';
SET witness.reason = 'audit of exports';
SET application_name = 'sx-app';
-- The transaction rolled back after the export.
BEGIN;
SELECT count(*) AS lines FROM witness.subject_export('ann@sx.example', 'json', 'rolled back');
ROLLBACK;
-- An error in the same statement, after the export produced its lines.
SELECT 1 / (count(*) - count(*))::int FROM witness.subject_export('ann@sx.example', 'csv', 'error in the statement');
-- An error later in the transaction.
BEGIN;
SELECT count(*) AS lines FROM witness.subject_export('ann@sx.example', 'csv', 'error later');
SELECT 1 / 0;
ROLLBACK;
-- Rolled back to a savepoint, then committed.
BEGIN;
SAVEPOINT s;
SELECT count(*) AS lines FROM witness.subject_export('ann@sx.example', 'csv', 'savepoint');
ROLLBACK TO SAVEPOINT s;
COMMIT;
-- A cursor read in part, then rolled back (as psql's FETCH_COUNT reads).
BEGIN;
DECLARE sx_cursor NO SCROLL CURSOR FOR SELECT line FROM witness.subject_export('ann@sx.example', 'json', 'cursor') AS line;
MOVE FORWARD 1 IN sx_cursor;
ROLLBACK;
-- A statement cancelled (statement_timeout) after it received the lines.
SET statement_timeout = '1s';
SELECT line, pg_sleep(3) FROM witness.subject_export('ann@sx.example', 'csv', 'cancelled') AS line;
RESET statement_timeout;
-- Autocommit, as before.
SELECT count(*) AS lines FROM witness.subject_export('ann@sx.example', 'csv', 'autocommit');
-- Each one recorded, with its entry in the chain attributed to this session (session user, pid,
-- application_name, witness.actor and witness.reason), as if this session had written it; the
-- current user is the function's owner, as for every write of a SECURITY DEFINER function.
SELECT a.access_id - :last_access AS access, a.format, a.reason, a.role_name,
       e.session_user_name = session_user AS session_user, e.current_user_name = e.session_user_name AS current_user,
       e.backend_pid = pg_backend_pid() AS backend_pid, e.application_name, e.actor, e.reason AS header_reason
FROM witness.subject_access a
LEFT JOIN witness.entry e ON e.schema_name = 'witness' AND e.table_name = 'subject_access' AND e.op = 'I'
                         AND (e.new_values ->> 'access_id')::bigint = a.access_id
WHERE a.access_id > :last_access ORDER BY a.access_id;
RESET witness.actor;
RESET witness.reason;
RESET application_name;

-- Refused, with no line and no record: in a read-only transaction (on a hot standby every
-- transaction is), and when the record cannot be written, here because this transaction holds a
-- lock the worker needs: the worker waits for it at most lock_timeout (5 s when unset or longer),
-- then the export fails instead of waiting for ever.
SELECT count(*) AS accesses_before FROM witness.subject_access \gset
\set VERBOSITY default
BEGIN READ ONLY;
SELECT line FROM witness.subject_export('ann@sx.example', 'csv', 'read-only') AS line;
ROLLBACK;
BEGIN;
LOCK TABLE witness.subject_access IN SHARE MODE;
SET LOCAL lock_timeout = '100ms';
SELECT line FROM witness.subject_export('ann@sx.example', 'csv', 'locked') AS line;
ROLLBACK;
\set VERBOSITY terse
SELECT count(*) - :accesses_before AS recorded FROM witness.subject_access;
-- The record function itself: not for PUBLIC, and it checks its arguments even when called directly.
SELECT sx.try($$SELECT witness._record_subject_access('ann@sx.example', 'xml', 'r')$$);
SELECT sx.try($$SELECT witness._record_subject_access('ann@sx.example', 'csv', '')$$);
SELECT sx.try($$SELECT witness._record_subject_access('', 'csv', 'r')$$);
SET ROLE sx_dpo;
SELECT sx.try($$SELECT witness._record_subject_access('ann@sx.example', 'csv', 'forged')$$);
RESET ROLE;
SELECT count(*) - :accesses_before AS recorded FROM witness.subject_access;

-- A subject's entries are found through witness.entry_lookup, which the sealer fills after commit,
-- and in the pending tail it does not hold yet (witness._subject_entries()). The capture adds nothing
-- for them: no index of the trail names the subject or its pseudonym. (The partial index on
-- old_subject_key takes the few UPDATEs that move a row from one subject to another, and only those.)
SELECT count(*) AS subject_indexes_of_the_trail
FROM pg_index i
WHERE i.indrelid IN (SELECT relid FROM pg_partition_tree('witness.entry'))
  AND (pg_get_indexdef(i.indexrelid) LIKE '%subject%' OR pg_get_indexdef(i.indexrelid) LIKE '%pseudonym%')
  AND pg_get_indexdef(i.indexrelid) NOT LIKE '%(old_subject_key) WHERE (old_subject_key IS NOT NULL)';
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT pg_relation_size('witness.entry_lookup_subject') AS subject_index_size \gset
CREATE TABLE sx.nosubject (id int PRIMARY KEY, v text);
SELECT witness.track('sx.nosubject');
INSERT INTO sx.nosubject SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO sx.customer VALUES (5, NULL, 'no subject', NULL);
SELECT entry_count AS sealed_without_subject FROM witness.seal();
-- Entries without a subject never enter the lookup's subject index (its predicate holds).
SELECT pg_relation_size('witness.entry_lookup_subject') = :subject_index_size AS index_unchanged_by_rows_without_subject;
INSERT INTO sx.orders SELECT 100 + g, 'bulk' || (g % 7) || '@sx.example', 'item' FROM generate_series(1, 2500) g;
SELECT entry_count AS sealed_bulk FROM witness.seal();
-- Pending: more entries of the same subjects, and one subject with pending entries only.
INSERT INTO sx.orders SELECT 3000 + g, 'bulk' || (g % 7) || '@sx.example', 'late' FROM generate_series(1, 20) g;
BEGIN;
INSERT INTO sx.orders VALUES (5000, 'sub@sx.example', 'kept');
SAVEPOINT s;
INSERT INTO sx.orders VALUES (5001, 'sub@sx.example', 'rolled back');
ROLLBACK TO SAVEPOINT s;
INSERT INTO sx.orders VALUES (5002, 'sub@sx.example', 'kept too');
COMMIT;
-- The plan of the lookup (as witness._subject_entries() runs it, sequential scans off) reads
-- witness.entry_lookup_subject.
CREATE FUNCTION sx.plan(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || statement LOOP
		plan := plan || line || chr(10);
	END LOOP;
	RETURN plan;
END
$$;
SET enable_seqscan = off;
SELECT p LIKE '%Index%entry_lookup_subject%' AS uses_subject_index, p LIKE '%Seq Scan%' AS scans_the_lookup
FROM sx.plan($$SELECT k.id FROM witness.entry_lookup k
               WHERE (k.id >> 16) = ANY (witness._subject_buckets())
                 AND k.subject_key = ANY (ARRAY[witness._subject_lookup_key('bulk3@sx.example', NULL)])$$) AS p;
RESET enable_seqscan;
-- One probe per id bucket that holds rows, not per bucket between the first and the last.
SELECT cardinality(witness._subject_buckets()) = (SELECT count(DISTINCT k.id >> 16) FROM witness.entry_lookup k WHERE k.subject_key IS NOT NULL) AS buckets_that_exist;
-- Sealed and pending entries alike, exactly those a sequential scan finds, each with its ctid and partition.
CREATE TABLE sx.by_index AS SELECT s.subject, (SELECT array_agg((f.entry).id ORDER BY (f.entry).id) FROM witness._subject_entries(s.subject, NULL) f) AS ids,
       (SELECT bool_and(e.ctid = f.entry_ctid AND e.tableoid = f.entry_part) FROM witness._subject_entries(s.subject, NULL) f
        JOIN witness.entry e ON e.id = (f.entry).id) AS located
FROM (SELECT DISTINCT subject FROM witness.entry WHERE subject IS NOT NULL) s;
-- (Also found: an UPDATE that moved a row away from the subject, by the subject's key in old_subject_key.)
SELECT count(*) AS subjects,
       bool_and(b.ids = (SELECT array_agg(e.id ORDER BY e.id) FROM witness.entry e
                         WHERE e.subject = b.subject OR e.old_subject_key = witness._subject_lookup_key(b.subject, NULL))) AS found_equals_seq_scan,
       bool_and(b.located) AS ctids_right,
       (SELECT count(*) FROM sx.by_index b, unnest(b.ids) AS i JOIN witness.entry e ON e.id = i WHERE e.subject = b.subject)
       = (SELECT count(*) FROM witness.entry WHERE subject IS NOT NULL) AS every_entry_with_subject_found
FROM sx.by_index b;
SELECT cardinality(b.ids) AS bulk3_entries,
       (SELECT count(*) FROM witness.entry_lookup k WHERE k.id = ANY (b.ids)) AS from_the_lookup,
       cardinality(b.ids) - (SELECT count(*) FROM witness.entry_lookup k WHERE k.id = ANY (b.ids)) AS pending
FROM sx.by_index b WHERE b.subject = 'bulk3@sx.example';
SELECT cardinality(ids) AS sub_entries FROM sx.by_index WHERE subject = 'sub@sx.example';
-- The erasure index (kept by erase_subject(), never by the capture) finds the erased entries; an
-- erased entry is no longer found by its subject, and its lookup row lost its subject key.
SET enable_seqscan = off;
SELECT count(*) AS dan_erased_by_index FROM witness.entry e WHERE e.erasure_id = (SELECT max(erasure_id) FROM witness.erasure);
RESET enable_seqscan;
SELECT count(*) AS dan_by_subject FROM witness._subject_entries('dan@sx.example', NULL);
SELECT count(*) AS erased_with_subject_key FROM witness.entry_lookup k
WHERE k.id IN (SELECT unnest(x.entry_ids) FROM witness.erasure x) AND k.subject_key IS NOT NULL;

-- Entries pg_witness cannot have written (a superuser behind the guard: an unknown operation, an
-- unknown canonical format, values that are not JSON objects) are listed as not verified, each with
-- what is wrong, and do not make the whole export fail. They are put back afterwards.
CREATE TABLE sx.crafted (id int PRIMARY KEY, email text, plan text);
SELECT FROM witness.track('sx.crafted', subject_column => 'email', encrypt => false);
INSERT INTO sx.crafted VALUES (1, 'eve@sx.example', 'basic');
UPDATE sx.crafted SET plan = 'gold';
UPDATE sx.crafted SET plan = 'silver';
UPDATE sx.crafted SET plan = 'bronze';
CREATE TABLE sx.crafted_saved AS SELECT * FROM witness.entry WHERE table_name = 'crafted' AND op = 'U';
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '"scalar"' WHERE table_name = 'crafted' AND new_values ->> 'plan' = 'gold';
UPDATE witness.entry SET op = 'X' WHERE table_name = 'crafted' AND new_values ->> 'plan' = 'silver';
UPDATE witness.entry SET format = 3 WHERE table_name = 'crafted' AND new_values ->> 'plan' = 'bronze';
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
COMMIT;
SELECT l ->> 'operation' AS operation, l ->> 'verified' AS verified, l ->> 'problem' AS problem, l -> 'changes' AS changes
FROM witness.subject_export('eve@sx.example', 'json', 'request #82') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
WHERE n > 1 ORDER BY n;
SELECT split_part(line, ',', 4) AS operation, split_part(line, ',', 13) AS verified, split_part(line, ',', 14) AS note
FROM witness.subject_export('eve@sx.example', 'csv', 'request #83') WITH ORDINALITY AS x(line, n)
WHERE n > 1 AND split_part(line, ',', 4) <> 'INSERT' ORDER BY n;
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry e SET new_values = s.new_values, op = s.op, format = s.format FROM sx.crafted_saved s WHERE e.id = s.id;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
COMMIT;
SELECT count(*) FILTER (WHERE (line::json ->> 'verified')::boolean) AS verified_again
FROM witness.subject_export('eve@sx.example', 'json', 'request #84') WITH ORDINALITY AS x(line, n) WHERE n > 1;
SELECT FROM witness.untrack('sx.crafted');
DROP TABLE sx.crafted, sx.crafted_saved;

-- An empty subject names nobody: the entry has no subject (it had '', which no export or erasure,
-- refusing an empty subject, could reach), in clear and encrypted.
CREATE TABLE sx.blank (id int PRIMARY KEY, email text);
SELECT FROM witness.track('sx.blank', subject_column => 'email', encrypt => false);
INSERT INTO sx.blank VALUES (1, ''), (2, 'x@sx.example');
UPDATE sx.blank SET email = '' WHERE id = 2;
SELECT row_key ->> 'id' AS id, op, subject, old_subject_key IS NOT NULL AS moved_from_subject
FROM witness.entry WHERE table_name = 'blank' ORDER BY id;
SELECT FROM witness.untrack('sx.blank');
DROP TABLE sx.blank;

-- A value nested deeper than jsonb's recursive input takes on the export's stack: an attack review
-- wrote one 14,500 deep with INSERT alone, at the limit of the writer's stack, and the subject's whole
-- export failed ("stack depth limit exceeded"). Here a smaller stack for the export does the same to a
-- value 5,000 deep. The entry is listed, verified, without its values; the subject's other entries too.
CREATE TABLE sx.deep (id int PRIMARY KEY, email text, doc jsonb);
SELECT FROM witness.track('sx.deep', subject_column => 'email', encrypt => false);
INSERT INTO sx.deep VALUES (1, 'deep@sx.example', '{"order": 1}'),
                           (2, 'deep@sx.example', (repeat('[', 5000) || repeat(']', 5000))::jsonb);
SET max_stack_depth = '300kB';
SELECT l ->> 'operation' AS operation, l ->> 'verified' AS verified, l ->> 'problem' AS problem, l -> 'changes' AS changes
FROM witness.subject_export('deep@sx.example', 'json', 'deep values') x(line) CROSS JOIN LATERAL (SELECT x.line::jsonb AS l) j
WHERE l ? 'entry_id' ORDER BY (l ->> 'entry_id')::bigint;
SELECT count(*) AS csv_lines FROM witness.subject_export('deep@sx.example', 'csv', 'deep values');
-- The views, exports and search show such a value as a note (the review of the fix found
-- witness.export() and witness.search() failing for every range that held it).
SELECT row_key, new_values -> 'doc' AS doc, new_values ->> 'pg_witness' AS note FROM witness.log WHERE table_name = 'deep' ORDER BY id;
SELECT count(*) AS export_lines FROM witness.export('jsonl') x(line) WHERE x.line LIKE '%sx%deep%';
SELECT count(*) AS found FROM witness.search(table_name => 'sx.deep');
RESET max_stack_depth;
SELECT FROM witness.untrack('sx.deep');
DROP TABLE sx.deep;

DROP TABLE sx.out, sx.csv, sx.by_index;
SELECT witness.untrack('sx.nosubject');
REVOKE ALL ON SCHEMA witness, sx FROM sx_nobody, sx_dpo;
REVOKE ALL ON FUNCTION witness.subject_export(text, text, text) FROM sx_dpo;
DROP ROLE sx_nobody;
DROP ROLE sx_dpo;
