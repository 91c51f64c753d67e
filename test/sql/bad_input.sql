-- Bad input must not switch capture off, bypass it or crash the server (issue 8): every C entry
-- point refuses NULL and malformed arguments with an error, also when called through a declaration
-- that is not STRICT.
\set VERBOSITY terse
CREATE SCHEMA bad_input;
-- Runs a statement and says how it ended: 'ok' or SQLSTATE and message (a crash shows as a lost
-- connection instead).
CREATE FUNCTION bad_input.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- NULL digest: witness._check_digest is not STRICT.
SELECT bad_input.try($$SELECT * FROM witness.verify_digest(NULL)$$);
SELECT bad_input.try($$SELECT * FROM witness._check_digest(NULL, NULL)$$);

-- Every C function, declared without STRICT, called with NULL arguments.
CREATE FUNCTION bad_input.audit_path(bytea[], integer) RETURNS bytea[]
AS '$libdir/pg_witness', 'witness_merkle_audit_path' LANGUAGE C;
CREATE FUNCTION bad_input.leaf_hash(witness.entry) RETURNS bytea
AS '$libdir/pg_witness', 'witness_entry_leaf_hash' LANGUAGE C;
CREATE FUNCTION bad_input.canonical_bytes(witness.entry) RETURNS bytea
AS '$libdir/pg_witness', 'witness_entry_canonical_bytes' LANGUAGE C;
CREATE FUNCTION bad_input.invalidate(regclass) RETURNS void
AS '$libdir/pg_witness', 'witness_invalidate' LANGUAGE C;
CREATE FUNCTION bad_input.check_digest(jsonb, text, OUT block_no bigint, OUT block_hash bytea, OUT database text,
                                       OUT entries bigint, OUT digest_time timestamptz, OUT hmac text, OUT ed25519 text)
AS '$libdir/pg_witness', 'witness_check_digest' LANGUAGE C;
CREATE FUNCTION bad_input.audit_path_int(integer[], integer) RETURNS bytea[]
AS '$libdir/pg_witness', 'witness_merkle_audit_path' LANGUAGE C;
-- The same symbols declared with fewer arguments than they read.
CREATE FUNCTION bad_input.audit_path_one(bytea[]) RETURNS bytea[]
AS '$libdir/pg_witness', 'witness_merkle_audit_path' LANGUAGE C;
CREATE FUNCTION bad_input.check_digest_one(jsonb, OUT block_no bigint, OUT block_hash bytea, OUT database text,
                                           OUT entries bigint, OUT digest_time timestamptz, OUT hmac text,
                                           OUT ed25519 text)
AS '$libdir/pg_witness', 'witness_check_digest' LANGUAGE C;
CREATE FUNCTION bad_input.leaf_hash_none() RETURNS bytea
AS '$libdir/pg_witness', 'witness_entry_leaf_hash' LANGUAGE C;
CREATE FUNCTION bad_input.verify_none()
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text)
AS '$libdir/pg_witness', 'witness_verify' LANGUAGE C;
CREATE FUNCTION bad_input.capture(integer) RETURNS void
AS '$libdir/pg_witness', 'witness_capture' LANGUAGE C;
CREATE FUNCTION bad_input.capture_truncate(integer) RETURNS void
AS '$libdir/pg_witness', 'witness_capture_truncate' LANGUAGE C;

SELECT bad_input.try($$SELECT bad_input.audit_path(NULL, 0)$$);
SELECT bad_input.try($$SELECT bad_input.audit_path(ARRAY[sha256('a')], NULL)$$);
SELECT bad_input.try($$SELECT bad_input.audit_path_one(ARRAY[sha256('a')])$$);
SELECT bad_input.try($$SELECT bad_input.leaf_hash(NULL)$$);
SELECT bad_input.try($$SELECT bad_input.leaf_hash_none()$$);
SELECT bad_input.try($$SELECT bad_input.canonical_bytes(NULL)$$);
SELECT bad_input.try($$SELECT bad_input.invalidate(NULL)$$);
SELECT bad_input.try($$SELECT bad_input.invalidate(0)$$);
SELECT bad_input.try($$SELECT * FROM bad_input.check_digest(NULL, NULL)$$);
SELECT bad_input.try($$SELECT * FROM bad_input.check_digest_one('{}')$$);
SELECT bad_input.try($$SELECT status, blocks_checked FROM bad_input.verify_none()$$);
SELECT bad_input.try($$SELECT bad_input.capture(NULL)$$);
SELECT bad_input.try($$SELECT bad_input.capture_truncate(NULL)$$);
-- The functions behind pg_witness's DDL guards.
CREATE FUNCTION bad_input.capture_rows(regclass) RETURNS bigint
AS '$libdir/pg_witness', 'witness_capture_rows' LANGUAGE C;
CREATE FUNCTION bad_input.capture_rows_none() RETURNS bigint
AS '$libdir/pg_witness', 'witness_capture_rows' LANGUAGE C;
CREATE FUNCTION bad_input.descendants(oid) RETURNS TABLE (relid oid, depth integer, relkind "char",
                                                          is_partition boolean, is_temp boolean, is_other_temp boolean)
AS '$libdir/pg_witness', 'witness_inheritance_descendants' LANGUAGE C;
CREATE FUNCTION bad_input.ancestors_none() RETURNS TABLE (relid oid, depth integer, relkind "char",
                                                          is_partition boolean, is_temp boolean, is_other_temp boolean)
AS '$libdir/pg_witness', 'witness_inheritance_ancestors' LANGUAGE C;
SELECT bad_input.try($$SELECT bad_input.capture_rows(NULL)$$);
SELECT bad_input.try($$SELECT bad_input.capture_rows(0)$$);
SELECT bad_input.try($$SELECT bad_input.capture_rows('pg_class')$$);
SELECT bad_input.try($$SELECT bad_input.capture_rows_none()$$);
SELECT bad_input.try($$SELECT count(*) FROM bad_input.descendants(NULL)$$);
SELECT bad_input.try($$SELECT count(*) FROM bad_input.descendants(0)$$);
SELECT bad_input.try($$SELECT count(*) FROM bad_input.ancestors_none()$$);
-- The SQL-level functions: NULL in, NULL out (STRICT) or a defined result.
SELECT witness._merkle_audit_path(NULL, 0) IS NULL AS strict_audit_path,
       witness.entry_leaf_hash(NULL) IS NULL AS strict_leaf_hash,
       witness.entry_canonical_bytes(NULL) IS NULL AS strict_canonical_bytes;
SELECT status, blocks_checked > 0 AS checked_blocks FROM witness.verify(NULL, NULL);

-- The helpers the installation script builds pg_witness's tables with (superuser only): NULL or an
-- OID that names no relation is refused, never turned into a statement that fails to parse (42601).
SELECT bad_input.try($$SELECT witness._guard_entry_partition(NULL)$$),
       bad_input.try($$SELECT witness._guard_entry_partition(0)$$);
SELECT bad_input.try($$SELECT witness._guard_kept_table(NULL, false, 'x', 'y')$$),
       bad_input.try($$SELECT witness._guard_kept_table(0, false, 'x', 'y')$$);
SELECT bad_input.try($$SELECT witness._drop_entry_partition(NULL)$$),
       bad_input.try($$SELECT witness._make_record_table(NULL, NULL)$$);

-- Audit paths of malformed leaf arrays.
SELECT bad_input.try($$SELECT witness._merkle_audit_path('{}', 0)$$);
SELECT bad_input.try($$SELECT witness._merkle_audit_path(ARRAY[sha256('a'), NULL], 0)$$);
SELECT bad_input.try($$SELECT witness._merkle_audit_path(ARRAY[sha256('a'), '\x00'::bytea], 0)$$);
SELECT bad_input.try($$SELECT witness._merkle_audit_path(ARRAY[sha256('a'), sha256('b')], 2)$$);
SELECT bad_input.try($$SELECT witness._merkle_audit_path(ARRAY[sha256('a'), sha256('b')], -1)$$);
SELECT bad_input.try($$SELECT witness._merkle_audit_path(ARRAY[[sha256('a'), sha256('b')], [sha256('c'), sha256('d')]], 0)$$);
SELECT bad_input.try($$SELECT bad_input.audit_path_int(ARRAY[1, 2], 0)$$);
-- A lower bound other than 1 changes nothing: leaves are counted from 0.
SELECT witness._merkle_audit_path(('[5:6]=' || ARRAY[sha256('a'), sha256('b')]::text)::bytea[], 1)
       = ARRAY[sha256('a')] AS lower_bound_ignored;

-- A block's tree and the proofs read from it (issue 10): declared without STRICT, with fewer
-- arguments or another result, and given malformed input.
CREATE FUNCTION bad_input.merkle_tree(bigint[], bytea[]) RETURNS bytea
AS '$libdir/pg_witness', 'witness_merkle_tree' LANGUAGE C;
CREATE FUNCTION bad_input.merkle_tree_one(bigint[]) RETURNS bytea
AS '$libdir/pg_witness', 'witness_merkle_tree' LANGUAGE C;
CREATE FUNCTION bad_input.tree_proof(bytea, bigint, OUT leaf_index integer, OUT tree_size integer, OUT audit_path bytea[])
AS '$libdir/pg_witness', 'witness_merkle_tree_proof' LANGUAGE C;
CREATE FUNCTION bad_input.tree_proof_bytea(bytea, bigint) RETURNS bytea
AS '$libdir/pg_witness', 'witness_merkle_tree_proof' LANGUAGE C;
CREATE FUNCTION bad_input.entry_payload(witness.entry, OUT row_key jsonb, OUT old_values jsonb, OUT new_values jsonb,
                                        OUT payload_verified boolean)
AS '$libdir/pg_witness', 'witness_entry_payload' LANGUAGE C;
CREATE FUNCTION bad_input.entry_payload_text(witness.entry) RETURNS text
AS '$libdir/pg_witness', 'witness_entry_payload' LANGUAGE C;
SELECT bad_input.try($$SELECT bad_input.merkle_tree(NULL, ARRAY[sha256('a')])$$);
SELECT bad_input.try($$SELECT bad_input.merkle_tree('{1}', NULL)$$);
SELECT bad_input.try($$SELECT bad_input.merkle_tree_one('{1}')$$);
SELECT bad_input.try($$SELECT witness._merkle_tree('{}', '{}')$$);
SELECT bad_input.try($$SELECT witness._merkle_tree('{1,2}', ARRAY[sha256('a')])$$);
SELECT bad_input.try($$SELECT witness._merkle_tree('{2,1}', ARRAY[sha256('a'), sha256('b')])$$);
SELECT bad_input.try($$SELECT witness._merkle_tree(ARRAY[1, NULL], ARRAY[sha256('a'), sha256('b')])$$);
SELECT bad_input.try($$SELECT witness._merkle_tree('{1}', ARRAY['\x00'::bytea])$$);
SELECT bad_input.try($$SELECT * FROM bad_input.tree_proof(NULL, 1)$$);
SELECT bad_input.try($$SELECT * FROM bad_input.tree_proof('\x00', 1)$$);
SELECT bad_input.try($$SELECT * FROM witness._merkle_tree_proof(witness._merkle_tree('{1}', ARRAY[sha256('a')]) || '\x00'::bytea, 1)$$);
SELECT bad_input.try($$SELECT bad_input.tree_proof_bytea(witness._merkle_tree('{1}', ARRAY[sha256('a')]), 1)$$);
SELECT bad_input.try($$SELECT * FROM bad_input.entry_payload(NULL)$$);
SELECT bad_input.try($$SELECT bad_input.entry_payload_text(x) FROM witness.entry x LIMIT 1$$);
-- Every path read from a tree is the one recomputed from the leaves; a non-member has none.
SELECT bool_and(p.audit_path = witness._merkle_audit_path(l.leaves, i) AND p.leaf_index = i AND p.tree_size = 13)
       AS tree_paths_equal_recomputed_paths
FROM (SELECT array_agg(sha256(int8send(g)) ORDER BY g) AS leaves, array_agg(g * 10 ORDER BY g) AS ids
      FROM generate_series(1, 13) g) l,
     generate_series(0, 12) i, witness._merkle_tree_proof(witness._merkle_tree(l.ids, l.leaves), (i + 1) * 10) p;
SELECT * FROM witness._merkle_tree_proof(witness._merkle_tree('{10,20}', ARRAY[sha256('a'), sha256('b')]), 15);

-- Entries whose NOT NULL columns are NULL: a clear error, never a hash of garbage.
SELECT bad_input.try($$SELECT witness.entry_leaf_hash(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                       NULL, NULL, NULL, NULL, NULL, NULL)::witness.entry)$$);
SELECT bad_input.try($$SELECT witness.entry_canonical_bytes(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                       NULL, NULL, NULL, NULL, NULL, NULL)::witness.entry)$$);
-- One NOT NULL column at a time, in an otherwise intact stored entry.
SELECT col, bad_input.try(format($$SELECT witness.entry_leaf_hash(jsonb_populate_record(x, jsonb_build_object(%L, NULL)))
                                   FROM witness.entry x ORDER BY id LIMIT 1$$, col))
FROM unnest(ARRAY['id', 'xid', 'stmt_time', 'backend_pid', 'tags', 'format', 'op', 'schema_name', 'table_name',
                  'session_user_name', 'current_user_name']) AS col;
-- A field no capture writes (an operation code 'X'): a bad argument (22023), not an internal error
-- (a robustness review found XX000).
SELECT bad_input.try($$SELECT witness.entry_canonical_bytes(jsonb_populate_record(x, '{"op": "X"}')) FROM witness.entry x ORDER BY id LIMIT 1$$);
SELECT bad_input.try($$SELECT witness.entry_leaf_hash(jsonb_populate_record(x, '{"op": "X"}')) FROM witness.entry x ORDER BY id LIMIT 1$$);
-- The stored leaf hash is not needed to recompute it.
SELECT substring(witness.entry_leaf_hash(jsonb_populate_record(x, '{"leaf_hash": null}')) FOR 8) = x.leaf_hash AS without_stored_hash
FROM witness.entry x ORDER BY id LIMIT 1;
-- verify() meets such an entry in the trail (the constraint dropped) and names it instead of failing.
BEGIN;
SELECT FROM witness._begin_internal_ddl(); -- columns of pg_witness's tables change only under its mark
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only, ALTER COLUMN op DROP NOT NULL;
UPDATE witness.entry SET op = NULL WHERE id = (SELECT max(id) FROM witness.entry WHERE xid < pg_snapshot_xmin(
    (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1)));
SELECT status, problem, entry_id = (SELECT max(id) FROM witness.entry WHERE op IS NULL) AS that_entry FROM witness.verify();
ROLLBACK;

-- Huge digests: a signed digest has less than 1 kB. One of 80,000 members took seconds, growing
-- quadratically, and could not be cancelled; now anything over 64 KiB of JSON text is refused at once.
SELECT bad_input.try($$SELECT * FROM witness.verify_digest((SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 80000) g))$$);
SELECT bad_input.try($$SELECT * FROM witness.verify_digest(jsonb_build_object('digest',
                       (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 80000) g)))$$);
\set VERBOSITY default
SELECT * FROM witness.verify_digest(jsonb_build_object('digest', repeat('x', 70000)));
\set VERBOSITY terse
-- Just under the limit, the document is read (and found malformed).
SELECT bad_input.try(format($$SELECT * FROM witness.verify_digest(%L)$$,
                            jsonb_build_object('digest', repeat('x', 65536 - 16))));

-- A cancel (here statement_timeout) stops a long computation of the C++ core where it is, instead of
-- after it has run to its end: the audit path of a million leaves, cut off at a quarter of its time.
CREATE FUNCTION bad_input.run_ms(statement text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE statement;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
EXCEPTION WHEN query_canceled THEN
	RAISE NOTICE 'stopped: %', SQLERRM;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
CREATE TABLE bad_input.big_tree AS SELECT array_agg(sha256(int8send(g))) AS leaves FROM generate_series(1, 1000000) g;
SELECT least(bad_input.run_ms($$SELECT witness._merkle_audit_path(leaves, 0) FROM bad_input.big_tree$$),
             bad_input.run_ms($$SELECT witness._merkle_audit_path(leaves, 0) FROM bad_input.big_tree$$)) AS full_ms \gset
SELECT set_config('statement_timeout', greatest(round(:full_ms / 4), 1)::text, false) IS NOT NULL AS timeout_set;
SELECT bad_input.run_ms($$SELECT witness._merkle_audit_path(leaves, 0) FROM bad_input.big_tree$$) < :full_ms * 0.75
       AS stopped_early;
RESET statement_timeout;
DROP TABLE bad_input.big_tree;

-- witness.context: SET refuses whatever the capture would refuse. '{"a":1e1000000}' was accepted, and
-- then every tracked change failed with 22003 (the capture stores the context through jsonb).
CREATE TABLE bad_input.t (id int PRIMARY KEY, v text);
SELECT witness.track('bad_input.t');
BEGIN;
SET LOCAL witness.context = '{"ok": true}';
SELECT bad_input.try($$SET LOCAL witness.context = '{"a":1e1000000}'$$);
SELECT current_setting('witness.context') AS context_kept;
SELECT bad_input.try($$INSERT INTO bad_input.t VALUES (1, 'one')$$);
COMMIT;
SELECT operation, new_values, context FROM witness.log WHERE table_name = 't' ORDER BY id;
-- Numbers at the edges of numeric's range: SET agrees with jsonb, and also counts how long the
-- number prints (1e4000 is 4001 digits as stored).
SELECT n, bad_input.try(format('SET witness.context = %L', format('{"n":%s}', n))) AS set,
       bad_input.try(format('SELECT %L::jsonb', format('{"n":%s}', n))) AS jsonb
FROM unnest(ARRAY['1e4000', '1e4100', '1e131072', '1e-4000', '1e-16384', '0e-16384', '0e1073741822', '0e1073741823',
                  '1e1000000', '-0.5E+2']) AS n;
RESET witness.context;
SELECT bad_input.try($$SET witness.context = '[1, 2]'$$);
SELECT bad_input.try($$SET witness.context = '{"a": }'$$);
SELECT bad_input.try($$SET witness.context = '{"a": "\u0000"}'$$);
SELECT bad_input.try($$SELECT set_config('witness.context', '{"a": 1e1000000}', true)$$);
\set VERBOSITY default
SET witness.context = '{"a":1e1000000}';
SET witness.context = '{"n":1e5000}';
\set VERBOSITY terse

-- Size limits: witness.actor 256 bytes, witness.reason 1024, witness.context 4096. A 5 MB reason made
-- a 3-row UPDATE add 16 MB to the trail.
SELECT setting, octet_length(value) AS bytes, bad_input.try(format('SET %s = %L', setting, value)) AS result
FROM (VALUES ('witness.actor', repeat('a', 256)), ('witness.actor', repeat('a', 257)),
             ('witness.actor', repeat('é', 128)), ('witness.actor', repeat('é', 129)),
             ('witness.reason', repeat('r', 1024)), ('witness.reason', repeat('r', 1025)),
             ('witness.reason', repeat('r', 5 * 1024 * 1024)),
             ('witness.context', '{"c":"' || repeat('x', 4088) || '"}'),
             ('witness.context', '{"c":"' || repeat('x', 4089) || '"}')) AS v(setting, value);
RESET witness.actor;
RESET witness.reason;
RESET witness.context;
\set VERBOSITY default
SELECT repeat('r', 1025) AS long_reason \gset
SET witness.reason = :'long_reason';
\set VERBOSITY terse
-- Values at the limits are captured in full.
INSERT INTO bad_input.t VALUES (2, 'two'), (3, 'three');
BEGIN;
SELECT set_config('witness.actor', repeat('a', 256), true) IS NOT NULL AS actor_set,
       set_config('witness.reason', repeat('r', 1024), true) IS NOT NULL AS reason_set,
       set_config('witness.context', '{"c":"' || repeat('x', 4088) || '"}', true) IS NOT NULL AS context_set;
UPDATE bad_input.t SET v = v || '!';
COMMIT;
SELECT count(*) AS entries, min(octet_length(actor)) AS actor_bytes, min(octet_length(reason)) AS reason_bytes,
       min(octet_length(context::text)) AS context_bytes, bool_and(leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8)) AS hashes_ok
FROM witness.entry e WHERE table_name = 't' AND op = 'U';

-- The queries pg_witness runs through SPI name every function, operator and type with its schema:
-- objects planted in public must not change what seal(), verify() and digest() compute when a session
-- puts public before pg_catalog in search_path. An unqualified max() made verify() check one block.
SELECT count(*) AS sealed FROM witness.seal();
SELECT max(block_no) AS newest, sum(entry_count) AS sealed_entries FROM witness.block \gset
INSERT INTO bad_input.t VALUES (10, 'ten'), (11, 'eleven');
CREATE FUNCTION public.always_one(bigint, bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT 1::bigint';
CREATE AGGREGATE public.max(bigint) (SFUNC = public.always_one, STYPE = bigint, INITCOND = '1');
CREATE AGGREGATE public.sum(bigint) (SFUNC = public.always_one, STYPE = bigint, INITCOND = '1');
CREATE FUNCTION public.never(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR public.>= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.never);
CREATE OPERATOR public.<= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.never);
CREATE FUNCTION public.never(xid8, xid8) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR public.>= (LEFTARG = xid8, RIGHTARG = xid8, FUNCTION = public.never);
SET witness.hmac_key_file = '/tmp/pg_witness_regress_hmac.key';
SET search_path = public, pg_catalog;
SELECT block_no AS sealed_block, entry_count AS sealed_count FROM witness.seal() \gset
SELECT status, blocks_checked AS checked, entries_pending AS pending FROM witness.verify() \gset
SELECT status AS range_status, blocks_checked AS range_checked FROM witness.verify(2, 3) \gset
SELECT witness.digest() AS planted_digest \gset
SELECT status AS digest_status FROM witness.verify_digest(:'planted_digest') \gset
RESET search_path;
SELECT :sealed_block = :newest + 1 AS next_block, :sealed_count AS entries_sealed,
       :'status' AS status, :checked = :newest + 1 AS every_block_checked, :pending AS pending,
       :'range_status' AS range_status, :range_checked AS range_checked;
SELECT (d -> 'digest' ->> 'block_no')::bigint = :newest + 1 AS digest_of_newest_block,
       (d -> 'digest' ->> 'entries')::bigint = :sealed_entries + 2 AS digest_counts_every_entry,
       :'digest_status' AS digest_status
FROM (SELECT :'planted_digest'::jsonb AS d) AS x;
-- A type named text shadows pg_catalog.text the same way.
CREATE TYPE public.text AS (planted integer);
INSERT INTO bad_input.t VALUES (12, 'twelve');
SET search_path = public, pg_catalog;
SELECT entry_count AS text_sealed_count FROM witness.seal() \gset
SELECT status AS text_status, blocks_checked AS text_checked FROM witness.verify() \gset
RESET search_path;
SELECT :text_sealed_count AS entries_sealed, :'text_status' AS status, :text_checked = :newest + 2 AS every_block_checked;
DROP TYPE public.text;
DROP OPERATOR public.>= (xid8, xid8), public.>= (bigint, bigint), public.<= (bigint, bigint);
DROP FUNCTION public.never(xid8, xid8), public.never(bigint, bigint);
DROP AGGREGATE public.max(bigint), public.sum(bigint);
DROP FUNCTION public.always_one(bigint, bigint);
RESET witness.hmac_key_file;

-- Block ranges that hold nothing to check are errors, not "valid": witness.verify(1000000, 1000001)
-- said valid with 0 blocks checked. Messages name the newest block, written N here (it depends on the
-- tests before this one).
CREATE FUNCTION bad_input.try_relative(statement text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(bad_input.try(statement), '\m' || (SELECT max(block_no) FROM witness.block) || '\M', 'N', 'g')
$$;
SELECT bad_input.try_relative($$SELECT * FROM witness.verify(1000000, 1000001)$$);
SELECT bad_input.try_relative($$SELECT * FROM witness.verify(1000000, NULL)$$);
SELECT bad_input.try($$SELECT * FROM witness.verify(0, 1)$$);
SELECT bad_input.try($$SELECT * FROM witness.verify(3, 2)$$);
-- A range that reaches past the newest block checks up to it.
SELECT status, blocks_checked = (SELECT max(block_no) - 1 FROM witness.block) AS up_to_newest
FROM witness.verify(2, 1000000);
-- Blocks deleted from a range that does not reach the newest block are missing, not a smaller range.
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
DELETE FROM witness.block WHERE block_no IN (2, 3);
SELECT status, blocks_checked, problem, block_no, detail FROM witness.verify(2, 3);
SELECT status, blocks_checked, problem, block_no FROM witness.verify(1, 3);
ROLLBACK;
-- An empty trail: the whole of it is valid, a block of it does not exist.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
-- TRUNCATE fires the guard of every partition of witness.entry too (docs/scaling.md).
SELECT format('ALTER TABLE %s DISABLE TRIGGER witness_append_only', h.inhrelid::regclass) FROM pg_inherits h WHERE h.inhparent = 'witness.entry'::regclass \gexec
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
TRUNCATE witness.entry, witness.block;
SELECT status, blocks_checked, entries_checked, entries_pending FROM witness.verify();
SELECT status, blocks_checked FROM witness.verify(1, NULL);
SELECT bad_input.try($$SELECT * FROM witness.verify(2, NULL)$$);
\set VERBOSITY default
SELECT * FROM witness.verify(1, 1);
\set VERBOSITY terse
ROLLBACK;
-- In a read-only transaction the functions that take a pg_witness lock and record what they do say
-- so (25006), instead of refusing a SELECT ... FOR UPDATE the caller never wrote (a robustness review).
BEGIN READ ONLY;
SELECT bad_input.try($$SELECT witness.hold('ro-hold', 'read only')$$);
SELECT bad_input.try($$SELECT * FROM witness.apply_retention()$$);
ROLLBACK;
