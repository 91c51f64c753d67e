-- pg_witness 0.1 -> 0.2: canonical format 2 (docs/hashing.md): the leaf hash covers an entry's
-- header and a salted commitment to its payload, so that a data subject's payload can be erased
-- while every block still verifies (docs/personal-data.md). Entries written before the update keep
-- format 1 and keep verifying as such.
\echo Use "ALTER EXTENSION pg_witness UPDATE TO '0.2'" to load this file. \quit

-- The sealer of a running server (the library loaded is already this version's) locks witness.block,
-- then reads witness.entry; this script changes witness.entry first, witness.block later. Taking the
-- sealer's lock before anything else lets a seal under way finish and keeps the next one out (the
-- background sealer skips a pass it cannot lock) until this update commits. In the other order each
-- waited for the other: a deadlock at nearly every try with sealing every second (found by a review).
LOCK TABLE witness.block IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE witness.entry
	ADD COLUMN salt bytea,
	ADD COLUMN commitment bytea,
	ADD COLUMN subject_pseudonym bytea,
	ADD COLUMN erasure_id bigint,
	ADD COLUMN sealed_payload bytea,
	ADD COLUMN old_subject_key bigint;
COMMENT ON COLUMN witness.entry.salt IS 'format 2: the 16 random bytes the payload commitment is salted with; NULL once the payload is erased';
COMMENT ON COLUMN witness.entry.commitment IS 'format 2: SHA-256(0x03 || salt || canonical payload bytes), covered by the leaf hash in place of the payload; an entry whose payload is in clear stores its first 8 bytes only, which salt and payload complete (docs/hashing.md)';
COMMENT ON COLUMN witness.entry.subject_pseudonym IS 'format 2: keyed pseudonym of the subject (HMAC-SHA256 under a key derived from the master key), when one is configured';
COMMENT ON COLUMN witness.entry.erasure_id IS 'the erasure that removed this entry''s payload, or NULL';
COMMENT ON COLUMN witness.entry.sealed_payload IS 'format 2, encrypted tables: salt and payload, AES-256-GCM under the subject''s key (docs/personal-data.md); row_key, subject, old_values, new_values and salt are then NULL';
COMMENT ON COLUMN witness.entry.leaf_hash IS 'SHA-256(0x00 || canonical bytes of this entry), all 32 bytes for format 1; an entry captured by version 0.2 stores its first 8 bytes, which its content completes (docs/hashing.md, "How entries store their leaf hash")';
COMMENT ON COLUMN witness.entry.old_subject_key IS 'an UPDATE that changed the row''s subject: the lookup key of the subject before (witness._subject_lookup_key()), so that its erasure and export find the entry holding its old values; NULL otherwise and once erased; not covered by the leaf hash';

-- A subject's entries are found through witness.entry_lookup, which the sealer fills after commit
-- (witness._subject_entries(), docs/personal-data.md "Finding a subject's entries"): the capture adds
-- no index entry for them. Only erasures set erasure_id: the capture never adds to this index either.
-- Created here, before this script captures anything: the capture keeps witness.entry open until
-- commit, and CREATE INDEX refuses a table its own session has open.
CREATE INDEX entry_erasure ON witness.entry (erasure_id) WHERE erasure_id IS NOT NULL;
COMMENT ON INDEX witness.entry_erasure IS 'the entries each erasure emptied: how witness.subject_export() lists a subject''s erased entries';

-------------------------------------------------------------------------------
-- A partitioned trail (docs/scaling.md): witness.entry partitioned by UTC month of stmt_time
-------------------------------------------------------------------------------

-- The 0.1 table cannot become partitioned in place: it is renamed, a partitioned witness.entry with
-- the same columns takes its name, and the old table becomes its first partition (entries of an
-- updated 0.1 trail) or, on a fresh install where it is empty, goes. Done here, before this script
-- captures anything: the capture keeps witness.entry open until commit. Whatever 0.1 made that
-- follows the table by oid (its row type in two functions, witness.log, the sequence's owner) is
-- made again for the partitioned table below.
ALTER TABLE witness.entry RENAME TO entry_0_1;
ALTER INDEX witness.entry_xid RENAME TO entry_0_1_xid;
ALTER INDEX witness.entry_id RENAME TO entry_0_1_id;
ALTER INDEX witness.entry_erasure RENAME TO entry_0_1_erasure;
ALTER SEQUENCE witness.entry_id_seq OWNED BY NONE;

CREATE TABLE witness.entry (LIKE witness.entry_0_1) PARTITION BY RANGE (stmt_time);
ALTER SEQUENCE witness.entry_id_seq OWNED BY witness.entry.id;
REVOKE ALL ON witness.entry FROM PUBLIC;
-- Its comments are the 0.1 table's (table and columns).
DO $$
BEGIN
	EXECUTE format('COMMENT ON TABLE witness.entry IS %L',
	               'pg_witness trail: one append-only row per captured change, written only by the capture triggers; partitioned by UTC month of stmt_time (docs/scaling.md)');
	PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	EXECUTE (SELECT string_agg(format('COMMENT ON COLUMN witness.entry.%I IS %L', a.attname, d.description), '; ')
	         FROM pg_catalog.pg_attribute a
	         JOIN pg_catalog.pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
	         WHERE a.attrelid = 'witness.entry_0_1'::regclass AND a.attnum > 0 AND NOT a.attisdropped);
END
$$;

-- Statement triggers are not inherited: the parent and every partition carry the guards.
CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.entry
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
CREATE TRIGGER witness_insert_only_by_capture BEFORE INSERT ON witness.entry
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();

-- A partition's guards (append-only always, inserts by the capture and a replica-mode restore only)
-- and its indexes. Made before it is attached, where it can be.
CREATE FUNCTION witness._guard_entry_partition(p regclass) RETURNS void
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	name name;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = p) THEN
		RAISE EXCEPTION 'relation with OID % does not exist', p::oid USING ERRCODE = 'undefined_table';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = p AND t.tgname = 'witness_append_only') THEN
		EXECUTE format('CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
		               'FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write()', p);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER witness_append_only', p);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = p AND t.tgname = 'witness_insert_only_by_capture') THEN
		EXECUTE format('CREATE TRIGGER witness_insert_only_by_capture BEFORE INSERT ON %s '
		               'FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write()', p);
	END IF;
	-- A new table grants nothing, unless default privileges say otherwise. Only then revoked: a REVOKE is
	-- a permission event, recorded in the trail, and capture then keeps witness.entry open, which the
	-- next ATTACH PARTITION of the same transaction would refuse.
	IF (SELECT c.relacl FROM pg_catalog.pg_class c WHERE c.oid = p) IS NOT NULL THEN
		EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p);
	END IF;
	-- The indexes of the trail, named after the partition (entry_y2026m12_xid and so on). Each
	-- partition's own, not partitions of indexes on witness.entry: pg_dump saves a partition of a
	-- partitioned index with an ATTACH that a restore cannot replay, the extension having made the
	-- parent's index already (ATTACH PARTITION would have indexed the restored partition first).
	SELECT c.relname INTO name FROM pg_catalog.pg_class c WHERE c.oid = p;
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING brin (xid witness.xid8_minmax_ops)', name || '_xid', p);
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING brin (id)', name || '_id', p);
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (erasure_id) WHERE erasure_id IS NOT NULL', name || '_erasure', p);
	-- The few UPDATEs that moved a row from one subject to another: the capture adds an index entry for
	-- those only (a partial index on "IS NOT NULL" costs the other entries nothing, entry_store.cpp).
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (old_subject_key) WHERE old_subject_key IS NOT NULL',
	               name || '_old_subject', p);
END
$$;
COMMENT ON FUNCTION witness._guard_entry_partition(regclass) IS 'internal: puts the append-only and insert guards and the indexes of witness.entry (entry_xid, entry_id, entry_erasure, entry_old_subject, named after the partition) on one of its partitions';
REVOKE ALL ON FUNCTION witness._guard_entry_partition(regclass) FROM PUBLIC;

-- The safety net: entries of a month that has no partition yet land here, so that capture never
-- fails for want of one. Saved by pg_dump as data; the monthly partitions the sealer makes are
-- saved as tables of schema witness (with their data), so that a restore makes them again.
CREATE TABLE witness.entry_default PARTITION OF witness.entry DEFAULT;
COMMENT ON TABLE witness.entry_default IS 'pg_witness trail: the entries of a time no monthly partition covers (docs/scaling.md)';
SELECT witness._guard_entry_partition('witness.entry_default');
SELECT pg_catalog.pg_extension_config_dump('witness.entry_default', '');

-- The row type of the 0.1 table went with its name: functions taking an entry take the new one.
DROP FUNCTION witness.entry_leaf_hash(witness.entry_0_1);
CREATE FUNCTION witness.entry_leaf_hash(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_entry_leaf_hash' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness.entry_leaf_hash(witness.entry) IS 'recomputes an entry''s leaf hash from its stored content (docs/hashing.md); NULL for an entry in clear whose payload no longer reproduces the first bytes of its commitment, all it stores of it';
-- An entry captured by this version stores the first 8 bytes of its leaf hash; its content reproduces
-- the rest (docs/hashing.md, "How entries store their leaf hash"). These two give the full hash.
CREATE FUNCTION witness._sealed_leaf(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_sealed_leaf' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._sealed_leaf(witness.entry) IS 'internal: the leaf hash an entry''s block covers for it, as the sealer took it: recomputed from its content when that begins with what the entry stores of its leaf hash, else those stored bytes padded with zeros (docs/hashing.md)';
CREATE FUNCTION witness._proof_checks(leaf bytea, leaf_index integer, tree_size integer, audit_path bytea[], merkle_root bytea)
RETURNS boolean AS 'MODULE_PATHNAME', 'witness_proof_checks' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._proof_checks(bytea, integer, integer, bytea[], bytea) IS 'internal: whether an audit path leads from a leaf hash to a Merkle root (RFC 9162): what prove() and subject_export() check before they give a proof';
CREATE FUNCTION witness._matching_leaf(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_matching_leaf' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._matching_leaf(witness.entry) IS 'internal: an entry''s leaf hash recomputed from its content when it begins with what the entry stores of it (8 or 32 bytes), else NULL: what a proof may prove';

DROP FUNCTION witness.entry_canonical_bytes(witness.entry_0_1);
CREATE FUNCTION witness.entry_canonical_bytes(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_entry_canonical_bytes' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness.entry_canonical_bytes(witness.entry) IS 'the canonical bytes an entry''s leaf hash is computed over (docs/hashing.md); NULL where witness.entry_leaf_hash() is';
CREATE OR REPLACE VIEW witness.log AS
SELECT e.id, e.xid, e.stmt_time,
       CASE e.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' WHEN 'T' THEN 'TRUNCATE' END AS operation,
       e.schema_name, e.table_name, e.row_key::jsonb AS row_key, e.subject, witness.tag_names(e.tags) AS tags,
       e.old_values::jsonb AS old_values, e.new_values::jsonb AS new_values, e.session_user_name,
       e.current_user_name, e.application_name, e.client_addr, e.client_port, e.backend_pid, e.actor, e.reason,
       e.context::jsonb AS context, e.leaf_hash
FROM witness.entry e;

-- An updated 0.1 trail: the old table becomes the partition of everything before the next month
-- boundary (a CHECK first, so that ATTACH does not scan it a second time), and stops being a member
-- of the extension, so that pg_dump saves it as one more partition. A fresh install's is empty: dropped.
DO $$
DECLARE
	upto timestamptz := (pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
	latest timestamptz;
BEGIN
	PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	-- The bound is written into DDL as text: ISO keeps the offset numeric (DateStyle SQL or Postgres
	-- print a zone abbreviation, which can read back as another zone's).
	PERFORM pg_catalog.set_config('datestyle', 'ISO, YMD', true);
	IF NOT EXISTS (SELECT 1 FROM witness.entry_0_1) THEN
		-- Out of the extension first: that takes it off the tables pg_dump saves the data of.
		ALTER EXTENSION pg_witness DROP TABLE witness.entry_0_1;
		DROP TABLE witness.entry_0_1;
		RETURN;
	END IF;
	SELECT max(e.stmt_time) INTO latest FROM witness.entry_0_1 e;
	IF latest >= upto THEN
		upto := (date_trunc('month', latest AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
	END IF;
	EXECUTE format('ALTER TABLE witness.entry_0_1 ADD CONSTRAINT entry_0_1_range CHECK (stmt_time IS NOT NULL AND stmt_time < %L)', upto);
	EXECUTE format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_0_1 FOR VALUES FROM (MINVALUE) TO (%L)', upto);
	ALTER TABLE witness.entry_0_1 DROP CONSTRAINT entry_0_1_range;
	ALTER EXTENSION pg_witness DROP TABLE witness.entry_0_1;
	COMMENT ON TABLE witness.entry_0_1 IS 'pg_witness trail: the entries of the 0.1 trail and of its last month (docs/scaling.md)';
	PERFORM witness._guard_entry_partition('witness.entry_0_1');
END
$$;

-- The range of a partition of witness.entry, read from its bound as PostgreSQL prints it (ISO dates,
-- whatever the caller's DateStyle).
CREATE FUNCTION witness._partition_range(p regclass, OUT is_default boolean, OUT range_start timestamptz, OUT range_end timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, YMD' AS $$
DECLARE
	bound text := (SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.oid = p);
BEGIN
	is_default := bound = 'DEFAULT';
	IF is_default OR bound IS NULL THEN
		RETURN;
	END IF;
	range_start := CASE WHEN bound ~ 'FROM \(MINVALUE\)' THEN '-infinity'::timestamptz
	                    ELSE substring(bound FROM 'FROM \(''([^'']*)''\)')::timestamptz END;
	range_end := CASE WHEN bound ~ 'TO \(MAXVALUE\)' THEN 'infinity'::timestamptz
	                  ELSE substring(bound FROM 'TO \(''([^'']*)''\)')::timestamptz END;
END
$$;
COMMENT ON FUNCTION witness._partition_range(regclass) IS 'internal: the range of stmt_time a partition of witness.entry takes, or is_default';
REVOKE ALL ON FUNCTION witness._partition_range(regclass) FROM PUBLIC;

-- The partitions of the trail: what retention can drop a month at a time (docs/scaling.md).
CREATE VIEW witness.partitions AS
SELECT c.oid::regclass AS partition, r.is_default, r.range_start, r.range_end,
       NULLIF(c.reltuples, -1)::bigint AS entries_estimate,
       pg_catalog.pg_total_relation_size(c.oid) AS total_bytes
FROM pg_catalog.pg_inherits h
JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
CROSS JOIN LATERAL witness._partition_range(c.oid::regclass) r
WHERE h.inhparent = 'witness.entry'::pg_catalog.regclass;
COMMENT ON VIEW witness.partitions IS 'the partitions of witness.entry: the range of stmt_time each takes, [range_start, range_end) (NULL for the default partition), an estimate of its entries (as of its last VACUUM or ANALYZE; NULL before) and its size with indexes';
REVOKE ALL ON witness.partitions FROM PUBLIC;

-- The partition of the UTC month that starts at month_start, made unless a partition covers part of
-- it already. Made as a table of its own and then attached: ATTACH PARTITION takes SHARE UPDATE
-- EXCLUSIVE on witness.entry, which capture's ROW EXCLUSIVE does not conflict with (CREATE TABLE ...
-- PARTITION OF would wait for every capturing transaction and stop capture meanwhile). Attaching
-- scans witness.entry_default under an exclusive lock for entries of that month. When it has some
-- (the month of a fresh install: capture ran before the worker's first pass), up to 100,000 of them
-- are moved into the new partition first, under an exclusive lock on the whole trail: same rows,
-- same ids and leaf hashes, so blocks and proofs are unchanged. More than that is refused loudly (WARNING): the move would hold
-- capture into the default partition up for too long; those entries stay where they are.
CREATE FUNCTION witness._create_entry_partition(month_start timestamptz) RETURNS regclass
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, YMD' AS $$
DECLARE
	in_default bigint;
	lo timestamptz := date_trunc('month', month_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	hi timestamptz := (date_trunc('month', month_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
	name text := 'entry_' || to_char(date_trunc('month', month_start AT TIME ZONE 'UTC'), '"y"YYYY"m"MM');
	made regclass;
BEGIN
	IF month_start IS NULL THEN
		RAISE EXCEPTION 'month_start must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF EXISTS (SELECT 1 FROM witness.partitions p WHERE NOT p.is_default AND p.range_start < hi AND p.range_end > lo) THEN
		RETURN NULL;
	END IF;
	-- Moving entries takes the whole trail, before anything is read: no capture may add entries of
	-- the month to the default partition between the count, the move and the attach, and no reader
	-- (a sealer, verify()) may plan its scan with the partitions of before and run it on the rows
	-- of after, missing the moved ones. Without entries to move, the attach takes what it needs.
	in_default := 0;
	IF EXISTS (SELECT 1 FROM witness.entry_default e WHERE e.stmt_time >= lo AND e.stmt_time < hi) THEN
		LOCK TABLE witness.entry IN ACCESS EXCLUSIVE MODE;
		SELECT count(*) INTO in_default FROM (SELECT 1 FROM witness.entry_default e WHERE e.stmt_time >= lo AND e.stmt_time < hi LIMIT 100001) x;
	END IF;
	IF in_default > 100000 THEN
		RAISE WARNING 'pg_witness: no partition made for the UTC month %: witness.entry_default holds more than 100000 entries of it', to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM')
			USING DETAIL = 'A partition cannot be attached over entries of the default partition, and moving that many would stop capture into it for too long.',
			      HINT = 'Its entries stay in witness.entry_default, which retention cannot drop by month (docs/scaling.md).';
		RETURN NULL;
	END IF;
	PERFORM witness._begin_internal_ddl();
	EXECUTE format('CREATE TABLE witness.%I (LIKE witness.entry)', name);
	made := format('witness.%I', name)::regclass;
	IF in_default > 0 THEN
		-- Into the new table before it is guarded (only capture inserts into a guarded partition); out
		-- of the default partition with the guard letting this internal move through (_reject_write).
		EXECUTE format('INSERT INTO %s SELECT * FROM witness.entry_default e WHERE e.stmt_time >= $1 AND e.stmt_time < $2 ORDER BY e.id', made)
			USING lo, hi;
		DELETE FROM witness.entry_default e WHERE e.stmt_time >= lo AND e.stmt_time < hi;
		RAISE NOTICE 'pg_witness: moved % entries of the UTC month % from witness.entry_default into %', in_default, to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM'), made;
	END IF;
	EXECUTE format('COMMENT ON TABLE %s IS %L', made, format('pg_witness trail: the entries of the UTC month from %s (docs/scaling.md)', lo));
	PERFORM witness._guard_entry_partition(made);
	-- The CHECK spares ATTACH a scan of the (empty) table; the default partition it scans still.
	EXECUTE format('ALTER TABLE witness.%I ADD CONSTRAINT %I CHECK (stmt_time >= %L AND stmt_time < %L)',
	               name, name || '_range', lo, hi);
	EXECUTE format('ALTER TABLE witness.entry ATTACH PARTITION witness.%I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
	EXECUTE format('ALTER TABLE witness.%I DROP CONSTRAINT %I', name, name || '_range');
	PERFORM witness._end_internal_ddl();
	RETURN made;
END
$$;
COMMENT ON FUNCTION witness._create_entry_partition(timestamptz) IS 'internal: makes and attaches the partition of witness.entry for the UTC month of month_start, unless one covers it or the default partition holds more than 100000 entries of it (fewer are moved into it)';
REVOKE ALL ON FUNCTION witness._create_entry_partition(timestamptz) FROM PUBLIC;

-- What the sealer worker calls (once an hour): the current UTC month and the next months_ahead, each
-- made unless it exists. A lock it waits for longer than 200 ms is given up, with an error: while the
-- request for witness.entry_default's exclusive lock waits, capture into that partition waits behind
-- it. The sealer tries again 10 s later.
CREATE FUNCTION witness.create_entry_partitions(months_ahead integer DEFAULT 2)
RETURNS SETOF regclass
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET lock_timeout = '200ms' AS $$
DECLARE
	m integer;
	made regclass;
BEGIN
	IF months_ahead IS NULL THEN
		RAISE EXCEPTION 'months_ahead must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF months_ahead < 0 OR months_ahead > 120 THEN
		RAISE EXCEPTION 'months_ahead must be between 0 and 120' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR m IN 0 .. months_ahead LOOP
		made := witness._create_entry_partition(now() + make_interval(months => m));
		IF made IS NOT NULL THEN
			RETURN NEXT made;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness.create_entry_partitions(integer) IS 'makes the partitions of witness.entry for the current UTC month and the next months_ahead that do not exist yet, and returns them (the sealer worker calls it; docs/scaling.md)';
REVOKE ALL ON FUNCTION witness.create_entry_partitions(integer) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Erasure (GDPR Art. 17): payload and salt go, the commitment and the leaf stay
-------------------------------------------------------------------------------

-- One row per call of witness.erase_subject(). The table is tracked like ddl_event, so every erasure
-- is itself an INSERT entry of the chain, naming the erased entries; verification takes the list
-- from that entry (which the chain protects), never from this table.
CREATE TABLE witness.erasure (
	erasure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	entry_ids bigint[] NOT NULL,
	reason text NOT NULL,
	role_name text NOT NULL,
	erased_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	subject_salt bytea NOT NULL,
	subject_digest bytea NOT NULL,
	tampered_entry_ids bigint[] NOT NULL DEFAULT '{}',
	entry_leaves bytea[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE witness.erasure IS 'pg_witness: one row per erasure of a data subject''s payloads; each row is captured into the trail';
COMMENT ON COLUMN witness.erasure.entry_ids IS 'the entries whose payload and salt this erasure removed';
COMMENT ON COLUMN witness.erasure.reason IS 'why, as the caller of witness.erase_subject() gave it';
COMMENT ON COLUMN witness.erasure.role_name IS 'the role that called witness.erase_subject() (after SET ROLE)';
COMMENT ON COLUMN witness.erasure.erased_at IS 'when the erasure ran';
COMMENT ON COLUMN witness.erasure.tampered_entry_ids IS 'of entry_ids, those whose payload did not match its commitment when this erasure removed it: verification keeps reporting them as changed';
COMMENT ON COLUMN witness.erasure.entry_leaves IS 'the first 8 bytes of the leaf hash of each entry of entry_ids, in its order: a collector erases an entry only when it is the one the source erased (docs/central.md)';
COMMENT ON COLUMN witness.erasure.subject_salt IS '32 random bytes drawn for this erasure';
COMMENT ON COLUMN witness.erasure.subject_digest IS 'SHA-256(0x04 || subject_salt || subject as UTF-8): lets witness.subject_export() list the erased entries of the subject it is given, without the subject in clear (docs/personal-data.md)';
COMMENT ON SEQUENCE witness.erasure_erasure_id_seq IS 'pg_witness erasure ids';

-- The move of a month's entries out of the default partition into the month's new partition
-- (witness._create_entry_partition, docs/scaling.md), an internal step, goes through (on the line of
-- BEGIN: line numbers in error contexts stay).
CREATE OR REPLACE FUNCTION witness._reject_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'entry_default' AND witness._in_internal_ddl() THEN RETURN NULL; END IF;
	IF TG_TABLE_NAME IN ('ddl_event', 'erasure', 'subject_access', 'key_rotation', 'activity', 'auditor_grant', 'subject_binding', 'legal_hold', 'verification_run', 'retention_rule', 'retention_run', 'pruned_leaf', 'era', 'alert', 'alert_rule', 'trail_publication') THEN
		IF TG_OP = 'INSERT' AND witness._in_internal_ddl() THEN
			RETURN NULL;
		END IF;
		RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'pg_witness records DDL events, erasures, subject access exports, key rotations, auditor grants, subject bindings, legal holds and activity itself, and they are append-only.';
	END IF;
	IF TG_TABLE_NAME = 'tracked_table' THEN
		RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'The pg_witness configuration is changed only by its functions.',
			      HINT = 'Use witness.track() and witness.untrack() to change what is tracked.';
	END IF;
	RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = 'The pg_witness trail is append-only and written only by its capture triggers and its sealer.';
END
$$;
COMMENT ON FUNCTION witness._reject_write() IS 'internal: guard trigger that rejects writes to pg_witness tables';

-- One of pg_witness's own tables whose rows it writes itself and records in the chain (erasures,
-- subject access exports, key rotations): append-only, inserted into by pg_witness alone, tracked
-- like witness.ddl_event, and its configuration row left out of what pg_dump saves of
-- witness.tracked_table (every table of schema witness is). Called by this script once per table.
CREATE FUNCTION witness._make_record_table(t regclass, key_column text, classification text DEFAULT 'internal')
RETURNS void
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	saved_role text := current_setting('session_replication_role');
	seq text := pg_get_serial_sequence(t::text, key_column);
BEGIN
	-- Read by pg_witness's roles only (docs/access.md), and saved by pg_dump with its sequence: a
	-- restored trail keeps the rows its entries were captured from.
	EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', t);
	PERFORM pg_catalog.pg_extension_config_dump(t, '');
	IF seq IS NOT NULL THEN
		PERFORM pg_catalog.pg_extension_config_dump(seq::regclass, '');
	END IF;
	EXECUTE format('CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
	               'FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write()', t);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER witness_append_only', t);
	EXECUTE format('CREATE TRIGGER witness_insert_only_by_pg_witness BEFORE INSERT ON %s '
	               'FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write()', t);
	-- Not captured: installing or updating the extension writes no entry (as 0.1's own rows were not).
	PERFORM set_config('session_replication_role', 'replica', true);
	INSERT INTO witness.tracked_table (relid, classification, key_columns, schema_name, table_name)
	SELECT t, classification, ARRAY[key_column], n.nspname, c.relname
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t;
	PERFORM set_config('session_replication_role', saved_role, true);
	EXECUTE format('CREATE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
	               'FOR EACH ROW EXECUTE FUNCTION witness.capture()', t);
	PERFORM pg_catalog.pg_extension_config_dump('witness.tracked_table', format(
		'WHERE relid OPERATOR(pg_catalog.<>) ALL (ARRAY[%s])',
		(SELECT string_agg(quote_literal(r.relid::text) || '::pg_catalog.regclass', ', ' ORDER BY r.relid::oid)
		 FROM witness.tracked_table r WHERE r.schema_name = 'witness')));
END
$$;
COMMENT ON FUNCTION witness._make_record_table(regclass, text, text) IS 'internal: makes one of pg_witness''s own record tables append-only, written by pg_witness alone, private, saved by pg_dump, and tracked under a classification';
REVOKE ALL ON FUNCTION witness._make_record_table(regclass, text, text) FROM PUBLIC;

SELECT witness._make_record_table('witness.erasure', 'erasure_id');

-- Salted digests of a subject: witness.erasure and witness.subject_access record which subject a
-- request was about without holding it in clear. A digest confirms a subject only to someone who
-- already has it (and the row's salt); the per-row salt keeps two rows about one subject from
-- sharing a digest and rules out a table of digests computed in advance (docs/personal-data.md).
CREATE FUNCTION witness._random_salt() RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_random_salt' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._random_salt() IS 'internal: 32 fresh random bytes (OpenSSL) for a salted subject digest';
REVOKE ALL ON FUNCTION witness._random_salt() FROM PUBLIC;

CREATE FUNCTION witness._subject_digest(salt bytea, subject text) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_subject_digest' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION witness._subject_digest(bytea, text) IS 'internal: SHA-256(0x04 || salt || subject as UTF-8), the salted digest witness.erasure and witness.subject_access keep instead of the subject';
REVOKE ALL ON FUNCTION witness._subject_digest(bytea, text) FROM PUBLIC;

-- Raises unless the entries of a subject can all be found and read: encrypted ones need the master key.
CREATE FUNCTION witness._check_subject_readable(what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	missing text;
	encrypted witness.entry := witness._an_encrypted_entry();
BEGIN
	IF witness.master_key_id() IS NULL AND encrypted.id IS NOT NULL THEN
		RAISE EXCEPTION '%: the trail holds encrypted entries and no master key is configured', what
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'Encrypted entries record their subject as a keyed pseudonym, which only the master key can compute.',
			      HINT = 'Set witness.master_key_file to the file of the master key the entries were encrypted with.';
	END IF;
	-- Entries captured before a rotation record their subject under the pseudonym of the old key: a
	-- lookup without that key would miss them silently.
	IF to_regclass('witness.key_rotation') IS NOT NULL THEN
		SELECT r.old_key_id INTO missing FROM witness.key_rotation r
		WHERE r.old_key_id IS DISTINCT FROM witness.master_key_id() AND r.old_key_id IS DISTINCT FROM witness._previous_master_key_id()
		  AND NOT EXISTS (SELECT 1 FROM witness.retired_pseudonym_key k WHERE k.key_id = r.old_key_id)
		ORDER BY r.rotation_id DESC LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION '%: entries captured before a rotation record their subject under a pseudonym of master key %, which is not configured', what, missing
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      DETAIL = 'A rotation re-encrypts payloads under the new key, but the pseudonyms are covered by the leaf hashes and stay those of the old key.',
				      HINT = format('Set witness.previous_master_key_file to the file of master key %s.', missing);
		END IF;
	END IF;
	-- A master key the trail was never encrypted under computes pseudonyms no entry has: a lookup
	-- would find none of the subject's encrypted entries, silently.
	missing := witness._unknown_payload_key(encrypted);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION '%: encrypted entries are sealed under master key %, which is not configured', what, missing
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('The configured master key is %s; pseudonyms computed with it would find none of them.', COALESCE(witness.master_key_id(), 'none')),
			      HINT = format('Set witness.master_key_file (or witness.previous_master_key_file) to the file of master key %s.', missing);
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_subject_readable(text) IS 'internal: refuses a subject export or erasure that could not find the subject''s encrypted entries (no master key, or not the one they were sealed under)';
REVOKE ALL ON FUNCTION witness._check_subject_readable(text) FROM PUBLIC;

-- pg_witness's own locks: one row per lock, taken with SELECT ... FOR UPDATE, held until the end of
-- the transaction. They were advisory locks, whose keys any role that can connect may take too: a
-- session holding pg_advisory_lock(hashtext('pg_witness erase_subject')) made every erasure wait for
-- it. Locking a row FOR UPDATE needs UPDATE on this table, which only pg_witness's owner has.
CREATE TABLE witness.mutex (
	name text PRIMARY KEY
);
INSERT INTO witness.mutex (name) VALUES ('erase_subject'), ('entry_lookup'), ('legal_hold'), ('retention'), ('alerts'),
	('subject_binding');
COMMENT ON TABLE witness.mutex IS 'pg_witness: the locks of erasure, the lookup table, legal holds, retention, alerts and subject bindings, one row each, locked FOR UPDATE by witness._take_mutex() (only pg_witness may lock them)';
COMMENT ON COLUMN witness.mutex.name IS 'the lock: erase_subject, entry_lookup, legal_hold, retention, alerts or subject_binding';
REVOKE ALL ON witness.mutex FROM PUBLIC;

-- Refuses an action (an erasure) while changes of the transaction may still lack their entries: a
-- statement that changes rows is running, or entries wait for the one enclosing theirs.
CREATE FUNCTION witness._check_capture_complete(action text) RETURNS void
AS 'MODULE_PATHNAME', 'witness_check_capture_complete' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._check_capture_complete(text) IS 'internal: raises "<action> inside a statement that changes rows" while a writing statement runs or captured entries are held back, so that an erasure cannot miss them';
REVOKE ALL ON FUNCTION witness._check_capture_complete(text) FROM PUBLIC;

-- The transaction that holds one of pg_witness's locks cannot be prepared: the work that takes the lock
-- (alerts, lookups, erasures, retention) would wait until COMMIT PREPARED, a forgotten one for good
-- (src/pg/common/prepare_guard.cpp).
CREATE FUNCTION witness._refuse_prepare_holding(lock_name text) RETURNS void
AS 'MODULE_PATHNAME', 'witness_refuse_prepare_holding' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._refuse_prepare_holding(text) IS 'internal: makes PREPARE TRANSACTION fail in a transaction that took one of pg_witness''s locks';
REVOKE ALL ON FUNCTION witness._refuse_prepare_holding(text) FROM PUBLIC;

CREATE FUNCTION witness._take_mutex(lock_name text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- Said plainly: the lock's SELECT ... FOR UPDATE was refused by a message about a statement the
	-- caller never wrote (a robustness review, for erase_subject(), hold() and apply_retention()).
	IF current_setting('transaction_read_only') = 'on' THEN
		RAISE EXCEPTION 'cannot run this pg_witness function in a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction',
			      DETAIL = format('It takes pg_witness''s "%s" lock and records what it does.', lock_name);
	END IF;
	PERFORM FROM witness.mutex m WHERE m.name = lock_name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'pg_witness has no lock named "%"', lock_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'A row of witness.mutex was deleted; ALTER EXTENSION pg_witness UPDATE, or reinstall, restores it.';
	END IF;
	PERFORM witness._refuse_prepare_holding(lock_name);
END
$$;
COMMENT ON FUNCTION witness._take_mutex(text) IS 'internal: takes one of pg_witness''s locks (a row of witness.mutex, FOR UPDATE) until the end of the transaction';
REVOKE ALL ON FUNCTION witness._take_mutex(text) FROM PUBLIC;

CREATE FUNCTION witness._erase_payloads(entries tid[], partitions oid[], ids bigint[], erasure_id bigint) RETURNS tid[]
AS 'MODULE_PATHNAME', 'witness_erase_payloads' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._erase_payloads(tid[], oid[], bigint[], bigint) IS 'internal: removes payload and salt of format-2 entries (each at a ctid of a partition of witness.entry), keeping their commitment, and marks them with the erasure; returns where each erased entry is now (its new ctid), NULL for an element it skipped';
REVOKE ALL ON FUNCTION witness._erase_payloads(tid[], oid[], bigint[], bigint) FROM PUBLIC;

-- Each place overwritten in its row (src/pg/seal/lookup_places.cpp): a place is a hint, and an
-- UPDATE of a full page of the lookup table writes each row again with an entry in every index.
CREATE FUNCTION witness._move_lookup_places_in_place(ids bigint[], places tid[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_move_lookup_places_in_place' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._move_lookup_places_in_place(bigint[], tid[]) IS 'internal: overwrites the place (entry_tid) of the lookup row of each id that has another place, in the row as it is (not transactional, and like the rest of the unlogged table not WAL-logged: a place is a hint); returns how many rows it changed, NULL when the table has a row trigger, rule, CHECK constraint, forced row-level security or index on entry_tid that an UPDATE would run or maintain';
REVOKE ALL ON FUNCTION witness._move_lookup_places_in_place(bigint[], tid[]) FROM PUBLIC;

-- An erasure writes a new version of each entry it empties, elsewhere, and a rotation of each entry it
-- re-encrypts: their lookup rows learn the new places (witness.entry_lookup.entry_tid), so that reading
-- them again (an export, a proof of their chunk) takes a page each, not a read by id. Rows the lookup
-- table does not hold yet get the new place when it adds them. Under the lookup maintenance lock.
CREATE FUNCTION witness._move_lookup_places(ids bigint[], places tid[]) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET enable_seqscan = off
AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM witness._take_mutex('entry_lookup');
	PERFORM witness._begin_internal_ddl();
	-- Overwritten in place; through an UPDATE when the table has anything an UPDATE must run.
	IF witness._move_lookup_places_in_place(ids, places) IS NULL THEN
		UPDATE witness.entry_lookup k SET entry_tid = m.place
		FROM unnest(ids, places) AS m(id, place)
		WHERE k.id = m.id AND m.place IS NOT NULL AND k.entry_tid IS DISTINCT FROM m.place;
	END IF;
	PERFORM witness._end_internal_ddl();
	SELECT count(*) INTO n FROM unnest(places) AS p WHERE p IS NOT NULL;
	RETURN n;
END
$$;
COMMENT ON FUNCTION witness._move_lookup_places(bigint[], tid[]) IS 'internal: the lookup rows of entries an erasure or a rotation wrote elsewhere get their new places; returns how many entries moved';
REVOKE ALL ON FUNCTION witness._move_lookup_places(bigint[], tid[]) FROM PUBLIC;

-- Refuses text that is not UTF-8 where pg_witness reads it back as JSON: an erasure's reason is in
-- its record, whose entry verify() parses to learn which entries it erased. In a SQL_ASCII database
-- text may hold any bytes; a reason with one that is not UTF-8 made verify() miss the record and
-- report the lawful erasure's entries as payloads removed (a robustness review).
CREATE FUNCTION witness._check_utf8(value text, what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM convert_from(convert_to(value, 'UTF8'), 'UTF8');
EXCEPTION WHEN character_not_in_repertoire THEN
	RAISE EXCEPTION '% is not valid UTF-8', what
		USING ERRCODE = 'character_not_in_repertoire',
		      DETAIL = 'In a SQL_ASCII database pg_witness reads it back as UTF-8.';
END
$$;
COMMENT ON FUNCTION witness._check_utf8(text, text) IS 'internal: raises 22021 unless the text is valid UTF-8 (in a SQL_ASCII database it may hold any bytes)';
REVOKE ALL ON FUNCTION witness._check_utf8(text, text) FROM PUBLIC;

-- Whether a request naming a subject is recorded first (erase_subject(), hold()).
CREATE FUNCTION witness._subject_request_to_record() RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_subject_request_to_record' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._subject_request_to_record() IS 'internal: whether an erasure or a hold naming a subject is recorded first in witness.subject_access (every caller but a superuser); refused inside a security-restricted operation';
REVOKE ALL ON FUNCTION witness._subject_request_to_record() FROM PUBLIC;

-- Whether a name or reason is no text at all: empty, or spaces, line breaks, tabs, control characters
-- and (in a UTF-8 database) the other Unicode white space, invisible format characters and fillers
-- (reviews named holds by a tab, a no-break space, a zero-width space, then a Hangul filler, a
-- braille blank, a soft hyphen, a direction mark).
CREATE FUNCTION witness._is_blank(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN t IS NULL THEN NULL
	            WHEN pg_catalog.getdatabaseencoding() = 'UTF8'
	            THEN t !~ '[^[:space:][:cntrl:]\u0085\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]'
	            ELSE t !~ '[^[:space:][:cntrl:]]' END
$$;
COMMENT ON FUNCTION witness._is_blank(text) IS 'internal: whether a name or a reason is empty or white space and invisible spaces only';
REVOKE ALL ON FUNCTION witness._is_blank(text) FROM PUBLIC;

-- A request by a role that is not a superuser is recorded before the erasure looks for anything, in
-- witness.subject_access (format erasure), committed by a record worker whatever happens next: rolled
-- back, or refused by a hold, it would otherwise tell a member of witness_admin, who may not read
-- encrypted values, how many entries a guessed subject has, with no trace of whose (a helper's review).

CREATE FUNCTION witness.erase_subject(subject text, reason text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tids tid[];
	parts oid[];
	ids bigint[];
	format1 bigint;
	new_erasure bigint;
	salt bytea;
	pseudonyms bytea[];
	tampered bigint[]; moved bigint[]; leaves bytea[]; -- (one line: line numbers in error contexts stay)
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	IF subject IS NULL OR subject = '' THEN
		RAISE EXCEPTION 'subject must not be null or empty' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF reason IS NULL OR witness._is_blank(reason) THEN
		RAISE EXCEPTION 'an erasure needs a reason' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example: witness.erase_subject(''customer:42'', ''GDPR Art. 17 request #1234'').';
	END IF;
	IF octet_length(reason) > 1024 THEN
		RAISE EXCEPTION 'reason is too long' USING ERRCODE = 'string_data_right_truncation',
			DETAIL = format('It has %s bytes; at most 1024 are allowed.', octet_length(reason));
	END IF;
	-- Legal holds are checked once the entries to erase are known (witness._check_erasure_allowed).
	PERFORM witness._check_not_collector('erasure'); PERFORM witness._check_capture_complete('cannot erase a data subject'); PERFORM witness._check_subject_readable('cannot erase the subject''s entries'); PERFORM witness._check_utf8(reason, 'reason');
	-- The erased entries' lookup rows lose their keys (witness._lookup_forget_keys()): a statement
	-- that sees the rows lookup maintenance committed meanwhile, which a transaction snapshot would not.
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'witness.erase_subject() runs at isolation level READ COMMITTED only'
			USING ERRCODE = 'active_sql_transaction',
			      DETAIL = 'It must see the lookup rows the sealer commits while it waits for them.',
			      HINT = 'SET default_transaction_isolation = ''read committed'' in this session first.';
	END IF;
	-- One erasure at a time: two would race to update the same entries. (The lookup maintenance lock
	-- is taken later, by witness._lookup_forget_keys(), once the entries are known: taken here, an
	-- erasure under load waited for the maintainer and then took whatever had been captured meanwhile.)
	PERFORM witness._take_mutex('erase_subject'); IF witness._subject_request_to_record() THEN PERFORM witness._record_subject_access(subject, 'erasure', reason); END IF;
	-- Encrypted entries carry the subject's keyed pseudonym instead of the subject: under the current
	-- and the previous master key, and the kept keys of retired ones (a pseudonym stays what it was at
	-- capture).
	pseudonyms := CASE WHEN witness.master_key_id() IS NOT NULL THEN witness._lookup_pseudonyms(subject) END;
	-- A ctid names a row within one partition of witness.entry: tableoid says which (docs/scaling.md).
	-- A payload that no longer matches its commitment is evidence of tampering: the erasure names it, so
	-- that verification goes on reporting it once the payload is gone. So is one that matches what is
	-- stored of the commitment (its first 8 bytes, in clear: a superuser can recompute them) while the
	-- entry no longer gives its leaf hash.
	SELECT array_agg(f.entry_ctid ORDER BY (f.entry).id) FILTER (WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL),
	       array_agg(f.entry_part ORDER BY (f.entry).id) FILTER (WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL),
	       array_agg((f.entry).id ORDER BY (f.entry).id) FILTER (WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL), array_agg(substring((f.entry).leaf_hash FROM 1 FOR 8) ORDER BY (f.entry).id) FILTER (WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL),
	       count(*) FILTER (WHERE (f.entry).format = 1),
	       COALESCE(array_agg((f.entry).id ORDER BY (f.entry).id)
	                FILTER (WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL
	                          AND (witness._payload_verified(f.entry) IS NOT TRUE OR witness._matching_leaf(f.entry) IS NULL)), '{}'),
	       -- UPDATEs that moved a row away from the subject: another subject's entries, or none's.
	       COALESCE(array_agg((f.entry).id ORDER BY (f.entry).id)
	                FILTER (WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL
	                          AND NOT COALESCE((f.entry).subject = subject OR (f.entry).subject_pseudonym = ANY (pseudonyms), false)), '{}')
	INTO tids, parts, ids, leaves, format1, tampered, moved
	FROM witness._subject_entries(subject, pseudonyms) f;
	IF format1 > 0 THEN
		RAISE WARNING '% entries of this subject were captured in format 1 and cannot be erased', format1
			USING DETAIL = 'Their values are covered by their leaf hashes directly (docs/personal-data.md).';
	END IF;
	PERFORM witness._check_erasure_allowed(subject, ids, moved, tids); -- raises when a legal hold covers one of them
	-- The subject only as a salted digest: enough for subject_export() to find this erasure again, not to read it back.
	salt := witness._random_salt();
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.erasure (entry_ids, reason, role_name, subject_salt, subject_digest, tampered_entry_ids, entry_leaves)
	VALUES (COALESCE(ids, '{}'), reason, witness._outer_user(), salt, witness._subject_digest(salt, subject), tampered, COALESCE(leaves, '{}'))
	RETURNING erasure_id INTO new_erasure;
	PERFORM witness._end_internal_ddl();
	-- Entries retention pruned or archived here are out of this erasure's reach, yet a collector's copy
	-- and archive files keep them (an attack review erased a pruned subject: 0 entries here, the
	-- e-mail in clear centrally). Said, since nothing here can find them (docs/personal-data.md).
	IF EXISTS (SELECT FROM witness.retention_run r WHERE r.entries_pruned > 0 AND (r.archives <> '[]' OR EXISTS (SELECT FROM witness.trail_publication))) THEN
		RAISE WARNING 'entries pruned by retention are not erased where copies of them are kept'
			USING DETAIL = 'Retention pruned entries of this trail after archiving them, or after publishing the trail to a collector; the archive files and the central copy keep the entries this database no longer has, and this erasure lists only the entries it has.',
			      HINT = 'Erase the subject from archive files and the central copy by other means (docs/personal-data.md, "What erasure does not remove").';
	END IF; PERFORM witness._warn_orphan_archives(); -- files a crashed run left (one line: line numbers in error contexts stay)
	-- The subject's bindings end with it (docs/personal-data.md, "Bindings at erasure").
	PERFORM witness._unbind_erased_subject(subject, new_erasure);
	IF ids IS NULL THEN
		RETURN 0;
	END IF;
	RETURN witness._move_lookup_places(ids, witness._erase_payloads(tids, parts, ids, new_erasure));
END
$$;
COMMENT ON FUNCTION witness.erase_subject(text, text) IS 'erases the payload (row key, subject, values; sealed or in clear) of every format-2 entry of a data subject, keeping the chain verifiable; records the erasure in the trail and returns how many entries it erased';
REVOKE ALL ON FUNCTION witness.erase_subject(text, text) FROM PUBLIC;

-- witness.verify() and verify_period() count the entries a recorded erasure emptied and the entries retention pruned.
DROP FUNCTION witness.verify_period(timestamptz, timestamptz);
DROP FUNCTION witness.verify(bigint, bigint);
CREATE FUNCTION witness.verify(first_block bigint DEFAULT NULL, last_block bigint DEFAULT NULL)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval,
               entries_erased bigint, entries_unchecked bigint, entries_pruned bigint)
AS 'MODULE_PATHNAME', 'witness_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness.verify(bigint, bigint) IS 'recomputes leaf hashes, block membership, Merkle roots and the chain (whole trail, or blocks first_block..last_block); one row per problem, or one row with status valid; oldest_pending_age: how long the oldest unsealed entry has waited; entries_erased: entries whose payload a recorded erasure removed; entries_unchecked: encrypted payloads whose master key is not configured, so only their header and commitment were checked; entries_pruned: sealed entries a retention run recorded in the chain deleted';
REVOKE ALL ON FUNCTION witness.verify(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION witness.verify_period(since timestamptz, until timestamptz)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval,
               entries_erased bigint, entries_unchecked bigint, entries_pruned bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	first_no bigint;
	last_no bigint;
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF since >= until THEN
		RAISE EXCEPTION 'since must lie before until' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = 'The period is [since, until): the blocks sealed at or after since and before until.';
	END IF;
	SELECT min(b.block_no), max(b.block_no) INTO first_no, last_no FROM witness.block b
	WHERE b.sealed_at >= since AND b.sealed_at < until;
	IF first_no IS NULL THEN
		-- Nothing was checked, so nothing can be called valid.
		RETURN QUERY SELECT 'empty'::text, 0::bigint, 0::bigint, 0::bigint, NULL::text, NULL::bigint, NULL::bigint,
		                    format('no block was sealed between %s and %s', since, until), NULL::interval, 0::bigint, 0::bigint, 0::bigint;
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM witness.verify(first_no, last_no);
END
$$;
COMMENT ON FUNCTION witness.verify_period(timestamptz, timestamptz) IS 'witness.verify() for the blocks sealed in [since, until); status empty when no block was sealed then';
REVOKE ALL ON FUNCTION witness.verify_period(timestamptz, timestamptz) FROM PUBLIC;

-- The readable trail shows each entry's format and, once erased, the erasure that emptied it.
CREATE OR REPLACE VIEW witness.log AS
SELECT e.id, e.xid, e.stmt_time,
       CASE e.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' WHEN 'T' THEN 'TRUNCATE' END AS operation,
       e.schema_name, e.table_name, e.row_key::jsonb AS row_key, e.subject, witness.tag_names(e.tags) AS tags,
       e.old_values::jsonb AS old_values, e.new_values::jsonb AS new_values, e.session_user_name,
       e.current_user_name, e.application_name, e.client_addr, e.client_port, e.backend_pid, e.actor, e.reason,
       e.context::jsonb AS context, e.leaf_hash, e.format, e.erasure_id
FROM witness.entry e;
COMMENT ON VIEW witness.log IS 'the trail with readable operation and tag names, one row per captured change; erasure_id names the erasure that emptied an entry''s payload';

CREATE FUNCTION witness.entry_payload_bytes(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_entry_payload_bytes' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness.entry_payload_bytes(witness.entry) IS 'format 2: the canonical payload bytes an entry''s commitment covers (docs/hashing.md), decrypted for an encrypted entry; NULL for format 1 and for an erased payload';
-- It decrypts with the server's master key: whoever may call it reads every encrypted payload.
REVOKE ALL ON FUNCTION witness.entry_payload_bytes(witness.entry) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Subject access (GDPR Art. 15): every entry about a data subject, with its status and proof
-------------------------------------------------------------------------------

-- One row per call of witness.subject_export(), captured into the trail like witness.erasure: who
-- exported, when, in which format and why. The subject is kept only as a salted digest.
CREATE TABLE witness.subject_access (
	access_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_salt bytea NOT NULL,
	subject_digest bytea NOT NULL,
	format text NOT NULL,
	reason text NOT NULL,
	role_name text NOT NULL,
	accessed_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.subject_access IS 'pg_witness: one row per subject access export (witness.subject_export()); each row is captured into the trail';
COMMENT ON COLUMN witness.subject_access.subject_salt IS '32 random bytes drawn for this export';
COMMENT ON COLUMN witness.subject_access.subject_digest IS 'SHA-256(0x04 || subject_salt || subject as UTF-8): the subject, confirmable by whoever already knows it, not readable';
COMMENT ON COLUMN witness.subject_access.format IS 'json or csv';
COMMENT ON COLUMN witness.subject_access.reason IS 'why, as the caller gave it (argument reason, else the witness.reason setting)';
COMMENT ON COLUMN witness.subject_access.role_name IS 'the role that called witness.subject_export() (after SET ROLE)';
COMMENT ON COLUMN witness.subject_access.accessed_at IS 'when the export ran (its generated_at)';
COMMENT ON SEQUENCE witness.subject_access_access_id_seq IS 'pg_witness subject access ids';
SELECT witness._make_record_table('witness.subject_access', 'access_id');

-- Inclusion proofs, shared by witness.prove() and the subject export: a block's members, its Merkle
-- tree (built once, however many of its entries are proved) and one entry's proof read from it.
CREATE FUNCTION witness._merkle_tree(ids bigint[], leaves bytea[]) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_merkle_tree' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._merkle_tree(bigint[], bytea[]) IS 'internal: the Merkle tree (every node hash) over leaves whose entry ids ascend, for witness._merkle_tree_proof';
CREATE FUNCTION witness._merkle_tree_proof(tree bytea, entry_id bigint, OUT leaf_index integer, OUT tree_size integer,
                                           OUT audit_path bytea[])
AS 'MODULE_PATHNAME', 'witness_merkle_tree_proof' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._merkle_tree_proof(bytea, bigint) IS 'internal: position and RFC 9162 audit path of an entry in a tree of witness._merkle_tree (leaf_index NULL when it is not a member)';

-- In a cluster behind the trail's transaction ids (a restore), the first id of the entries captured
-- here, which the next seal puts into a new era (docs/verification.md, "Transaction-id eras"); NULL
-- when no era is due. Until then they are pending, not members of the old blocks their ids' low
-- transaction ids would place them in.
CREATE FUNCTION witness._due_era_first_id() RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_due_era_first_id' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness._due_era_first_id() IS 'internal: the first entry id of the transaction-id era the next seal will start, NULL when none is due';
REVOKE ALL ON FUNCTION witness._due_era_first_id() FROM PUBLIC;

-- The block whose snapshot first sees transaction x, among the blocks of the era of entry entry_id
-- (witness.era). Within an era each block's snapshot sees every transaction the previous one saw
-- (verify() checks it), so a binary search over the block numbers finds it in O(log blocks) lookups;
-- a missing block (which verify() reports) falls back to trying them in order.
CREATE FUNCTION witness._block_of_xid(x xid8, entry_id bigint) RETURNS witness.block
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	era record;
	lo bigint;
	hi bigint;
	mid bigint;
	s pg_snapshot;
	found_no bigint;
	b witness.block;
BEGIN
	SELECT * INTO era FROM witness._era_bounds(entry_id);
	SELECT min(block_no), max(block_no) INTO lo, hi FROM witness.block
	WHERE block_no >= era.first_block AND block_no < era.end_block;
	IF hi IS NULL OR NOT pg_visible_in_snapshot(x, (SELECT snapshot FROM witness.block WHERE block_no = hi)) THEN
		RETURN NULL; -- not sealed yet
	END IF;
	found_no := hi;
	hi := hi - 1;
	WHILE lo <= hi LOOP
		mid := lo + (hi - lo) / 2;
		SELECT snapshot INTO s FROM witness.block WHERE block_no = mid;
		IF NOT FOUND THEN
			SELECT * INTO b FROM witness.block
			WHERE block_no >= era.first_block AND block_no < era.end_block AND pg_visible_in_snapshot(x, snapshot)
			ORDER BY block_no LIMIT 1;
			RETURN b;
		END IF;
		IF pg_visible_in_snapshot(x, s) THEN
			found_no := mid;
			hi := mid - 1;
		ELSE
			lo := mid + 1;
		END IF;
	END LOOP;
	SELECT * INTO b FROM witness.block WHERE block_no = found_no; IF entry_id > b.last_entry_id AND entry_id >= witness._due_era_first_id() THEN RETURN NULL; END IF;
	RETURN b;
END
$$;
COMMENT ON FUNCTION witness._block_of_xid(xid8, bigint) IS 'internal: the first block of an entry''s transaction-id era whose snapshot sees its transaction (NULL while none does), by binary search';

CREATE FUNCTION witness._ascending_positions(ids bigint[], from_id bigint, to_id bigint) RETURNS integer[]
AS 'MODULE_PATHNAME', 'witness_ascending_positions' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._ascending_positions(bigint[], bigint, bigint) IS 'internal: {first, last}, the ordinals of the ids between from_id and to_id in an ascending array (binary search; the whole array when it does not ascend)';

-- The members of block b in id order: what its Merkle root was computed over (docs/verification.md),
-- those with ids from from_id to to_id only (a chunk of witness.block_chunk; witness._block_members
-- takes the whole block), as witness._member_entries() finds them. For a block retention partly
-- pruned, the kept leaf hashes of its pruned entries (witness.pruned_leaf) stand in for them.
CREATE FUNCTION witness._block_members_in(b witness.block, from_id bigint, to_id bigint, OUT ids bigint[], OUT leaves bytea[])
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	prev_snapshot pg_snapshot := witness._previous_snapshot(b.block_no); -- NULL at an era's first block
BEGIN
	SELECT array_agg(u.id ORDER BY u.id), array_agg(u.leaf ORDER BY u.id) INTO ids, leaves
	FROM (SELECT m.id, witness._sealed_leaf(m) AS leaf FROM witness._member_entries(b, prev_snapshot, from_id, to_id) m
	      UNION ALL
	      -- Only the range of the (ascending) pruned ids that can fall between from_id and to_id is unnested.
	      SELECT k.id, substring(p.leaf_hashes FROM (r.pos[1] + k.o::integer - 2) * 32 + 1 FOR 32)
	      FROM witness.pruned_leaf p
	      CROSS JOIN LATERAL witness._ascending_positions(p.entry_ids, from_id, to_id) AS r(pos) -- once per row of p
	      CROSS JOIN LATERAL unnest(p.entry_ids[array_lower(p.entry_ids, 1) + r.pos[1] - 1 : array_lower(p.entry_ids, 1) + r.pos[2] - 1])
	                         WITH ORDINALITY AS k(id, o)
	      WHERE p.block_no = b.block_no AND NOT p.whole AND r.pos[2] >= r.pos[1] AND k.id BETWEEN from_id AND to_id) u;
END
$$;
COMMENT ON FUNCTION witness._block_members_in(witness.block, bigint, bigint) IS 'internal: ids and leaf hashes of a block''s entries with ids in a range, in id order, the kept leaf hashes of its pruned entries included';

CREATE FUNCTION witness._block_members(b witness.block, OUT ids bigint[], OUT leaves bytea[])
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.ids, m.leaves FROM witness._block_members_in(b, b.first_entry_id, b.last_entry_id) m
$$;
COMMENT ON FUNCTION witness._block_members(witness.block) IS 'internal: ids and leaf hashes of a block''s entries in id order, the kept leaf hashes of its pruned entries included';

CREATE FUNCTION witness._block_tree(b witness.block) RETURNS bytea
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN m.ids IS NOT NULL THEN witness._merkle_tree(m.ids, m.leaves) END FROM witness._block_members(b) m
$$;
COMMENT ON FUNCTION witness._block_tree(witness.block) IS 'internal: the Merkle tree of a block''s entries (NULL for a block without any), to prove any number of them';

-- A block header as JSON, as in exports and proofs. Without a SET clause (its names qualified), so
-- that it is inlined into its callers: the proof of every entry of a subject export includes it.
-- An infinite sealed_at, which the sealer never writes, is given as witness.verify() hashes it: the
-- microseconds wrapped around 64 bits (src/pg/common/trail_catalog.hpp, unix_us_as_hashed), so that
-- the export of a block altered so still loads and witness-verify names the block.
CREATE OR REPLACE FUNCTION witness._block_json(b witness.block) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT pg_catalog.jsonb_build_object('block_no', b.block_no, 'snapshot', b.snapshot::text, 'entry_count', b.entry_count,
	                          'first_entry_id', b.first_entry_id, 'last_entry_id', b.last_entry_id,
	                          'merkle_root', pg_catalog.encode(b.merkle_root, 'hex'), 'prev_hash', pg_catalog.encode(b.prev_hash, 'hex'),
	                          'sealed_at_us', CASE WHEN b.sealed_at OPERATOR(pg_catalog.=) 'infinity'::pg_catalog.timestamptz
	                                                   THEN '-9222425352054775809'::pg_catalog.int8
	                                               WHEN b.sealed_at OPERATOR(pg_catalog.=) '-infinity'::pg_catalog.timestamptz
	                                                   THEN '-9222425352054775808'::pg_catalog.int8
	                                               ELSE (EXTRACT(epoch FROM b.sealed_at) OPERATOR(pg_catalog.*) 1000000)::bigint END,
	                          'block_hash', pg_catalog.encode(b.block_hash, 'hex'))
$$;

-- The proof document of docs/verification.md ("Inclusion proofs"). Without a SET clause, as
-- witness._block_json(): a subject export calls it for every entry.
CREATE FUNCTION witness._proof_document(entry_id bigint, leaf_hash bytea, b witness.block, leaf_index integer,
                                        tree_size integer, audit_path bytea[]) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT pg_catalog.jsonb_build_object(
		'entry_id', entry_id, 'leaf_hash', pg_catalog.encode(leaf_hash, 'hex'), 'block_no', b.block_no,
		'leaf_index', leaf_index, 'tree_size', tree_size,
		'audit_path', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.encode(p, 'hex') ORDER BY o), '[]')
		               FROM pg_catalog.unnest(audit_path) WITH ORDINALITY AS u(p, o)),
		'merkle_root', pg_catalog.encode(b.merkle_root, 'hex'), 'block_hash', pg_catalog.encode(b.block_hash, 'hex'),
		'block_header', witness._block_json(b))
$$;
COMMENT ON FUNCTION witness._proof_document(bigint, bytea, witness.block, integer, integer, bytea[]) IS 'internal: the inclusion proof document of an entry in block b, from its position and audit path';

CREATE FUNCTION witness._entry_proof(entry_id bigint, leaf_hash bytea, b witness.block, tree bytea) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT witness._proof_document(entry_id, leaf_hash, b, t.leaf_index, t.tree_size, t.audit_path)
	FROM witness._merkle_tree_proof(tree, entry_id) t
$$;
COMMENT ON FUNCTION witness._entry_proof(bigint, bytea, witness.block, bytea) IS 'internal: the inclusion proof of an entry in block b, read from the block''s tree (witness._block_tree)';

CREATE OR REPLACE FUNCTION witness.prove(entry_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e witness.entry;
	leaf bytea; -- its full leaf hash, recomputed
	same_id witness.entry[];
	b witness.block;
	c record;
BEGIN
	SELECT array_agg(x) INTO same_id FROM witness.entry x WHERE x.id = entry_id AND witness.entry_visible(x.stmt_time); -- docs/access.md
	IF same_id IS NULL THEN
		RAISE EXCEPTION 'entry % does not exist', entry_id USING ERRCODE = 'no_data_found';
	END IF;
	IF cardinality(same_id) > 1 THEN
		RAISE EXCEPTION 'entry id % appears % times', entry_id, cardinality(same_id)
			USING ERRCODE = 'data_corrupted', HINT = 'Run witness.verify() to see which one was inserted.';
	END IF;
	e := same_id[1];
	-- NULL: an entry in clear stores its commitment's first bytes only, and its payload no longer
	-- reproduces them; nothing reproduces the leaf a proof would prove.
	leaf := witness._matching_leaf(e);
	IF leaf IS NULL THEN
		RAISE EXCEPTION 'entry % does not match its leaf hash', entry_id
			USING ERRCODE = 'data_corrupted', HINT = 'Run witness.verify() to see what was altered.';
	END IF;
	b := witness._block_of_xid(e.xid, e.id);
	IF b.block_no IS NULL THEN
		RAISE EXCEPTION 'entry % is not sealed yet', entry_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Call witness.seal(), or wait for the background sealer.';
	END IF;
	-- A large block: from the entry's chunk alone (witness.block_chunk), when that proof checks.
	c := witness._chunk_proof(b, e.id, leaf);
	IF c.leaf_index IS NOT NULL THEN
		RETURN witness._proof_document(e.id, leaf, b, c.leaf_index, c.tree_size, c.audit_path);
	END IF;
	SELECT t.leaf_index, t.tree_size, t.audit_path INTO c FROM witness._merkle_tree_proof(witness._block_tree(b), e.id) t;
	-- Another member of the block altered: its leaf is not the sealed one, and no path from this
	-- entry leads to the sealed root (docs/hashing.md, "How entries store their leaf hash").
	IF c.leaf_index IS NULL OR NOT witness._proof_checks(leaf, c.leaf_index, c.tree_size, c.audit_path, b.merkle_root) THEN
		RAISE EXCEPTION 'block % no longer gives its sealed Merkle root', b.block_no
			USING ERRCODE = 'data_corrupted',
			      DETAIL = format('No audit path from entry %s leads to it: another entry of the block, or the block, was altered.', e.id),
			      HINT = 'Run witness.verify() to see what was altered.';
	END IF;
	RETURN witness._proof_document(e.id, leaf, b, c.leaf_index, c.tree_size, c.audit_path);
END
$$;

-- The one place the subject export reads an entry's payload (src/pg/access/entry_payload.cpp): row
-- key and values as jsonb, and whether the payload matches its commitment (NULL when erased or of
-- format 1, whose leaf hash covers it). Payloads encrypted at rest will be decrypted here.
CREATE FUNCTION witness._entry_payload(e witness.entry, OUT row_key jsonb, OUT subject text, OUT old_values jsonb,
                                       OUT new_values jsonb, OUT payload_verified boolean, OUT values_omitted boolean)
AS 'MODULE_PATHNAME', 'witness_entry_payload' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION witness._entry_payload(witness.entry) IS 'internal: an entry''s row key, subject and values for the subject export, decrypted when they are stored encrypted, whether its payload matches its commitment, and whether values too long for jsonb (256 MB) were left out';
REVOKE ALL ON FUNCTION witness._entry_payload(witness.entry) FROM PUBLIC;
CREATE FUNCTION witness._entry_key_subject(e witness.entry, OUT row_key jsonb, OUT subject text)
AS 'MODULE_PATHNAME', 'witness_entry_key_subject' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION witness._entry_key_subject(witness.entry) IS 'internal: an entry''s row key and subject as witness._entry_payload() gives them, without its values (what a legal hold''s scope is matched against, also for a value over jsonb''s 256 MB)';
REVOKE ALL ON FUNCTION witness._entry_key_subject(witness.entry) FROM PUBLIC;

CREATE FUNCTION witness._payload_verified(e witness.entry) RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_entry_payload_verified' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION witness._payload_verified(witness.entry) IS 'internal: payload_verified of witness._entry_payload() alone, without reading the values as jsonb (an erasure needs only this, also for a value over jsonb''s 256 MB)';
REVOKE ALL ON FUNCTION witness._payload_verified(witness.entry) FROM PUBLIC;

-- This and the three helpers of the line formats below are called for every entry (every line) of
-- an export: they have no SET clause and name everything schema-qualified, so that the planner
-- inlines them into the caller's query (_utc, _csv_value, _entry_changes) or calls them without
-- changing search_path (_csv_line). With a SET clause each call changed search_path twice, and a
-- set-returning one was parsed and planned again for every entry: a subject's 100,000 entries took
-- 19 s as JSON and 10 s as CSV (docs/performance.md).
CREATE FUNCTION witness._utc(t timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT
AS $$ SELECT pg_catalog.to_char(pg_catalog.timezone('UTC', t), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;
COMMENT ON FUNCTION witness._utc(timestamptz) IS 'internal: a time as ISO 8601 in UTC with microseconds, whatever the session''s TimeZone';

-- The fields an entry carries, with old and new value as the operation has them (old: UPDATE and
-- DELETE; new: INSERT and UPDATE). An UPDATE that moved a row to this subject holds, as the old value
-- of the subject column, what it was before (another subject, or NULL): that old value is withheld.
-- When it named another subject, the row's old values were that subject's data, and every old value
-- of the entry is withheld (docs/personal-data.md, "Subject access"). subject_column names the column
-- the entry's subject came from; NULL when it is not known, and then every field counts as one.
CREATE FUNCTION witness._entry_changes(op "char", subject text, entry_subject text, old_values jsonb, new_values jsonb,
                                       subject_column text)
RETURNS TABLE (field text, has_old boolean, old_value jsonb, has_new boolean, new_value jsonb, old_withheld boolean,
               new_withheld boolean)
LANGUAGE sql IMMUTABLE
AS $$
	SELECT k.field, k.has_old AND NOT k.withheld, CASE WHEN k.has_old AND NOT k.withheld THEN old_values OPERATOR(pg_catalog.->) k.field END,
	       k.has_new AND NOT k.moved_away, CASE WHEN k.has_new AND NOT k.moved_away THEN new_values OPERATOR(pg_catalog.->) k.field END,
	       k.withheld, k.has_new AND k.moved_away
	FROM (SELECT f.field, f.has_old, f.has_new,
	             f.has_old AND (m.from_other OR COALESCE(op OPERATOR(pg_catalog.=) 'U'
	                 AND (subject_column IS NULL OR f.field OPERATOR(pg_catalog.=) subject_column)
	                 AND new_values OPERATOR(pg_catalog.->>) f.field OPERATOR(pg_catalog.=) subject
	                 AND (old_values OPERATOR(pg_catalog.->>) f.field IS NULL
	                      OR old_values OPERATOR(pg_catalog.->>) f.field OPERATOR(pg_catalog.<>) subject), false)) AS withheld,
	             -- The entry is another subject's (or no subject's): an UPDATE that moved the row away from
	             -- this one. Its new values are the row's after the move.
	             entry_subject IS DISTINCT FROM subject AS moved_away
	      FROM (SELECT g.field, op OPERATOR(pg_catalog.=) 'U' OR op OPERATOR(pg_catalog.=) 'D' AS has_old,
	                   op OPERATOR(pg_catalog.=) 'I' OR op OPERATOR(pg_catalog.=) 'U' AS has_new
	            FROM (SELECT pg_catalog.jsonb_object_keys(COALESCE(old_values, '{}') OPERATOR(pg_catalog.||) COALESCE(new_values, '{}')) AS field) g) f,
	           -- A subject column that is this subject now and named another one before: the row moved here.
	           (SELECT COALESCE(pg_catalog.bool_or(op OPERATOR(pg_catalog.=) 'U'
	                       AND new_values OPERATOR(pg_catalog.->>) n.field OPERATOR(pg_catalog.=) subject
	                       AND old_values OPERATOR(pg_catalog.->>) n.field OPERATOR(pg_catalog.<>) subject), false) AS from_other
	            FROM (SELECT pg_catalog.jsonb_object_keys(COALESCE(new_values, '{}')) AS field) n
	            WHERE subject_column IS NULL OR n.field OPERATOR(pg_catalog.=) subject_column) m) k
	ORDER BY k.field COLLATE "C"
$$;
COMMENT ON FUNCTION witness._entry_changes("char", text, text, jsonb, jsonb, text) IS 'internal: an entry''s fields with old and new values for the subject export; the old value of the subject column that named another subject is withheld, and then every old value of the entry (they were that subject''s data); every new value of an entry that moved the row away from the subject is withheld';

-- RFC 4180: a field with a comma, a double quote, CR or LF is quoted, its double quotes doubled. NULL
-- is an empty field; an empty string is quoted ("") to tell it from NULL.
-- A field a spreadsheet would take for a formula (=, +, -, @, tab or carriage return first, and not a
-- number) gets a ' before it, and so does one that starts with ' (so that dropping one leading ' gives
-- every value back): an attack review set witness.actor to a =HYPERLINK(...) formula that leaked the
-- neighbouring cells of a compliance officer's spreadsheet.
CREATE FUNCTION witness._csv_line(fields text[]) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT pg_catalog.string_agg(CASE WHEN g IS NULL THEN ''
	                                  WHEN g OPERATOR(pg_catalog.=) '' OR pg_catalog.strpos(g, ',') OPERATOR(pg_catalog.>) 0
	                                       OR pg_catalog.strpos(g, '"') OPERATOR(pg_catalog.>) 0
	                                       OR pg_catalog.strpos(g, pg_catalog.chr(13)) OPERATOR(pg_catalog.>) 0
	                                       OR pg_catalog.strpos(g, pg_catalog.chr(10)) OPERATOR(pg_catalog.>) 0
	                                  THEN '"' OPERATOR(pg_catalog.||) pg_catalog.replace(g, '"', '""') OPERATOR(pg_catalog.||) '"'
	                                  ELSE g END, ',' ORDER BY i)
	FROM pg_catalog.unnest(fields) WITH ORDINALITY AS u(f, i),
	     LATERAL (SELECT CASE WHEN pg_catalog."left"(f, 1) OPERATOR(pg_catalog.=) ANY (ARRAY['=', '+', '-', '@', '''', pg_catalog.chr(9), pg_catalog.chr(13)])
	                               AND f OPERATOR(pg_catalog.!~) '^[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
	                          THEN '''' OPERATOR(pg_catalog.||) f ELSE f END) AS n(g)
$$;
COMMENT ON FUNCTION witness._csv_line(text[]) IS 'internal: one CSV record (RFC 4180) of the given fields, without its line break; a field a spreadsheet would run as a formula, or that starts with '', gets a '' before it';

-- A JSON value as a CSV field: a string as its text, null as NULL, anything else as JSON.
CREATE FUNCTION witness._csv_value(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN pg_catalog.jsonb_typeof(v) OPERATOR(pg_catalog.=) 'string' THEN v OPERATOR(pg_catalog.#>>) '{}'::text[]
                  WHEN pg_catalog.jsonb_typeof(v) OPERATOR(pg_catalog.=) 'null' THEN NULL ELSE v::text END $$;
COMMENT ON FUNCTION witness._csv_value(jsonb) IS 'internal: a JSON value as a CSV field of the subject export';

-- A subject is found by the exact text of its column's value (its export, erasure and pseudonym). For
-- types whose equal values have other texts, or whose text is not what a caller would type, that
-- match misses entries without a word: refused, with the way out (docs/personal-data.md).
CREATE FUNCTION witness._check_subject_type(target regclass, subject_column text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	typ oid;
	coll oid;
	why text;
BEGIN
	SELECT a.atttypid, a.attcollation INTO typ, coll FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = target AND a.attname = subject_column AND NOT a.attisdropped;
	-- A domain is judged by the type it is over.
	WHILE (SELECT t.typtype FROM pg_catalog.pg_type t WHERE t.oid = typ) = 'd' LOOP
		typ := (SELECT t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid = typ);
	END LOOP;
	why := CASE
		-- A nondeterministic collation makes text behave as citext does (a review's case-insensitive ICU one).
		WHEN (SELECT NOT c.collisdeterministic FROM pg_catalog.pg_collation c WHERE c.oid = coll)
			THEN format('its collation %s compares texts that differ as equal, but a subject is matched by its exact text', coll::pg_catalog.regcollation)
		WHEN typ = 'pg_catalog.bpchar'::pg_catalog.regtype THEN 'character(n) values are padded with spaces, which a subject given without them does not match'
		WHEN typ IN ('pg_catalog.float4'::pg_catalog.regtype, 'pg_catalog.float8'::pg_catalog.regtype, 'pg_catalog.numeric'::pg_catalog.regtype, 'pg_catalog.money'::pg_catalog.regtype)
			THEN 'equal numbers of this type can be written in more than one way (1, 1.0, 1e0), and only one of them matches'
		WHEN typ IN ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype) THEN 'equal JSON values can be written in more than one way'
		WHEN (SELECT t.typname FROM pg_catalog.pg_type t WHERE t.oid = typ) = 'citext' THEN 'citext compares without case, but a subject is matched by its exact text'
		-- What remains is an allowlist: an attack review retyped the column to bytea (the application's
		-- text literals still fit, but the captured subject became their hex form), text[] and name.
		WHEN typ NOT IN ('pg_catalog.text'::pg_catalog.regtype, 'pg_catalog.varchar'::pg_catalog.regtype,
		                 'pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
		                 'pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.uuid'::pg_catalog.regtype)
			THEN 'only text, varchar, smallint, integer, bigint and uuid values print as the text an application wrote'
	END;
	IF why IS NOT NULL THEN
		RAISE EXCEPTION 'subject column "%" of % cannot be of type %', subject_column, target, pg_catalog.format_type(typ, NULL)
			USING ERRCODE = 'datatype_mismatch',
			      DETAIL = 'A data subject is found by the exact text of this column''s value: ' || why || '.',
			      HINT = format('Name as the subject column one that holds a single text per subject, such as ALTER TABLE %s ADD COLUMN subject_key text GENERATED ALWAYS AS (%s) STORED.',
			                    target, format(CASE WHEN typ = 'pg_catalog.bpchar'::pg_catalog.regtype THEN 'rtrim(%I)'
			                                        WHEN typ IN ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype) THEN '%I ->> ''email'''
			                                        WHEN why LIKE 'citext%%' THEN 'lower(%I::text)'
			                                        WHEN why LIKE 'its collation %%' THEN '%I COLLATE "C"'
			                                        WHEN typ = 'pg_catalog.bytea'::pg_catalog.regtype THEN 'convert_from(%I, ''UTF8'')'
			                                        WHEN why LIKE 'only %%' THEN '%I::text'
			                                        ELSE 'trim_scale(%I::numeric)::text' END, subject_column));
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_subject_type(regclass, text) IS 'internal: refuses a subject column whose values a subject''s exact text would miss (any type but text, varchar, smallint, integer, bigint and uuid, or a domain over one; a nondeterministic collation)';
REVOKE ALL ON FUNCTION witness._check_subject_type(regclass, text) FROM PUBLIC;

-- Columns named in a table's configuration follow renames and leave it when dropped
-- (pg_witness--0.1.sql), but the subject column and the key columns may not be dropped: an attack
-- review, as the table's owner, dropped the subject column and renamed a bytea copy to its name, and
-- every later entry had no subject (the retype to bytea itself is refused, _check_subject_type());
-- the same with the key column left every later entry without a row key. track() changes them.
CREATE OR REPLACE FUNCTION witness._follow_column_changes(target regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg witness.tracked_table;
	g text;
	renamed_to text;
	renamed boolean := false;
	dropped text[] := '{}';
BEGIN
	SELECT * INTO cfg FROM witness.tracked_table WHERE relid = target;
	-- A name leaves the configuration only when no captured relation of the table has it any more:
	-- after ALTER TABLE ONLY ... DROP COLUMN, children keep the column, and an excluded one must stay
	-- excluded there.
	FOR g IN SELECT n FROM unnest(witness._configured_columns(cfg)) n
	         WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = n
	                                                       AND a.attnum > 0 AND NOT a.attisdropped)
	           AND NOT EXISTS (SELECT FROM witness._inheritance_descendants(target) d
	                           JOIN pg_attribute a ON a.attrelid = d.relid
	                           WHERE a.attname = n AND a.attnum > 0 AND NOT a.attisdropped) LOOP
		SELECT a.attname INTO renamed_to FROM pg_attribute a
		WHERE a.attrelid = target AND a.attnum = (cfg.column_attnums ->> g)::int2 AND NOT a.attisdropped;
		IF renamed_to IS NOT NULL THEN
			renamed := true;
			UPDATE witness.tracked_table
			SET exclude_columns = array_replace(exclude_columns, g, renamed_to),
			    column_tags = CASE WHEN column_tags ? g
			                       THEN (column_tags - g) || jsonb_build_object(renamed_to, column_tags -> g)
			                       ELSE column_tags END,
			    key_columns = array_replace(key_columns, g, renamed_to),
			    subject_column = CASE WHEN subject_column = g THEN renamed_to ELSE subject_column END,
			    column_attnums = (column_attnums - g) || jsonb_build_object(renamed_to, column_attnums -> g)
			WHERE relid = target;
		ELSE
			dropped := dropped || g;
		END IF;
	END LOOP;
	-- The subject column or a key column gone from the table itself, not renamed, is refused while the
	-- table still exists (a dropped table leaves its configuration by itself); also when children keep
	-- the column (ALTER TABLE ONLY: the review of the refusal then gave the parent a bytea column).
	g := (SELECT n FROM unnest(ARRAY[cfg.subject_column] || COALESCE(cfg.key_columns, '{}')) n
	      WHERE n IS NOT NULL
	        AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = n
	                                                    AND a.attnum > 0 AND NOT a.attisdropped)
	        AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target
	                                                    AND a.attnum = (cfg.column_attnums ->> n)::int2 AND NOT a.attisdropped)
	      LIMIT 1);
	IF g IS NOT NULL AND EXISTS (SELECT FROM pg_class c WHERE c.oid = target) THEN
		RAISE EXCEPTION 'cannot drop column "%" of %: pg_witness identifies its %', g, target,
		                CASE WHEN g = cfg.subject_column THEN 'data subjects by it' ELSE 'rows by it' END
			USING ERRCODE = 'object_in_use',
			      DETAIL = CASE WHEN g = cfg.subject_column
			                    THEN 'Entries captured after it would carry no subject: subject access and erasure would miss them, whatever column took its name.'
			                    ELSE 'Entries captured after it would carry no row key: a row''s history would lose them.' END,
			      HINT = format('Track the table again first with %s (witness.track(%L, ...)), then drop the column.',
			                    CASE WHEN g = cfg.subject_column THEN 'another subject_column, or none' ELSE 'other key_columns' END, target::text);
	END IF;
	IF cardinality(dropped) > 0 THEN
		UPDATE witness.tracked_table
		SET exclude_columns = ARRAY(SELECT c FROM unnest(exclude_columns) c WHERE NOT c = ANY (dropped)),
		    column_tags = column_tags - dropped,
		    key_columns = NULLIF(ARRAY(SELECT c FROM unnest(key_columns) c WHERE NOT c = ANY (dropped)), '{}'),
		    subject_column = CASE WHEN subject_column = ANY (dropped) THEN NULL ELSE subject_column END,
		    column_attnums = column_attnums - dropped
		WHERE relid = target;
		RAISE NOTICE 'dropped columns % of % were removed from its pg_witness configuration', dropped, target;
	END IF;
	SELECT * INTO cfg FROM witness.tracked_table WHERE relid = target;
	IF renamed OR cardinality(dropped) > 0 THEN
		PERFORM witness._invalidate(target);
	END IF;
	IF cfg.column_attnums IS DISTINCT FROM witness._column_attnums(target, witness._configured_columns(cfg)) THEN
		UPDATE witness.tracked_table SET column_attnums = witness._column_attnums(target, witness._configured_columns(cfg))
		WHERE relid = target;
		PERFORM witness._invalidate(target);
	END IF;
END
$$;
COMMENT ON FUNCTION witness._follow_column_changes(regclass) IS 'internal: keeps column names in the configuration in step with renamed and dropped columns, and refuses dropping the subject column or a key column';

-- The lines of one export, all read with one snapshot (the function is STABLE). Every entry whose
-- subject is the given one, found by witness._subject_entries(), and every entry emptied by an
-- erasure whose salted digest matches the subject, found through witness.entry_erasure; in id
-- (capture) order. Memory: the rows pass through tuplestores, which spill to disk beyond work_mem,
-- plus the Merkle tree of one block at a time for the proofs (JSON only).
CREATE FUNCTION witness._subject_export_lines(for_subject text, format text, access_id bigint, generated_at timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- Encrypted entries carry the subject's keyed pseudonym instead of the subject.
	pseudonyms bytea[] := CASE WHEN witness.master_key_id() IS NOT NULL THEN witness._lookup_pseudonyms(for_subject) END;
	erasures bigint[];
	r record;
	e witness.entry;
	p record;
	c record;
	leaf_ok boolean;
	leaf bytea; -- the entry's full leaf hash, when its content matches what it stores of it
	verified boolean;
	problem text;
	status text;
	op_name text;
	table_name text;
	stmt_time text;
	b witness.block;
	prev_snapshot pg_snapshot;
	b_era_first bigint := 0; -- the entry ids of b's transaction-id era (witness.era)
	b_era_next bigint := 0;
	tree bytea;
	tree_block bigint;
	chunk_block bigint;
	cp record;
	proof jsonb;
	changes json;
	note text;
	lines integer;
	started boolean := false;
	shown_key jsonb;
	malformed text; -- what pg_witness cannot have written about the entry, NULL for nothing
	subject_col text; -- the column an UPDATE entry's subject came from, when known
BEGIN
	SELECT array_agg(x.erasure_id) INTO erasures FROM witness.erasure x
	WHERE x.subject_digest = witness._subject_digest(x.subject_salt, for_subject);
	IF format = 'csv' THEN
		RETURN NEXT witness._csv_line(ARRAY['entry_id', 'time', 'table', 'operation', 'row_key', 'field', 'old_value',
		                                    'new_value', 'actor', 'reason', 'status', 'block_no', 'verified', 'note']);
	END IF;
	FOR r IN
		WITH found AS (
			-- Entries erased by this subject's erasures are the third part's (an erased entry in clear
			-- has no subject any more; an encrypted one keeps its pseudonym).
			-- An entry of this subject that another subject's erasure emptied (it moved a row from that
			-- subject to this one, docs/personal-data.md) is erased here too, when that erasure lists it.
			SELECT s.entry AS m, x.erasure_id, x.erased_at
			FROM witness._subject_entries(for_subject, pseudonyms) s
			LEFT JOIN witness.erasure x ON x.erasure_id = (s.entry).erasure_id AND (s.entry).id = ANY (x.entry_ids)
			WHERE (s.entry).erasure_id IS NULL OR (s.entry).erasure_id <> ALL (COALESCE(erasures, '{}'))
			UNION ALL
			-- Read where their lookup rows say (the erasure told them where it wrote them).
			SELECT byid.entry, x.erasure_id, x.erased_at
			FROM witness.erasure x
			-- Within their statement times when the lookup table holds them all (a ctid is probed in every
			-- partition the bounds leave); entries erased while pending have no lookup row yet.
			CROSS JOIN LATERAL (SELECT array_agg(k.entry_tid) AS tids, count(*) AS n, min(k.stmt_time) AS lo, max(k.stmt_time) AS hi
			                    FROM witness.entry_lookup k WHERE k.id = ANY (x.entry_ids)) placed
			CROSS JOIN LATERAL witness._entries_at(x.entry_ids, placed.tids,
			                                       CASE WHEN placed.n = cardinality(x.entry_ids) THEN placed.lo END,
			                                       CASE WHEN placed.n = cardinality(x.entry_ids) THEN placed.hi END) byid
			WHERE x.erasure_id = ANY (erasures) AND (byid.entry).erasure_id = x.erasure_id AND (byid.entry).subject IS NULL
		)
		-- A time-limited auditor sees only the entries of its period (docs/access.md).
		SELECT f.m, f.erasure_id, f.erased_at, count(*) OVER () AS total FROM found f
		WHERE witness.entry_visible((f.m).stmt_time) ORDER BY (f.m).id
	LOOP
		e := r.m;
		IF NOT started AND format = 'json' THEN
			RETURN NEXT json_build_object('export', 'pg_witness subject access', 'version', 1, 'subject', for_subject,
			                              'generated_at', witness._utc(generated_at), 'entries', r.total,
			                              'access_id', access_id, 'database', witness.database_id())::text;
		END IF;
		started := true;
		-- An entry pg_witness cannot have written (an operation or canonical format it does not know,
		-- values that are not JSON objects) is listed as not verified, with what is wrong, rather than
		-- failing the whole export: one row written behind the trail's guard must not withhold the rest.
		malformed := CASE WHEN e.op NOT IN ('I', 'U', 'D', 'T') THEN format('an unknown operation %L', e.op)
		                  WHEN e.format NOT IN (1, 2) THEN format('an unknown canonical format %s', e.format) END;
		IF malformed IS NULL THEN
			p := witness._entry_payload(e);
			IF pg_catalog.jsonb_typeof(p.old_values) <> 'object' OR pg_catalog.jsonb_typeof(p.new_values) <> 'object'
			   OR pg_catalog.jsonb_typeof(p.row_key) <> 'object' THEN
				malformed := 'values that are not JSON objects';
			END IF;
		ELSE
			SELECT NULL::jsonb AS row_key, NULL::text AS subject, NULL::jsonb AS old_values, NULL::jsonb AS new_values,
			       NULL::boolean AS payload_verified, false AS values_omitted INTO p;
		END IF;
		IF malformed IS NOT NULL THEN
			p.old_values := NULL;
			p.new_values := NULL;
			p.row_key := NULL;
		END IF;
		-- Which field held the subject decides what an UPDATE that moved the row withholds.
		subject_col := CASE WHEN e.op = 'U' AND malformed IS NULL THEN witness._entry_subject_column(e, p.subject, p.new_values) END;
		-- An UPDATE that moved the row away from this subject: when it changed a key column too, the row
		-- key it records is the row's after the move, the other subject's (or none's) data, and the export
		-- shows the key the row had while it was this subject's.
		shown_key := p.row_key;
		IF e.op = 'U' AND p.subject IS DISTINCT FROM for_subject AND p.row_key IS NOT NULL AND p.old_values IS NOT NULL THEN
			shown_key := COALESCE(witness._old_row_key(p.row_key::json, p.old_values::json)::jsonb, p.row_key);
		END IF;
		IF malformed IS NULL THEN
			leaf := witness._matching_leaf(e);
			-- NULL where the content cannot be hashed (a payload that no longer reproduces its commitment):
			-- the payload's own check then names the problem.
			leaf_ok := CASE WHEN leaf IS NOT NULL THEN true WHEN witness.entry_leaf_hash(e) IS NULL THEN NULL ELSE false END;
		ELSE
			leaf := NULL;
			leaf_ok := false;
		END IF;
		-- The block: the previous entry's, when it is this one's too, else a binary search.
		IF b.block_no IS NULL OR NOT pg_visible_in_snapshot(e.xid, b.snapshot)
		   OR (prev_snapshot IS NOT NULL AND pg_visible_in_snapshot(e.xid, prev_snapshot))
		   OR e.id < b_era_first OR e.id >= b_era_next OR NOT COALESCE(e.id BETWEEN b.first_entry_id AND b.last_entry_id, false) THEN
			b := witness._block_of_xid(e.xid, e.id);
			prev_snapshot := NULL;
			IF b.block_no IS NOT NULL THEN
				prev_snapshot := witness._previous_snapshot(b.block_no);
				SELECT x.first_id, x.next_first_id INTO b_era_first, b_era_next FROM witness._era_bounds(e.id) x;
			END IF;
		END IF;
		problem := NULL;
		IF r.erasure_id IS NOT NULL THEN
			status := 'erased';
			verified := leaf_ok AND p.payload_verified IS NULL;
			IF malformed IS NOT NULL THEN
				problem := 'the entry has ' || malformed;
			ELSIF NOT leaf_ok THEN
				problem := 'the entry does not match its leaf hash';
			ELSIF NOT verified THEN
				problem := 'the entry holds a payload although it was erased';
			END IF;
		ELSE
			status := CASE WHEN b.block_no IS NULL THEN 'pending' ELSE 'sealed' END;
			verified := leaf_ok AND COALESCE(p.payload_verified, e.format = 1);
			IF malformed IS NOT NULL THEN
				problem := 'the entry has ' || malformed;
			ELSIF NOT leaf_ok THEN
				problem := 'the entry does not match its leaf hash';
			ELSIF NOT verified THEN
				problem := 'the payload does not match its commitment';
			END IF;
			-- Values longer than jsonb holds (256 MB) or nested too deep for its input (both of which a role
			-- with INSERT could write to make the whole export fail): the entry is listed, verified, without them.
			IF p.values_omitted THEN
				problem := concat_ws('; ', problem, 'values longer than 256 MB or nested too deeply are not shown');
			END IF;
		END IF;
		op_name := CASE e.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' WHEN 'T' THEN 'TRUNCATE' ELSE e.op::text END;
		table_name := format('%I.%I', e.schema_name, e.table_name);
		stmt_time := witness._utc(e.stmt_time);
		IF format = 'json' THEN
			proof := NULL;
			IF b.block_no IS NOT NULL AND leaf_ok THEN
				-- The first entry met in a large block is proved from its chunk (witness.block_chunk), as
				-- witness.prove() does; a second one of the same block builds the block's whole tree,
				-- which then proves any number of them. A subject with one entry in each of many large
				-- blocks reads a chunk of each, not each whole block.
				IF tree_block IS DISTINCT FROM b.block_no AND chunk_block IS DISTINCT FROM b.block_no THEN
					chunk_block := b.block_no;
					cp := witness._chunk_proof(b, e.id, leaf);
					IF cp.leaf_index IS NOT NULL THEN
						proof := witness._proof_document(e.id, leaf, b, cp.leaf_index, cp.tree_size, cp.audit_path);
					END IF;
				END IF;
				IF proof IS NULL THEN
					IF tree_block IS DISTINCT FROM b.block_no THEN
						tree := witness._block_tree(b);
						tree_block := b.block_no;
					END IF;
					-- Two plain calls rather than witness._entry_proof(): a function called inside another
					-- SQL function's query is parsed again at every call.
					SELECT t.leaf_index, t.tree_size, t.audit_path INTO cp FROM witness._merkle_tree_proof(tree, e.id) t;
					-- No proof from a block whose members no longer give its sealed root.
					IF cp.leaf_index IS NOT NULL AND witness._proof_checks(leaf, cp.leaf_index, cp.tree_size, cp.audit_path, b.merkle_root) THEN
						proof := witness._proof_document(e.id, leaf, b, cp.leaf_index, cp.tree_size, cp.audit_path);
					ELSE
						verified := false;
						problem := concat_ws('; ', problem, 'its block no longer gives its sealed Merkle root');
					END IF;
				END IF;
			END IF;
			changes := NULL;
			IF r.erasure_id IS NULL THEN
				SELECT COALESCE(json_agg(CASE WHEN x.old_withheld AND x.new_withheld THEN json_build_object('field', x.field, 'old_withheld', true, 'new_withheld', true)
				                              WHEN x.old_withheld THEN json_build_object('field', x.field, 'old_withheld', true, 'new', x.new_value)
				                              WHEN x.new_withheld THEN json_build_object('field', x.field, 'old', x.old_value, 'new_withheld', true)
				                              WHEN x.has_old AND x.has_new THEN json_build_object('field', x.field, 'old', x.old_value, 'new', x.new_value)
				                              WHEN x.has_old THEN json_build_object('field', x.field, 'old', x.old_value)
				                              ELSE json_build_object('field', x.field, 'new', x.new_value) END
				                         ORDER BY x.field COLLATE "C"), '[]')
				INTO changes
				FROM witness._entry_changes(e.op, for_subject, p.subject, p.old_values, p.new_values, subject_col) AS x;
			END IF;
			-- Every entry line has the same members, in this order (docs/personal-data.md).
			RETURN NEXT json_build_object('entry_id', e.id, 'time', stmt_time, 'table', table_name, 'operation', op_name,
			                              'row_key', shown_key, 'changes', changes, 'actor', e.actor, 'reason', e.reason,
			                              'status', status, 'block_no', b.block_no, 'verified', verified, 'problem', problem,
			                              'erasure', CASE WHEN r.erasure_id IS NOT NULL
			                                              THEN json_build_object('erasure_id', r.erasure_id,
			                                                                     'erased_at', witness._utc(r.erased_at)) END,
			                              'proof', proof)::text;
		ELSE
			lines := 0;
			IF r.erasure_id IS NULL THEN
				FOR c IN SELECT * FROM witness._entry_changes(e.op, for_subject, p.subject, p.old_values, p.new_values, subject_col) LOOP
					note := concat_ws('; ', problem, CASE WHEN c.old_withheld THEN 'old value withheld: it names or belongs to another subject' END,
					                  CASE WHEN c.new_withheld THEN 'new value withheld: the row moved to another subject or to none' END);
					RETURN NEXT witness._csv_line(ARRAY[e.id::text, stmt_time, table_name, op_name, shown_key::text, c.field,
					                                    witness._csv_value(c.old_value), witness._csv_value(c.new_value),
					                                    e.actor, e.reason, status, b.block_no::text, verified::text,
					                                    NULLIF(note, '')]);
					lines := lines + 1;
				END LOOP;
			END IF;
			IF lines = 0 THEN
				note := concat_ws('; ', problem, CASE WHEN r.erasure_id IS NOT NULL
				                                      THEN format('payload erased by erasure %s at %s', r.erasure_id, witness._utc(r.erased_at)) END);
				RETURN NEXT witness._csv_line(ARRAY[e.id::text, stmt_time, table_name, op_name, shown_key::text, NULL, NULL, NULL,
				                                    e.actor, e.reason, status, b.block_no::text, verified::text, NULLIF(note, '')]);
			END IF;
		END IF;
	END LOOP;
	IF NOT started AND format = 'json' THEN
		RETURN NEXT json_build_object('export', 'pg_witness subject access', 'version', 1, 'subject', for_subject,
		                              'generated_at', witness._utc(generated_at), 'entries', 0,
		                              'access_id', access_id, 'database', witness.database_id())::text;
	END IF;
END
$$;
COMMENT ON FUNCTION witness._subject_export_lines(text, text, bigint, timestamptz) IS 'internal: the lines of a subject access export (witness.subject_export)';
REVOKE ALL ON FUNCTION witness._subject_export_lines(text, text, bigint, timestamptz) FROM PUBLIC;

-- The record of an export, committed by a background worker before the export's first line
-- (src/pg/common/autonomous_record.cpp): a rollback, a cancel or an error of the caller's transaction
-- cannot take it back. The subject reaches the worker only as a salted digest.
CREATE FUNCTION witness._record_subject_access(subject text, format text, reason text,
                                               OUT access_id bigint, OUT accessed_at timestamptz)
AS 'MODULE_PATHNAME', 'witness_record_subject_access' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._record_subject_access(text, text, text) IS 'internal: records a subject access export in witness.subject_access, committed by a background worker whatever the calling transaction does next (docs/personal-data.md)';
REVOKE ALL ON FUNCTION witness._record_subject_access(text, text, text) FROM PUBLIC;

CREATE FUNCTION witness.subject_export(subject text, format text DEFAULT 'json', reason text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fmt text := lower(btrim(format));
	why text := CASE WHEN NOT witness._is_blank(reason) THEN reason
	                 WHEN NOT witness._is_blank(current_setting('witness.reason', true)) THEN current_setting('witness.reason', true) END;
	rec record;
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	IF subject IS NULL OR subject = '' THEN
		RAISE EXCEPTION 'subject must not be null or empty' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF fmt IS NULL OR fmt NOT IN ('json', 'csv') THEN
		RAISE EXCEPTION 'unknown export format "%"', COALESCE(format, 'NULL') USING ERRCODE = 'invalid_parameter_value',
			HINT = 'The format is json (JSON lines) or csv.';
	END IF;
	IF why IS NULL THEN
		RAISE EXCEPTION 'a subject access export needs a reason' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Pass it as the third argument, for example witness.subject_export(''customer:42'', ''json'', ''GDPR Art. 15 request #1234''), or SET witness.reason.';
	END IF;
	IF octet_length(why) > 1024 THEN
		RAISE EXCEPTION 'reason is too long' USING ERRCODE = 'string_data_right_truncation',
			DETAIL = format('It has %s bytes; at most 1024 are allowed.', octet_length(why));
	END IF;
	-- Before anything reads the trail: a standby would look up a subject by a scan of it.
	IF pg_catalog.pg_is_in_recovery() THEN
		RAISE EXCEPTION 'cannot export a subject''s data on a hot standby' USING ERRCODE = 'read_only_sql_transaction',
			DETAIL = 'Every export is recorded in the trail before its first line, and only the primary can write it.',
			HINT = 'Run it on the primary.';
	END IF;
	PERFORM witness._check_subject_readable('cannot export the subject''s entries');
	IF pg_catalog.current_setting('transaction_read_only')::boolean THEN
		RAISE EXCEPTION 'cannot export a subject''s data in a read-only transaction' USING ERRCODE = 'read_only_sql_transaction',
			DETAIL = 'Every export is recorded in the trail, and pg_witness writes nothing on behalf of a transaction declared read-only.',
			HINT = 'Run it in a read-write transaction, on the primary.';
	END IF;
	-- Recorded first, and committed at once by a transaction of its own: no export is returned
	-- without a record, and nothing the caller does afterwards (rollback, cancel, error) removes it.
	SELECT r.access_id, r.accessed_at INTO STRICT rec FROM witness._record_subject_access(subject, fmt, why) AS r;
	RETURN QUERY SELECT * FROM witness._subject_export_lines(subject, fmt, rec.access_id, rec.accessed_at);
END
$$;
COMMENT ON FUNCTION witness.subject_export(text, text, text) IS 'subject access (GDPR Art. 15): every entry about a data subject, oldest first, with its changes, status (sealed in block N, pending or erased), verification and (json) inclusion proof; json gives JSON lines after a describing first line, csv RFC 4180 records after a header; the export is recorded in witness.subject_access and so in the trail, committed before its first line whatever the calling transaction does next';
REVOKE ALL ON FUNCTION witness.subject_export(text, text, text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Encryption at rest (docs/personal-data.md): payloads of subject-bearing tables sealed under
-- per-subject keys derived from a master key held in a file, never in a table
-------------------------------------------------------------------------------

ALTER TABLE witness.tracked_table ADD COLUMN encrypt boolean NOT NULL DEFAULT false;
-- Reads of the table recorded in witness.activity (docs/activity.md, "Sensitive reads").
ALTER TABLE witness.tracked_table ADD COLUMN capture_reads boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN witness.tracked_table.encrypt IS 'whether the payloads of this table''s entries are stored encrypted (witness.track(..., encrypt))';
COMMENT ON COLUMN witness.tracked_table.capture_reads IS 'whether every statement that reads this table is recorded in witness.activity (witness.track(..., capture_reads))';
-- Which entries a configuration describes (docs/access.md, "Which configuration masks an entry"):
-- those under its present names that are newer than names_since, the last entry id taken before the
-- table was tracked, renamed, or had a configured column renamed or dropped. Older entries, and those
-- of the names in former_names, are masked whole by witness.log when anything classifies them.
ALTER TABLE witness.tracked_table ADD COLUMN names_since bigint NOT NULL DEFAULT 0;
ALTER TABLE witness.tracked_table ADD COLUMN former_names jsonb NOT NULL DEFAULT '[]';
COMMENT ON COLUMN witness.tracked_table.names_since IS 'the last entry id taken before the table got its present schema, table and column names (tracked, renamed, a configured column renamed or dropped): the column tags describe the entries after it';
COMMENT ON COLUMN witness.tracked_table.former_names IS 'the names the table was tracked under before, as [schema, table] pairs, oldest first: entries under them are masked whole when this configuration classifies anything';

-- Entry ids (docs/capture.md, "Entry ids"): the capture hands them out from a counter per database in
-- shared memory and takes a run of 1024 from the sequence at a time (one nextval() reserves ids
-- nextval .. nextval + 1023), instead of a nextval() per entry.
ALTER SEQUENCE witness.entry_id_seq INCREMENT BY 1024;
COMMENT ON SEQUENCE witness.entry_id_seq IS 'pg_witness entry ids: each nextval() reserves a run of as many ids as the increment, which the capture hands out from one counter per database in shared memory, in the order of capture (gaps are normal)';

CREATE FUNCTION witness._allocated_entry_id() RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_allocated_entry_id' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._allocated_entry_id() IS 'internal: the last entry id the shared counter of this database handed out; NULL when it has not reserved ids since the server started';

-- The last entry id handed out so far: every id handed out later is larger. Without the shared
-- counter's word, the end of the run the sequence reserved last.
CREATE FUNCTION witness._last_entry_id() RETURNS bigint
LANGUAGE sql VOLATILE
AS $$
	SELECT COALESCE(witness._allocated_entry_id(),
	                (SELECT CASE WHEN s.is_called THEN s.last_value + q.seqincrement - 1 ELSE s.last_value - 1 END
	                 FROM witness.entry_id_seq s, pg_catalog.pg_sequence q
	                 WHERE q.seqrelid OPERATOR(pg_catalog.=) 'witness.entry_id_seq'::pg_catalog.regclass))
$$;
COMMENT ON FUNCTION witness._last_entry_id() IS 'internal: the last entry id handed out so far (every later one is larger)';

-- Keeps names_since and former_names in step: set by every insert (track()) and by an update that
-- renames the table, takes a column name out of the configuration (a rename or drop of the column, or
-- track() called again without it) or changes the key or subject column. Fires on origin only: a
-- restore keeps the rows it loads. Before an update moves names_since it locks the table and its
-- partitions and children in SHARE mode until the change commits: a writer that captured under the
-- old names (ALTER SCHEMA ... RENAME takes no lock on the tables, and a write to a child none on its
-- parent) has finished, so its entries lie below names_since, and none captures again before the new
-- names are visible to it.
CREATE FUNCTION witness._tracked_table_names() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	renamed boolean := TG_OP = 'UPDATE' AND (NEW.schema_name, NEW.table_name) IS DISTINCT FROM (OLD.schema_name, OLD.table_name);
	rel oid;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		-- Only a rename changes the former names (its entry has the old and the new name; the list is
		-- not captured): a review cleared them with a plain UPDATE that left no entry, and a hold on the
		-- table stopped covering the entries under its old name.
		NEW.former_names := OLD.former_names;
		IF NOT renamed AND witness._configured_columns(OLD) <@ witness._configured_columns(NEW)
		   AND NEW.key_columns IS NOT DISTINCT FROM OLD.key_columns
		   AND NEW.subject_column IS NOT DISTINCT FROM OLD.subject_column THEN
			RETURN NEW;
		END IF;
		FOR rel IN SELECT d.relid FROM witness._inheritance_descendants(NEW.relid) d
		           WHERE NOT d.is_other_temp ORDER BY d.relid LOOP
			EXECUTE format('LOCK TABLE ONLY %s IN SHARE MODE', rel::regclass);
		END LOOP;
		IF renamed THEN
			NEW.former_names := OLD.former_names || jsonb_build_array(jsonb_build_array(OLD.schema_name, OLD.table_name));
		END IF;
	ELSE
		NEW.former_names := '[]';
	END IF;
	NEW.names_since := witness._last_entry_id();
	-- The older entries' masking, which the configuration no longer describes (a classified column
	-- dropped or renamed): kept for them.
	IF TG_OP = 'UPDATE' THEN
		PERFORM witness._keep_masking(OLD, NEW.names_since);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION witness._tracked_table_names() IS 'internal: trigger on witness.tracked_table: sets names_since on track(), on renames of the table or of configured columns and on changes of the key or subject column (waiting for writers under the old names), and remembers former names';
CREATE TRIGGER witness_names_since BEFORE INSERT OR UPDATE ON witness.tracked_table
	FOR EACH ROW EXECUTE FUNCTION witness._tracked_table_names();
COMMENT ON TRIGGER witness_names_since ON witness.tracked_table IS 'pg_witness: keeps names_since and former_names in step with renames (docs/access.md)';
-- former_names is not captured: each rename's entry has the old and new names already, and the list
-- they add up to made every rename's entry carry all the names before it (a review renamed a table
-- 4,200 times in one transaction: the entries grew with the square of the renames, past 1 GB).
-- Part of the extension's own change, as its ALTER TABLEs are: made in replica mode, where the
-- configuration's capture trigger does not fire (an entry here would be the only one of the update).
DO $$
DECLARE
	mode text := current_setting('session_replication_role');
BEGIN
	PERFORM set_config('session_replication_role', 'replica', true);
	UPDATE witness.tracked_table SET exclude_columns = ARRAY['former_names'] WHERE relid = 'witness.tracked_table'::regclass;
	PERFORM set_config('session_replication_role', mode, true);
END
$$;

-- The column an UPDATE entry's subject came from, when the table's configuration says so and agrees
-- with the entry: configured before the entry's statement, under the entry's table name, and the
-- entry's new value of that column is its subject. NULL otherwise (a configuration changed since, a
-- renamed table, a child's entry), which withholds more. witness.track() sets tracked_at to the time
-- of its call, after it locked the table, not to its transaction's start: a review found an entry
-- made earlier in the same transaction read with the new subject column, which showed another
-- subject's identifier. And the entry is newer than names_since: under the column's present name (a
-- review renamed the subject column, and an older entry, whose new values lack the new name, was
-- taken for one whose subject stayed, showing the previous subject's values).
CREATE FUNCTION witness._entry_subject_column(e witness.entry, entry_subject text, new_values jsonb)
RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT t.subject_column FROM witness.tracked_table t
	WHERE t.schema_name OPERATOR(pg_catalog.=) e.schema_name AND t.table_name OPERATOR(pg_catalog.=) e.table_name
	  AND t.tracked_at OPERATOR(pg_catalog.<=) e.stmt_time AND e.id OPERATOR(pg_catalog.>) t.names_since
	  AND (new_values OPERATOR(pg_catalog.->>) t.subject_column IS NOT DISTINCT FROM entry_subject
	       -- Not among the changed columns: the subject stayed (a review's UPDATE that set another
	       -- column to the subject's text had the subject's own old values withheld).
	       OR (new_values IS NOT NULL AND NOT new_values OPERATOR(pg_catalog.?) t.subject_column))
$$;
COMMENT ON FUNCTION witness._entry_subject_column(witness.entry, text, jsonb) IS 'internal: the subject column of an UPDATE entry for the subject export, when the table''s configuration is known to have been in force and agrees with the entry; NULL otherwise';
REVOKE ALL ON FUNCTION witness._entry_subject_column(witness.entry, text, jsonb) FROM PUBLIC;

CREATE OR REPLACE VIEW witness.tracked_tables AS
SELECT t.relid AS table_name, t.classification, t.column_tags, t.exclude_columns, t.subject_column,
       t.key_columns, t.key_is_primary_key, t.tracked_at, t.tracked_by, t.encrypt,
       t.capture_reads
FROM witness.tracked_table t;

-- 0.1 summed the bits of the tags it knew and skipped the others: a mistyped tag ('{pli}') gave 0,
-- and a query filtering on it matched nothing, silently. An unknown tag is now an error; NULL elements
-- still count for nothing (a table tracked with no classification).
CREATE OR REPLACE FUNCTION witness.tag_mask(tags text[]) RETURNS smallint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	known text[] := witness.classifications();
	mask integer := 0;
	t text;
BEGIN
	FOREACH t IN ARRAY tags LOOP
		CONTINUE WHEN t IS NULL;
		IF NOT t = ANY (known) THEN
			RAISE EXCEPTION 'unknown classification tag "%"', t USING ERRCODE = 'invalid_parameter_value',
				HINT = format('Use one of %s.', array_to_string(known, ', '));
		END IF;
		mask := mask | (1 << (array_position(known, t) - 1));
	END LOOP;
	RETURN mask::smallint;
END
$$;
COMMENT ON FUNCTION witness.tag_mask(text[]) IS 'bit mask of classification tags, as stored in witness.entry.tags; an unknown tag is an error';

CREATE FUNCTION witness.master_key_id() RETURNS text
AS 'MODULE_PATHNAME', 'witness_master_key_id' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness.master_key_id() IS 'the id (16 hex digits) of the master key named by witness.master_key_file, NULL when none is set; raises when the file cannot be read or is not a key';

CREATE FUNCTION witness._subject_pseudonyms(subject text) RETURNS bytea[]
AS 'MODULE_PATHNAME', 'witness_subject_pseudonyms' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._subject_pseudonyms(text) IS 'internal: the keyed pseudonyms (HMAC-SHA256 under keys derived from the master keys, current first, then previous) under which encrypted entries may record a subject';
REVOKE ALL ON FUNCTION witness._subject_pseudonyms(text) FROM PUBLIC;

DROP FUNCTION witness._capture_plan(oid);
CREATE FUNCTION witness._capture_plan(fired_on oid)
RETURNS TABLE (tracked oid, schema_name text, table_name text, table_tags smallint, attnum smallint,
               attname text, excluded boolean, column_tags smallint, is_subject boolean, is_key boolean,
               encrypt boolean)
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	WITH root AS (
		SELECT t.* FROM witness.tracked_table t WHERE t.relid = witness._tracked_root(fired_on)
	)
	SELECT r.relid::oid, n.nspname::text, c.relname::text, witness.tag_mask(ARRAY[r.classification]),
	       a.attnum, a.attname::text, a.attname = ANY (r.exclude_columns),
	       COALESCE(witness.tag_mask(ARRAY(SELECT jsonb_array_elements_text(r.column_tags -> a.attname::text))), 0::smallint),
	       COALESCE(a.attname = r.subject_column, false),
	       COALESCE(a.attname = ANY (r.key_columns), false),
       r.encrypt
	FROM root r
	JOIN pg_class c ON c.oid = r.relid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attribute a ON a.attrelid = fired_on AND a.attnum > 0 AND NOT a.attisdropped
	ORDER BY a.attnum
$$;
COMMENT ON FUNCTION witness._capture_plan(oid) IS 'internal: capture configuration of the relation a capture trigger fired on';

-- track() sets a table's whole configuration: a call that repeats only some settings of a tracked
-- table resets the others to their defaults. When that takes protection away (a column no longer
-- excluded, entries no longer encrypted, the subject column or a classification gone, reads no
-- longer recorded), the caller is told so at once; the change itself is an entry of the chain
-- (witness.tracked_table is captured).
CREATE FUNCTION witness._warn_weakened(target regclass, classification text, column_tags jsonb, exclude_columns text[],
                                       subject_column text, encrypt boolean, capture_reads boolean) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	old witness.tracked_table;
	lost text[] := '{}';
	cols text[];
BEGIN
	SELECT * INTO old FROM witness.tracked_table t WHERE t.relid = target;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	cols := ARRAY(SELECT c FROM unnest(old.exclude_columns) c
	              WHERE c <> ALL (exclude_columns)
	                AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = target AND a.attname = c AND NOT a.attisdropped)
	              ORDER BY c);
	IF cardinality(cols) > 0 THEN
		lost := lost || format('column %s no longer excluded: its values are now captured', array_to_string(cols, ', '));
	END IF;
	IF old.encrypt AND NOT encrypt THEN
		lost := lost || 'its entries no longer encrypted'::text;
	END IF;
	IF old.subject_column IS NOT NULL AND old.subject_column IS DISTINCT FROM subject_column THEN
		lost := lost || format('subject column %s no longer the subject', old.subject_column);
	END IF;
	IF old.classification <> classification AND old.classification <> 'internal' THEN
		lost := lost || format('classification %s replaced by %s', old.classification, classification);
	END IF;
	cols := ARRAY(SELECT k FROM jsonb_object_keys(old.column_tags) k
	              WHERE NOT COALESCE(column_tags -> k, '[]') @> (old.column_tags -> k) AND k <> ALL (exclude_columns) ORDER BY k);
	IF cardinality(cols) > 0 THEN
		lost := lost || format('column %s lost a tag', array_to_string(cols, ', '));
	END IF;
	IF old.capture_reads AND NOT capture_reads THEN
		lost := lost || 'reads no longer recorded'::text;
	END IF;
	IF cardinality(lost) > 0 THEN
		RAISE WARNING 'table % was tracked with other settings: %', target, array_to_string(lost, '; ')
			USING DETAIL = 'witness.track() sets the whole configuration of a table: a setting not given takes its default.',
			      HINT = 'Give every setting again (witness.tracked_tables shows the ones in force), or call witness.track() once more to put them back.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._warn_weakened(regclass, text, jsonb, text[], text, boolean, boolean) IS 'internal: warns when witness.track() of a tracked table takes protection away (an exclusion, encryption, the subject column, a classification or tag, recorded reads)';
REVOKE ALL ON FUNCTION witness._warn_weakened(regclass, text, jsonb, text[], text, boolean, boolean) FROM PUBLIC;

-- A NULL classification is a missing value (22004), not an unknown one.
CREATE OR REPLACE FUNCTION witness._check_classification(tag text, what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF tag IS NULL OR NOT tag = ANY (witness.classifications()) THEN
		RAISE EXCEPTION USING MESSAGE = CASE WHEN tag IS NULL THEN format('classification for %s must not be null', what) ELSE format('unknown classification "%s" for %s', tag, what) END,
			ERRCODE = CASE WHEN tag IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
			      HINT = 'Valid classifications are: ' || array_to_string(witness.classifications(), ', ') || '.';
	END IF;
END
$$;

-- The capture triggers every captured relation must have, as one list for the two that need it: the
-- trigger sync creates those marked own, and the capture_off alert rule checks them all. Every table,
-- partitioned table and partition has witness_capture, every plain table witness_capture_truncate.
-- PostgreSQL clones a partitioned table's row trigger to its partitions, so a partition's is its
-- parent's clone (not own); every other relation, a tracked table made a partition of an untracked one
-- included, has its own.
CREATE FUNCTION witness._wanted_capture_triggers() RETURNS TABLE (relid oid, root oid, tgname name, own boolean)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	WITH tree AS (
		SELECT m.* FROM witness._tracked_tree() m WHERE NOT m.is_other_temp AND m.relkind IN ('r', 'p')
	)
	SELECT m.relid, m.root, 'witness_capture'::name, m.is_tracked OR NOT m.is_partition FROM tree m
	UNION ALL
	SELECT m.relid, m.root, 'witness_capture_truncate'::name, true FROM tree m WHERE m.relkind = 'r'
$$;
COMMENT ON FUNCTION witness._wanted_capture_triggers() IS 'internal: the capture triggers each captured relation must have, and which of them pg_witness creates itself (the rest are clones of a parent''s)';

-- Runs a second round when it dropped a trigger: a dropped parent trigger can take a clone with it
-- that a tracked partition needed (docs/capture.md).
CREATE OR REPLACE FUNCTION witness._sync_capture_triggers() RETURNS TABLE (relid oid, change text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record; sync_round int; dropped boolean; -- one line: error contexts name the lines below
BEGIN
	SELECT t.tgname, t.tgrelid::regclass AS rel INTO r
	FROM witness._tracked_tree() m JOIN pg_trigger t ON t.tgrelid = m.relid
	WHERE witness._is_reserved_trigger(t) AND NOT witness._is_capture_trigger(t)
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'cannot change pg_witness capture trigger "%" of table %', r.tgname, r.rel
			USING ERRCODE = 'object_in_use',
			      DETAIL = 'Capture triggers of tracked tables cannot be disabled, renamed, replaced or restricted.',
			      HINT = 'Call witness.untrack() to stop capture; that change is itself recorded.';
	END IF;
	-- Rows of a foreign table live on another server, rows of a temporary table in one session: neither
	-- can be captured here, so neither may become part of a tracked table.
	SELECT m.relid::regclass AS rel, m.relkind, m.is_temp, m.root::regclass AS root INTO r
	FROM witness._tracked_tree() m WHERE (m.relkind NOT IN ('r', 'p') OR m.is_temp) AND NOT m.is_other_temp
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION '% % cannot be part of tracked table %', CASE WHEN r.is_temp THEN 'temporary table' ELSE 'foreign table' END,
			r.rel, r.root
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'pg_witness captures the rows of a tracked table, its partitions and inheritance children in this database.';
	END IF;
	PERFORM witness._begin_internal_ddl();
	-- Two rounds when the first dropped a trigger: dropping a parent's trigger also drops the clones
	-- PostgreSQL made of it, and a tracked table's own trigger became one when a parent above it was
	-- tracked later (a review untracked that parent, and the tracked table's capture stopped).
	FOR sync_round IN 1 .. 2 LOOP
	dropped := false;
	FOR r IN
		WITH wanted AS (
			SELECT m.relid, m.tgname FROM witness._wanted_capture_triggers() m WHERE m.own
		), present AS (
			SELECT t.tgrelid AS relid, t.tgname FROM pg_trigger t
			JOIN pg_class c ON c.oid = t.tgrelid
			WHERE t.tgparentid = 0 AND witness._is_capture_trigger(t) AND c.relnamespace <> 'witness'::regnamespace
			  AND NOT pg_is_other_temp_schema(c.relnamespace)
		)
		SELECT w.relid, w.tgname, true AS add FROM wanted w
		WHERE NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = w.relid AND t.tgname = w.tgname)
		UNION ALL
		SELECT p.relid, p.tgname, false FROM present p
		WHERE NOT EXISTS (SELECT FROM wanted w WHERE w.relid = p.relid AND w.tgname = p.tgname)
		ORDER BY 3, 1, 2
	LOOP
		CONTINUE WHEN to_regclass(r.relid::regclass::text) IS NULL;
		-- OR REPLACE and IF EXISTS: a REPEATABLE READ transaction's view of pg_trigger may be older than
		-- the catalog itself.
		IF r.add AND r.tgname = 'witness_capture' THEN
			EXECUTE format('CREATE OR REPLACE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION witness.capture()', r.relid::regclass);
			EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER witness_capture', r.relid::regclass);
		ELSIF r.add THEN
			EXECUTE format('CREATE OR REPLACE TRIGGER witness_capture_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION witness.capture_truncate()', r.relid::regclass);
			EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER witness_capture_truncate', r.relid::regclass);
		ELSE
			EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', r.tgname, r.relid::regclass);
			dropped := true;
		END IF;
		-- A plain table's TRUNCATE trigger comes and goes with its membership of a tracked tree.
		IF r.tgname = 'witness_capture_truncate' THEN
			relid := r.relid;
			change := CASE WHEN r.add THEN 'joined' ELSE 'left' END;
			RETURN NEXT;
		END IF;
	END LOOP;
	EXIT WHEN NOT dropped;
	END LOOP;
	PERFORM witness._end_internal_ddl();
	-- Another session's temporary table can slip in through a race (its session made it a child of a
	-- table that this or a third session then made part of a tracked table). No other session can
	-- put triggers on it, so its rows go uncaptured: that is reported, once per table.
	FOR r IN SELECT m.relid FROM witness._tracked_tree() m WHERE m.is_other_temp LOOP
		relid := r.relid;
		change := 'uncaptured';
		RETURN NEXT;
	END LOOP;
END
$$;

-- Also refuses a column named twice ('{id,id}'), which 0.1 stored as given.
CREATE OR REPLACE FUNCTION witness._check_columns(target regclass, cols text[], what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bad text;
BEGIN
	-- A list of names, not a matrix of them (a robustness review's '{{id},{a}}' failed late, inside
	-- the configuration's INSERT, after warnings about the columns).
	IF array_ndims(cols) > 1 THEN
		RAISE EXCEPTION '% must be a one-dimensional array of column names', what
			USING ERRCODE = 'array_subscript_error', DETAIL = format('It has %s dimensions.', array_ndims(cols));
	END IF;
	SELECT c INTO bad FROM unnest(cols) AS c
	WHERE c IS NULL OR NOT EXISTS (SELECT 1 FROM pg_attribute a
	                               WHERE a.attrelid = target AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'column "%" named in % does not exist in table %', bad, what, target
			USING ERRCODE = 'undefined_column';
	END IF;
	SELECT c INTO bad FROM unnest(cols) AS c GROUP BY c HAVING count(*) > 1 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'column "%" is named more than once in %', bad, what
			USING ERRCODE = 'duplicate_column';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_columns(regclass, text[], text) IS 'internal: validates column names given to witness.track(): each exists, once';

-- track() and untrack() of one table take turns: each first locks the table against the other (both
-- at once on a partitioned table deadlocked: one inserting the configuration, the other dropping
-- triggers; a robustness review). SHARE ROW EXCLUSIVE conflicts with itself and with writes, which
-- the trigger changes that follow wait for anyway.
CREATE FUNCTION witness._lock_for_tracking(target regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', target);
END
$$;
COMMENT ON FUNCTION witness._lock_for_tracking(regclass) IS 'internal: the lock witness.track() and witness.untrack() take on a table first, so that two of them on one table take turns';
REVOKE ALL ON FUNCTION witness._lock_for_tracking(regclass) FROM PUBLIC;

-- key_columns that no unique index covers let two rows share a key: their histories then read as one
-- row's, and a role with only INSERT could plant a row under another's key (an attack review). Said,
-- not refused: the application may keep the key unique itself.
CREATE FUNCTION witness._note_key_not_unique(target regclass, key_columns text[]) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- Unique only where NULLs are: rows with NULL keys would share {"a": null} (a review).
	IF NOT EXISTS (SELECT FROM pg_index i
	               WHERE i.indrelid = target AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
	                 AND (SELECT bool_and(a.attname = ANY (key_columns) AND (a.attnotnull OR i.indnullsnotdistinct)) FROM pg_attribute a
	                      WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]))) THEN
		RAISE NOTICE 'no unique index of table % covers key_columns %: two rows may share a row key', target, key_columns
			USING HINT = 'Their entries then read as one row''s history. Add a unique index on those columns, or name columns one covers.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._note_key_not_unique(regclass, text[]) IS 'internal: a notice from witness.track() when no unique index covers the key_columns it was given, with NOT NULL columns or NULLS NOT DISTINCT';
REVOKE ALL ON FUNCTION witness._note_key_not_unique(regclass, text[]) FROM PUBLIC;

DROP FUNCTION witness.track(regclass, text, jsonb, text[], text, text[]);
CREATE FUNCTION witness.track(target regclass, classification text DEFAULT 'internal', column_tags jsonb DEFAULT '{}',
                              exclude_columns text[] DEFAULT '{}', subject_column text DEFAULT NULL,
                              key_columns text[] DEFAULT NULL, encrypt boolean DEFAULT NULL,
                              capture_reads boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tags jsonb;
	effective_key text[];
	bad text;
	encrypt_by_default boolean := encrypt IS NULL;
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	PERFORM witness._check_exists(target, 'track');
	PERFORM witness._check_trackable(target); PERFORM witness._lock_for_tracking(target);
	PERFORM witness._check_classification(classification, 'the table');
	tags := witness._normalize_column_tags(target, column_tags);
	exclude_columns := COALESCE(exclude_columns, '{}');
	PERFORM witness._check_columns(target, exclude_columns, 'exclude_columns');
	IF subject_column IS NOT NULL THEN
		PERFORM witness._check_columns(target, ARRAY[subject_column], 'subject_column');
		IF subject_column = ANY (exclude_columns) THEN
			RAISE EXCEPTION 'cannot exclude subject column "%"', subject_column
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = 'Entries record the data subject, so its column cannot be excluded.';
		END IF;
		PERFORM witness._check_subject_type(target, subject_column);
	END IF;
	IF key_columns IS NOT NULL THEN
		IF cardinality(key_columns) = 0 THEN
			RAISE EXCEPTION 'key_columns must name at least one column' USING ERRCODE = 'invalid_parameter_value',
				HINT = 'Pass NULL to use the primary key.';
		END IF;
		PERFORM witness._check_columns(target, key_columns, 'key_columns'); PERFORM witness._note_key_not_unique(target, key_columns);
	END IF;
	effective_key := COALESCE(key_columns, witness.primary_key_columns(target));
	SELECT k INTO bad FROM unnest(effective_key) k WHERE k = ANY (exclude_columns) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'cannot exclude key column "%"', bad
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'Entries identify rows by their key, so key columns are always captured.';
	END IF;
	SELECT t INTO bad FROM jsonb_object_keys(tags) t WHERE t = ANY (exclude_columns) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'column "%" is both excluded and tagged', bad USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF effective_key IS NULL THEN
		RAISE NOTICE 'table % has no primary key and no key_columns were given: its entries will carry no row key', target;
	END IF;
	PERFORM witness._check_foreign_triggers(target);
	-- Encrypted unless asked otherwise when the table names a subject column (docs/personal-data.md).
	encrypt := COALESCE(encrypt, subject_column IS NOT NULL);
	IF encrypt AND witness.master_key_id() IS NULL THEN
		RAISE EXCEPTION 'cannot encrypt the entries of table %: no master key is configured', target
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = CASE WHEN encrypt_by_default THEN 'The entries of a table with a subject column are encrypted unless encrypt => false is given.'
			                    ELSE 'encrypt => true was given.' END,
			      HINT = 'As the operating-system user that runs the server: openssl rand -hex 32 > /etc/postgresql/witness_master.key && chmod 600 /etc/postgresql/witness_master.key; then set witness.master_key_file to that file in postgresql.conf and reload. To keep this table''s entries in clear instead, pass encrypt => false.';
	END IF;

	PERFORM witness._warn_weakened(target, classification, tags, exclude_columns, subject_column, encrypt, COALESCE(capture_reads, false));
	-- A large object's contents live outside the table: its row holds only the object's oid.
	SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO bad
	FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
	WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (exclude_columns)
	  AND (a.atttypid = 'oid'::regtype OR (ty.typtype = 'd' AND ty.typbasetype = 'oid'::regtype));
	IF bad IS NOT NULL THEN
		RAISE WARNING 'table % refers to large objects by oid (column %): their contents are not captured', target, bad
			USING DETAIL = 'Entries record the oid a row holds; lo_put(), lowrite(), lo_truncate() and lo_unlink() change or remove the object itself, which no trigger sees.',
			      HINT = 'Store such contents in a bytea column of the tracked table to capture them.';
	END IF;
	-- The row key is fixed here: dropping or replacing the primary key later does not change it.
	INSERT INTO witness.tracked_table AS t (relid, classification, column_tags, exclude_columns, subject_column,
	                                        key_columns, key_is_primary_key, schema_name, table_name, column_attnums,
	                                        encrypt, capture_reads, tracked_at)
	SELECT target, classification, tags, exclude_columns, subject_column, effective_key,
	       key_columns IS NULL AND effective_key IS NOT NULL, n.nspname, c.relname,
	       witness._column_attnums(target, exclude_columns || ARRAY(SELECT jsonb_object_keys(tags))
	                                       || COALESCE(effective_key, '{}') || subject_column),
	       encrypt, COALESCE(capture_reads, false), clock_timestamp()
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target
	ON CONFLICT (relid) DO UPDATE
		SET classification = EXCLUDED.classification, column_tags = EXCLUDED.column_tags,
		    exclude_columns = EXCLUDED.exclude_columns, subject_column = EXCLUDED.subject_column,
		    key_columns = EXCLUDED.key_columns, key_is_primary_key = EXCLUDED.key_is_primary_key,
		    schema_name = EXCLUDED.schema_name, table_name = EXCLUDED.table_name,
		    column_attnums = EXCLUDED.column_attnums, encrypt = EXCLUDED.encrypt,
		    capture_reads = EXCLUDED.capture_reads, tracked_at = EXCLUDED.tracked_at, tracked_by = session_user;

	PERFORM witness._sync_capture_triggers();
	PERFORM witness._invalidate(target);
END
$$;
COMMENT ON FUNCTION witness.track(regclass, text, jsonb, text[], text, text[], boolean, boolean) IS 'starts (or reconfigures) capture of INSERT, UPDATE, DELETE and TRUNCATE on a table; encrypt (NULL: when it has a subject column) stores its entries'' payloads encrypted under the master key; capture_reads records every statement that reads it';
REVOKE ALL ON FUNCTION witness.track(regclass, text, jsonb, text[], text, text[], boolean, boolean) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Master key rotation (docs/personal-data.md, "Rotating the master key"): every sealed payload
-- re-encrypted under the current master key, in batches that commit, without changing a hash
-------------------------------------------------------------------------------

-- One row when a rotation starts, is resumed after an interruption and finishes. Tracked like
-- witness.erasure, so every rotation is in the chain itself.
CREATE TABLE witness.key_rotation (
	rotation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event text NOT NULL CHECK (event IN ('started', 'resumed', 'finished')),
	old_key_id text NOT NULL,
	new_key_id text NOT NULL,
	payloads bigint NOT NULL,
	role_name text NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE witness.key_rotation IS 'pg_witness: one row when a rotation of the master key (witness.rotate_master_key()) starts, is resumed and finishes; each row is captured into the trail';
COMMENT ON COLUMN witness.key_rotation.event IS 'started, resumed (a call that goes on with a rotation an earlier call did not finish) or finished';
COMMENT ON COLUMN witness.key_rotation.old_key_id IS 'id (16 hex digits) of the master key the payloads are re-encrypted from (witness.previous_master_key_file)';
COMMENT ON COLUMN witness.key_rotation.new_key_id IS 'id (16 hex digits) of the master key the payloads are re-encrypted under (witness.master_key_file)';
COMMENT ON COLUMN witness.key_rotation.payloads IS 'started and resumed: sealed payloads found under another key; finished: payloads this call re-encrypted';
COMMENT ON COLUMN witness.key_rotation.role_name IS 'the role that called witness.rotate_master_key() (after SET ROLE)';
COMMENT ON COLUMN witness.key_rotation.recorded_at IS 'when the event happened';
COMMENT ON SEQUENCE witness.key_rotation_rotation_id_seq IS 'pg_witness key rotation event ids';

SELECT witness._make_record_table('witness.key_rotation', 'rotation_id');

CREATE FUNCTION witness._previous_master_key_id() RETURNS text
AS 'MODULE_PATHNAME', 'witness_previous_master_key_id' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._previous_master_key_id() IS 'internal: the id (16 hex digits) of the master key named by witness.previous_master_key_file, NULL when none is set';
REVOKE ALL ON FUNCTION witness._previous_master_key_id() FROM PUBLIC;

CREATE FUNCTION witness._check_rotation_allowed() RETURNS void
AS 'MODULE_PATHNAME', 'witness_check_rotation_allowed' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._check_rotation_allowed() IS 'internal: raises unless witness.rotate_master_key() may run: superuser, a CALL outside a transaction block, READ COMMITTED, a current master key';
REVOKE ALL ON FUNCTION witness._check_rotation_allowed() FROM PUBLIC;

CREATE FUNCTION witness._reseal_payloads(start_block bigint, batch_size integer, OUT next_block bigint, OUT resealed bigint,
	OUT moved_ids bigint[], OUT moved_places tid[])
AS 'MODULE_PATHNAME', 'witness_reseal_payloads' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._reseal_payloads(bigint, integer) IS 'internal: one batch of a rotation: re-encrypts under the current master key the sealed payloads another key sealed, reading witness.entry from position start_block on ((partition ordinal << 32) | block, docs/scaling.md) until about batch_size are done or the partition ends; next_block is where the next batch starts, NULL at the end of the trail; moved_ids and moved_places: the entries re-encrypted and their new ctids';
REVOKE ALL ON FUNCTION witness._reseal_payloads(bigint, integer) FROM PUBLIC;

-- The lock that keeps rotations one at a time: a session lock, since a rotation commits after each
-- batch, released when it finishes or fails. Not an advisory lock, which any role could take first
-- (src/pg/rotate/rotation_lock.cpp).
CREATE FUNCTION witness._take_rotation_lock() RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_take_rotation_lock' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._take_rotation_lock() IS 'internal: takes the session lock of a master key rotation (on the object witness.rotate_master_key) without waiting; false when another session holds it';
REVOKE ALL ON FUNCTION witness._take_rotation_lock() FROM PUBLIC;
CREATE FUNCTION witness._release_rotation_lock() RETURNS void
AS 'MODULE_PATHNAME', 'witness_release_rotation_lock' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._release_rotation_lock() IS 'internal: releases the session lock of a master key rotation when this session holds it';
REVOKE ALL ON FUNCTION witness._release_rotation_lock() FROM PUBLIC;

-- Everything a rotation does before its first batch: finds the payloads under another key in one
-- pass over the trail, refuses what it cannot re-encrypt, takes the rotation lock and records the
-- start (or the resumption). Returns the block the first batch starts at, NULL when there is nothing
-- to do.
CREATE FUNCTION witness._begin_rotation() RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_key text := witness.master_key_id();
	old_key text := witness._previous_master_key_id();
	todo record;
	last_event witness.key_rotation;
	resuming boolean;
	holder integer;
	unknown_key text;
BEGIN
	SELECT count(*) AS n,
	       count(*) FILTER (WHERE old_key IS NULL OR encode(substring(e.sealed_payload, 2, 8), 'hex') <> old_key) AS unknown,
	       min(e.id) FILTER (WHERE old_key IS NULL OR encode(substring(e.sealed_payload, 2, 8), 'hex') <> old_key) AS unknown_entry
	INTO todo
	FROM witness.entry e
	WHERE e.sealed_payload IS NOT NULL AND substring(e.sealed_payload, 2, 8) <> decode(new_key, 'hex');
	IF todo.unknown > 0 THEN
		SELECT encode(substring(e.sealed_payload, 2, 8), 'hex') INTO unknown_key FROM witness.entry e WHERE e.id = todo.unknown_entry;
		IF old_key IS NULL THEN
			RAISE EXCEPTION 'cannot rotate the master key: % sealed payloads are under another master key, and witness.previous_master_key_file is not set', todo.unknown
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      DETAIL = format('Entry %s is sealed under master key %s; the current key is %s.', todo.unknown_entry, unknown_key, new_key),
				      HINT = 'Set witness.previous_master_key_file to the file of the old master key, reload, and call witness.rotate_master_key() again.';
		END IF;
		RAISE EXCEPTION 'cannot rotate the master key: entry % is sealed under master key %, which neither witness.master_key_file nor witness.previous_master_key_file holds', todo.unknown_entry, unknown_key
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('%s sealed payloads are under keys other than %s (current) and %s (previous).', todo.unknown, new_key, old_key),
			      HINT = format('A rotation re-encrypts from one previous key: set witness.previous_master_key_file to the file of master key %s first.', unknown_key);
	END IF;
	-- Per database, as the trail is.
	IF NOT witness._take_rotation_lock() THEN
		SELECT l.pid INTO holder FROM pg_locks l
		WHERE l.locktype = 'object' AND l.granted AND l.classid = 'pg_catalog.pg_proc'::regclass
		  AND l.objid = 'witness.rotate_master_key(integer)'::regprocedure AND l.pid <> pg_backend_pid()
		  AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
		LIMIT 1;
		RAISE EXCEPTION 'another rotation of the master key is running (process %)', holder
			USING ERRCODE = 'lock_not_available',
			      HINT = 'Wait for it to finish, or end that process with pg_terminate_backend(); calling witness.rotate_master_key() again goes on where it stopped.';
	END IF;
	SELECT * INTO last_event FROM witness.key_rotation r ORDER BY r.rotation_id DESC LIMIT 1;
	resuming := last_event.event IN ('started', 'resumed') AND last_event.new_key_id = new_key;
	-- Bound subjects (witness.bound_subject) under another key are sealed again when the rotation
	-- finishes, even when no payload is.
	IF todo.n = 0 AND NOT COALESCE(resuming, false)
	   AND NOT EXISTS (SELECT 1 FROM witness.bound_subject b WHERE substring(b.sealed_subject, 2, 8) <> decode(new_key, 'hex')) THEN
		PERFORM witness._release_rotation_lock();
		RAISE NOTICE 'every sealed payload is under the current master key (%) already', new_key;
		RETURN NULL;
	END IF;
	-- The old key's pseudonym key is kept, sealed under the new key, and those of keys retired earlier
	-- are sealed again under it: subject lookups then need neither old key file.
	IF old_key IS NOT NULL AND old_key <> new_key THEN
		UPDATE witness.retired_pseudonym_key r SET wrapped = witness._rewrap_pseudonym_key(r.key_id, r.wrapped);
		INSERT INTO witness.retired_pseudonym_key (key_id, wrapped) VALUES (old_key, witness._wrap_previous_pseudonym_key())
		ON CONFLICT (key_id) DO UPDATE SET wrapped = EXCLUDED.wrapped;
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.key_rotation (event, old_key_id, new_key_id, payloads, role_name)
	VALUES (CASE WHEN resuming THEN 'resumed' ELSE 'started' END, COALESCE(old_key, last_event.old_key_id), new_key, todo.n,
	        witness._outer_user());
	PERFORM witness._end_internal_ddl();
	-- A position of witness._reseal_payloads(): the first partition's first block (a ctid names a
	-- block of one partition only, docs/scaling.md).
	RETURN 0;
END
$$;
COMMENT ON FUNCTION witness._begin_rotation() IS 'internal: the start of witness.rotate_master_key(): refusals, the rotation lock, the started or resumed event; returns the first block to re-encrypt from, NULL when nothing is to do';
REVOKE ALL ON FUNCTION witness._begin_rotation() FROM PUBLIC;

CREATE FUNCTION witness._finish_rotation(resealed bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	started witness.key_rotation;
BEGIN
	SELECT * INTO started FROM witness.key_rotation r ORDER BY r.rotation_id DESC LIMIT 1;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.key_rotation (event, old_key_id, new_key_id, payloads, role_name)
	VALUES ('finished', started.old_key_id, started.new_key_id, resealed, witness._outer_user());
	PERFORM witness._end_internal_ddl();
	PERFORM witness._release_rotation_lock();
	RAISE NOTICE 're-encrypted % sealed payloads under master key %', resealed, started.new_key_id;
END
$$;
COMMENT ON FUNCTION witness._finish_rotation(bigint) IS 'internal: the end of witness.rotate_master_key(): records the finished event and releases the rotation lock';
REVOKE ALL ON FUNCTION witness._finish_rotation(bigint) FROM PUBLIC;

-- A procedure, not a function: it commits after each batch, so that a crash or a cancel loses one
-- batch at most and calling it again goes on. (A procedure that commits can have neither SET nor
-- SECURITY DEFINER: it runs as its caller, a superuser, and every name in it is schema-qualified.)
CREATE PROCEDURE witness.rotate_master_key(batch_size integer DEFAULT 10000)
LANGUAGE plpgsql
AS $$
DECLARE
	block bigint;
	batch record;
	resealed bigint := 0;
BEGIN
	PERFORM witness._check_rotation_allowed();
	IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	block := witness._begin_rotation();
	IF block IS NULL THEN
		RETURN;
	END IF;
	COMMIT;
	LOOP
		-- witness.erase_subject() updates entries too: one of the two at a time. Taken in a statement of
		-- its own, so that the batch's snapshot sees an erasure that committed while it waited.
		PERFORM witness._take_mutex('erase_subject');
		SELECT * INTO batch FROM witness._reseal_payloads(block, batch_size);
		resealed := resealed OPERATOR(pg_catalog.+) batch.resealed;
		-- The new row versions' places, for the lookup rows (as an erasure does).
		IF batch.resealed OPERATOR(pg_catalog.>) 0 THEN
			PERFORM witness._move_lookup_places(batch.moved_ids, batch.moved_places);
		END IF;
		COMMIT;
		EXIT WHEN batch.next_block IS NULL;
		block := batch.next_block;
	END LOOP;
	PERFORM witness._finish_rotation(resealed);
END
$$;
COMMENT ON PROCEDURE witness.rotate_master_key(integer) IS 're-encrypts every sealed payload under the current master key (witness.master_key_file), opening those of the previous one (witness.previous_master_key_file), about batch_size per transaction; no hash changes; resumable: calling it again goes on; records start and end in witness.key_rotation, and so in the trail';
REVOKE ALL ON PROCEDURE witness.rotate_master_key(integer) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Retired pseudonym keys: a subject's entries captured under a master key since rotated away keep
-- that key's pseudonyms (the leaf hash covers them). Each rotation keeps the old key's pseudonym key,
-- sealed under the new master key, so that subject lookups find those entries once the old key file
-- is gone (docs/personal-data.md, "Rotating the master key").
-------------------------------------------------------------------------------

CREATE TABLE witness.retired_pseudonym_key (
	key_id text PRIMARY KEY,
	wrapped bytea NOT NULL,
	retired_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.retired_pseudonym_key IS 'pg_witness: the pseudonym key of each master key a rotation retired, sealed under the current master key; lets subject lookups find entries captured under retired keys';
COMMENT ON COLUMN witness.retired_pseudonym_key.key_id IS 'id (16 hex digits) of the retired master key';
COMMENT ON COLUMN witness.retired_pseudonym_key.wrapped IS 'its pseudonym key, sealed (docs/personal-data.md, sealed payload format) under a configured master key with the retired key''s id as associated data';
COMMENT ON COLUMN witness.retired_pseudonym_key.retired_at IS 'when the rotation away from it started';
REVOKE ALL ON witness.retired_pseudonym_key FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('witness.retired_pseudonym_key', '');

CREATE FUNCTION witness._wrap_previous_pseudonym_key() RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_wrap_previous_pseudonym_key' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._wrap_previous_pseudonym_key() IS 'internal: the pseudonym key of the previous master key, sealed under the current one';
REVOKE ALL ON FUNCTION witness._wrap_previous_pseudonym_key() FROM PUBLIC;

CREATE FUNCTION witness._rewrap_pseudonym_key(key_id text, wrapped bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_rewrap_pseudonym_key' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._rewrap_pseudonym_key(text, bytea) IS 'internal: a kept pseudonym key sealed under the current master key';
REVOKE ALL ON FUNCTION witness._rewrap_pseudonym_key(text, bytea) FROM PUBLIC;

CREATE FUNCTION witness._retired_pseudonym(subject text, key_id text, wrapped bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_retired_pseudonym' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._retired_pseudonym(text, text, bytea) IS 'internal: a subject''s pseudonym under a retired master key, from its kept pseudonym key';
REVOKE ALL ON FUNCTION witness._retired_pseudonym(text, text, bytea) FROM PUBLIC;

-- Every pseudonym under which an encrypted entry may record a subject: under the configured keys, and
-- under each retired key whose pseudonym key a rotation kept.
CREATE FUNCTION witness._lookup_pseudonyms(subject text) RETURNS bytea[]
LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT witness._subject_pseudonyms(subject)
	       || ARRAY(SELECT witness._retired_pseudonym(subject, r.key_id, r.wrapped) FROM witness.retired_pseudonym_key r
	                WHERE r.key_id IS DISTINCT FROM witness.master_key_id()
	                  AND r.key_id IS DISTINCT FROM witness._previous_master_key_id()
	                ORDER BY r.key_id)
$$;
COMMENT ON FUNCTION witness._lookup_pseudonyms(text) IS 'internal: the pseudonyms of a subject under the configured master keys and every retired one whose pseudonym key is kept';
REVOKE ALL ON FUNCTION witness._lookup_pseudonyms(text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Activity (docs/activity.md): reads of tables tracked with capture_reads, reads of the
-- trail itself, logins, refused attempts and calls of pg_witness's functions. Backends put each
-- event into a queue in shared memory whatever their transaction does next; the sealer writes them
-- here, and capture makes every row an entry of the chain.
-------------------------------------------------------------------------------

CREATE TABLE witness.activity (
	activity_id bigint GENERATED ALWAYS AS IDENTITY,
	kind text NOT NULL,
	outcome text NOT NULL,
	happened_at timestamptz NOT NULL,
	database_name text,
	session_user_name text,
	current_user_name text,
	application_name text,
	client_addr text,
	backend_pid integer NOT NULL,
	actor text,
	object_name text,
	row_count bigint,
	query_id bigint,
	sqlstate text,
	message text,
	statement text,
	statement_count integer NOT NULL DEFAULT 1,
	last_happened_at timestamptz,
	statement_times timestamptz[],
	statement_rows bigint[],
	recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE witness.activity IS 'pg_witness: what happened that is not a change of a row, and must be in the chain whatever its transaction did: reads, logins, refused attempts, calls of pg_witness functions; written by the sealer, each row captured into the trail';
COMMENT ON COLUMN witness.activity.activity_id IS 'order in which the sealer wrote the rows';
COMMENT ON COLUMN witness.activity.kind IS 'read (a table tracked with capture_reads), trail read (a table of schema witness), login, denied (refused for lack of privilege, or a pg_witness guard), call (of a pg_witness function), capture control (a capture or guard trigger, an event trigger or an object of pg_witness changed where pg_witness could not refuse it), catalog write (a system catalog written by INSERT, UPDATE or DELETE), lost (events the queue could not keep)';
COMMENT ON COLUMN witness.activity.outcome IS 'success, denied, or failed (the statement or call ended with an error, or the events were lost)';
COMMENT ON COLUMN witness.activity.happened_at IS 'when the statement started, the login was decided or the error raised';
COMMENT ON COLUMN witness.activity.database_name IS 'the database, as the client named it';
COMMENT ON COLUMN witness.activity.session_user_name IS 'the role that logged in (for a login: the role the client asked for)';
COMMENT ON COLUMN witness.activity.current_user_name IS 'the role whose privileges applied (after SET ROLE)';
COMMENT ON COLUMN witness.activity.application_name IS 'application_name of the session';
COMMENT ON COLUMN witness.activity.client_addr IS 'client address; NULL for Unix-socket connections';
COMMENT ON COLUMN witness.activity.backend_pid IS 'process id of the session';
COMMENT ON COLUMN witness.activity.actor IS 'witness.actor of the session, if set (cut to 63 bytes)';
COMMENT ON COLUMN witness.activity.object_name IS 'the table read (schema-qualified), the function called, or the authentication method of a login';
COMMENT ON COLUMN witness.activity.row_count IS 'rows the statement returned or changed (for lost: how many events were lost); NULL when not known';
COMMENT ON COLUMN witness.activity.query_id IS 'the statement''s query id (with compute_query_id), NULL otherwise';
COMMENT ON COLUMN witness.activity.sqlstate IS 'SQLSTATE of a refused attempt';
COMMENT ON COLUMN witness.activity.message IS 'the error message of a refused attempt or failed login';
COMMENT ON COLUMN witness.activity.statement IS 'the statement text, cut after 1199 bytes (its whole length is then given); never values read';
COMMENT ON COLUMN witness.activity.statement_count IS 'how many statements the row records: reads of one session by one statement (one query id) that the sealer wrote together share a row; row_count is then their sum';
COMMENT ON COLUMN witness.activity.last_happened_at IS 'when the last of the row''s statements started (NULL for one statement)';
COMMENT ON COLUMN witness.activity.statement_times IS 'when each of the row''s statements started, in order (NULL for one statement)';
COMMENT ON COLUMN witness.activity.statement_rows IS 'rows each of the row''s statements returned or changed, in the order of statement_times';
COMMENT ON COLUMN witness.activity.recorded_at IS 'when the sealer wrote the row';
COMMENT ON SEQUENCE witness.activity_activity_id_seq IS 'pg_witness activity ids';
-- Classified confidential, unlike the other record tables: a statement's text holds its literals (an
-- e-mail address in a WHERE clause), so witness_reader sees activity entries in witness.log with their
-- values masked (docs/access.md, "Masking").
SELECT witness._make_record_table('witness.activity', 'activity_id', 'confidential');

CREATE FUNCTION witness.flush_activity() RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_flush_activity' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness.flush_activity() IS 'writes the activity events of this database waiting in shared memory into witness.activity now, in the calling transaction (the sealer does it on every pass); returns the rows written';
REVOKE ALL ON FUNCTION witness.flush_activity() FROM PUBLIC;

-- Schema and permission changes (issue 11): every DDL on a tracked table, GRANT and REVOKE on
-- tracked tables, role commands and changes of pg_witness settings, each a row of witness.ddl_event
-- and so an entry of the trail (docs/capture.md, "Schema and permission changes")
-------------------------------------------------------------------------------

COMMENT ON TABLE witness.ddl_event IS 'pg_witness: DDL that touched a tracked table (one row per table and command), GRANT and REVOKE on tracked tables, role commands and changes of witness.* settings; each row is captured into the trail';
COMMENT ON COLUMN witness.ddl_event.action IS 'what happened: altered, type changed, rewritten (every row, without row triggers), columns dropped, renamed, dropped, joined (rows now captured), left (rows no longer captured), uncaptured (another session''s temporary table joined); privileges granted, privileges revoked, owner changed; role created, role altered, role renamed, role dropped, membership granted, membership revoked, membership changed; setting changed';
COMMENT ON COLUMN witness.ddl_event.schema_name IS 'schema of the table the command touched; NULL for role and setting events';
COMMENT ON COLUMN witness.ddl_event.table_name IS 'the table the command touched (a tracked table, one of its partitions or inheritance children, or one of pg_witness''s own); NULL for role and setting events';
COMMENT ON COLUMN witness.ddl_event.role_name IS 'the role that ran the command (after SET ROLE; inside a SECURITY DEFINER function its caller, the function''s owner is detail->>''current_user'' for permission events)';
COMMENT ON COLUMN witness.ddl_event.statement IS 'the statement text the client sent, whole; NULL for a role command that sets a password (detail->>''statement_withheld'')';
COMMENT ON COLUMN witness.ddl_event.detail IS 'what changed: old and new name, dropped columns, rows of an attached table, privileges and grantees, role attributes with old and new values, the setting and its new value, ...';

CREATE OR REPLACE FUNCTION witness._touched_relations(classid oid, objid oid) RETURNS TABLE (relid oid, root oid)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	altered_types oid[];
BEGIN
	IF classid = 'pg_class'::regclass THEN
		-- An ALTER TABLE of a captured table is recorded once, for it; one of an uncaptured parent,
		-- for each captured table it recursed into.
		RETURN QUERY
		SELECT m.relid, m.root FROM witness._tracked_tree() m
		WHERE m.relid = objid
		   OR (m.relid IN (SELECT d.relid FROM witness._inheritance_descendants(objid) d)
		       AND NOT EXISTS (SELECT FROM witness._tracked_tree() x WHERE x.relid = objid));
		altered_types := ARRAY(SELECT c.reltype FROM pg_class c WHERE c.oid = objid AND c.reltype <> 0);
	ELSIF classid = 'pg_trigger'::regclass THEN
		RETURN QUERY SELECT m.relid, m.root FROM witness._tracked_tree() m
		WHERE m.relid = (SELECT tgrelid FROM pg_trigger WHERE oid = objid);
	ELSIF classid = 'pg_policy'::regclass THEN
		RETURN QUERY SELECT m.relid, m.root FROM witness._tracked_tree() m
		WHERE m.relid = (SELECT polrelid FROM pg_policy WHERE oid = objid);
	ELSIF classid = 'pg_rewrite'::regclass THEN
		RETURN QUERY SELECT m.relid, m.root FROM witness._tracked_tree() m
		WHERE m.relid = (SELECT ev_class FROM pg_rewrite WHERE oid = objid);
	ELSIF classid = 'pg_type'::regclass THEN
		altered_types := ARRAY[objid];
	END IF;
	-- Most altered types (a new table's row type) are used by nothing: pg_depend, indexed on the
	-- referenced object, says so without walking the tracked tables' types.
	IF cardinality(altered_types) > 0 AND EXISTS (
	       SELECT FROM pg_depend d
	       WHERE d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'
	         AND d.refobjid IN (SELECT t.oid FROM pg_type t WHERE t.oid = ANY (altered_types)
	                            UNION SELECT t.typarray FROM pg_type t WHERE t.oid = ANY (altered_types))) THEN
		RETURN QUERY
		WITH RECURSIVE uses(relid, root, t) AS (
			-- LATERAL, so that each captured table's columns come from the index on attrelid.
			SELECT m.relid, m.root, a.atttypid FROM witness._tracked_tree() m CROSS JOIN LATERAL (
				SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = m.relid AND a.attnum > 0 AND NOT a.attisdropped
				UNION ALL SELECT c.reloftype FROM pg_class c WHERE c.oid = m.relid AND c.reloftype <> 0
			) a
			UNION
			SELECT u.relid, u.root, x.inner_type FROM uses u CROSS JOIN LATERAL (
				SELECT y.typelem FROM pg_type y WHERE y.oid = u.t AND y.typelem <> 0
				UNION ALL SELECT y.typbasetype FROM pg_type y WHERE y.oid = u.t AND y.typbasetype <> 0
				UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = u.t
				UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = u.t
				UNION ALL SELECT a.atttypid FROM pg_type y JOIN pg_attribute a ON a.attrelid = y.typrelid
				          WHERE y.oid = u.t AND y.typrelid <> 0 AND a.attnum > 0 AND NOT a.attisdropped
			) x(inner_type)
		)
		SELECT DISTINCT u.relid, u.root FROM uses u WHERE u.t = ANY (altered_types);
	END IF;
END
$$;
COMMENT ON FUNCTION witness._touched_relations(oid, oid) IS 'internal: the captured relations a DDL command on an object (table, trigger, rule, policy, type) touched';

CREATE OR REPLACE FUNCTION witness._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	obj record;
	rel regclass;
BEGIN
	IF witness._in_internal_ddl() OR current_setting('session_replication_role') = 'replica'
	   OR EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() WHERE object_type = 'extension' AND object_name = 'pg_witness') THEN
		RETURN;
	END IF;
	-- A capture trigger goes only with witness.untrack() or with its table.
	FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
	           WHERE object_type = 'trigger' AND address_names[3] IN ('witness_capture', 'witness_capture_truncate') LOOP
		rel := to_regclass(format('%I.%I', obj.address_names[1], obj.address_names[2]));
		IF rel IS NOT NULL AND witness._tracked_root(rel) IS NOT NULL THEN
			RAISE EXCEPTION 'cannot drop pg_witness capture trigger % of tracked table %', obj.address_names[3], rel
				USING ERRCODE = 'object_in_use',
				      HINT = 'Call witness.untrack() to stop capture; that change is itself recorded.';
		END IF;
	END LOOP;
	-- A dropped tracked table, partition or child, whatever the command (DROP TABLE, DROP SCHEMA, DROP
	-- TYPE ... CASCADE, DROP OWNED, ...): recorded with its name, and a tracked one leaves the
	-- configuration (that change is captured too). A partition or child is recorded with its tracked
	-- table and its estimated rows, remembered when the command started (witness._on_drop_start()):
	-- its rows went without a row trigger firing. Those first, while the tracked table's row is there.
	FOR obj IN SELECT d.objid, d.schema_name, d.object_name, tt.relid AS root, m.v AS was
	           FROM pg_event_trigger_dropped_objects() d
	           LEFT JOIN witness.tracked_table tt ON tt.relid::oid = d.objid
	           LEFT JOIN LATERAL (SELECT witness._kept_drop_tree() -> d.objid::text AS v) m ON true
	           WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.object_type IN ('table', 'foreign table')
	             AND (tt.relid IS NOT NULL OR EXISTS (
	                  SELECT FROM pg_event_trigger_dropped_objects() x
	                  WHERE x.object_type = 'trigger' AND x.address_names[3] IN ('witness_capture', 'witness_capture_truncate')
	                    AND x.address_names[1] = d.schema_name AND x.address_names[2] = d.object_name))
	           ORDER BY tt.relid IS NOT NULL, d.objid LOOP
		IF obj.root IS NOT NULL THEN
			PERFORM witness._record_ddl(tg_tag, 'dropped', NULL, obj.schema_name, obj.object_name, obj.root::oid, '{"tracked": true}');
		ELSE
			-- A partition whose tracked table goes in the same command says so: that drop is recorded,
			-- and alerted, as the tracked table's.
			PERFORM witness._record_ddl(tg_tag, 'dropped', NULL, obj.schema_name, obj.object_name, (obj.was ->> 'root')::oid,
			                            CASE WHEN obj.was IS NULL THEN '{}'::jsonb
			                                 ELSE jsonb_build_object('part_of', obj.was -> 'tracked', 'rows_estimate', obj.was -> 'rows')
			                                      || CASE WHEN EXISTS (SELECT FROM pg_event_trigger_dropped_objects() x
			                                                           WHERE x.classid = 'pg_class'::regclass AND x.objsubid = 0
			                                                             AND x.objid = (obj.was ->> 'root')::oid)
			                                              THEN '{"with_tracked_table": true}'::jsonb ELSE '{}' END END);
		END IF;
		DELETE FROM witness.tracked_table WHERE relid::oid = obj.objid;
	END LOOP;
	-- Columns dropped from captured relations (ALTER TABLE ... DROP COLUMN, DROP TYPE ... CASCADE): their
	-- values are gone without a row trigger firing.
	FOR obj IN SELECT m.relid, m.root, array_agg(d.address_names[3] ORDER BY d.objsubid) AS cols
	           FROM pg_event_trigger_dropped_objects() d JOIN witness._tracked_tree() m ON m.relid = d.objid
	           WHERE d.classid = 'pg_class'::regclass AND d.objsubid > 0
	           GROUP BY m.relid, m.root LOOP
		PERFORM witness._record_ddl(tg_tag, 'columns dropped', obj.relid, NULL, NULL, obj.root,
		                            jsonb_build_object('columns', to_jsonb(obj.cols)));
	END LOOP;
	-- Triggers, rules and policies dropped from a captured table that stays (DROP TRIGGER, DROP RULE,
	-- DROP POLICY, DROP FUNCTION ... CASCADE): one event per command and table. Those of a dropped
	-- table went with it (recorded above).
	FOR obj IN SELECT m.relid, m.root, jsonb_agg(jsonb_build_object('object_type', d.object_type, 'object', d.object_identity)
	                                             ORDER BY d.object_identity) AS dropped
	           FROM pg_event_trigger_dropped_objects() d
	           JOIN pg_namespace n ON n.nspname = d.address_names[1]
	           JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = d.address_names[2]
	           JOIN witness._tracked_tree() m ON m.relid = c.oid
	           WHERE d.object_type IN ('trigger', 'rule', 'policy')
	           GROUP BY m.relid, m.root LOOP
		PERFORM witness._record_ddl(tg_tag, 'altered', obj.relid, NULL, NULL, obj.root,
		                            jsonb_build_object('dropped', obj.dropped));
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._on_sql_drop() IS 'internal: refuses to drop capture triggers of tracked tables, records dropped tables, columns, triggers, rules and policies, forgets dropped tracked tables';
REVOKE ALL ON FUNCTION witness._on_sql_drop() FROM PUBLIC;

-- When sql_drop fires, a dropped partition or inheritance child has left the tree it was captured
-- in, and when ddl_command_end fires, a renamed one has its new name. So at the start of every ALTER
-- TABLE, ALTER FOREIGN TABLE, ALTER INDEX and ALTER SCHEMA command (for the names), and of every DROP command (a partition goes with DROP TABLE, DROP SCHEMA, DROP OWNED,
-- but also with DROP FUNCTION ... CASCADE of its partition key's function, and more), the captured
-- relations that are not tracked tables themselves are kept for the rest of the transaction, with
-- their tracked table and estimated rows: in a backend variable that only pg_witness's functions
-- write (src/pg/capture/drop_tree.cpp), so that nobody can forge what a drop is recorded as.
CREATE FUNCTION witness._keep_drop_tree(tree jsonb) RETURNS void
AS 'MODULE_PATHNAME', 'witness_keep_drop_tree' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._keep_drop_tree(jsonb) IS 'internal: keeps, for the rest of this transaction, the captured partitions and children with their tracked tables that witness._on_sql_drop() reads';
REVOKE ALL ON FUNCTION witness._keep_drop_tree(jsonb) FROM PUBLIC;
CREATE FUNCTION witness._kept_drop_tree() RETURNS jsonb
AS 'MODULE_PATHNAME', 'witness_kept_drop_tree' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness._kept_drop_tree() IS 'internal: what witness._keep_drop_tree() kept in this transaction, NULL when nothing';
REVOKE ALL ON FUNCTION witness._kept_drop_tree() FROM PUBLIC;

CREATE FUNCTION witness._on_drop_start() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- ALTER INDEX: ALTER INDEX ... RENAME renames a table too; ALTER EXTENSION ... SET SCHEMA moves the
	-- tables an extension was given.
	IF (tg_tag NOT LIKE 'DROP %' AND tg_tag NOT IN ('ALTER TABLE', 'ALTER SCHEMA', 'ALTER FOREIGN TABLE', 'ALTER INDEX', 'ALTER EXTENSION'))
	   OR witness._in_internal_ddl() OR current_setting('session_replication_role') = 'replica' THEN
		RETURN;
	END IF;
	-- Most databases track no partitioned table nor inheritance tree: nothing to walk then. The walk
	-- is written here rather than read from witness._tracked_tree(), which also works out each
	-- member's kind and temporariness: this one runs at every DROP command and needs only the root.
	PERFORM witness._keep_drop_tree((
		WITH RECURSIVE tree(relid, root, tracked, depth) AS (
			SELECT i.inhrelid, t.relid::oid, format('%I.%I', t.schema_name, t.table_name), 1
			FROM witness.tracked_table t JOIN pg_inherits i ON i.inhparent = t.relid::oid
			WHERE t.schema_name <> 'witness'
			UNION ALL
			SELECT i.inhrelid, tr.root, tr.tracked, tr.depth + 1 FROM tree tr JOIN pg_inherits i ON i.inhparent = tr.relid
		)
		SELECT jsonb_object_agg(x.relid::text, jsonb_build_object('root', x.root, 'tracked', x.tracked,
		                                                          'rows', NULLIF(c.reltuples, -1)::bigint,
		                                                          'name', format('%I.%I', n.nspname, c.relname)))
		FROM (SELECT DISTINCT ON (tr.relid) tr.relid, tr.root, tr.tracked FROM tree tr
		      WHERE NOT EXISTS (SELECT FROM witness.tracked_table t WHERE t.relid::oid = tr.relid)
		      ORDER BY tr.relid, tr.depth, tr.root) x
		JOIN pg_class c ON c.oid = x.relid JOIN pg_namespace n ON n.oid = c.relnamespace));
END
$$;
COMMENT ON FUNCTION witness._on_drop_start() IS 'internal: at the start of a DROP, ALTER TABLE, ALTER FOREIGN TABLE, ALTER INDEX, ALTER EXTENSION or ALTER SCHEMA command, keeps each captured partition and inheritance child with its nearest tracked table, name and estimated rows, for witness._on_sql_drop() and the renames witness._on_ddl_command_end() records';
REVOKE ALL ON FUNCTION witness._on_drop_start() FROM PUBLIC;
-- Every command (DROP ... CASCADE of a function, collation or operator class can drop a partitioned
-- table's partitions): the function returns at once for all but DROP.
CREATE EVENT TRIGGER witness_drop_start ON ddl_command_start EXECUTE FUNCTION witness._on_drop_start();
ALTER EVENT TRIGGER witness_drop_start ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER witness_drop_start IS 'pg_witness: keeps the captured partitions and inheritance children before a DROP or ALTER command, so that their drop, or their rename, is recorded with their tracked table';

-- The object an ALTER EXTENSION ... ADD or DROP named, read from the collected command
-- (pg_event_trigger_ddl_commands() names only the extension).
CREATE FUNCTION witness._extension_member(command pg_ddl_command, OUT classid oid, OUT objid oid, OUT added boolean)
AS 'MODULE_PATHNAME', 'witness_extension_member' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness._extension_member(pg_ddl_command) IS 'internal: the object an ALTER EXTENSION ... ADD (added) or DROP command named, NULL for other commands';
REVOKE ALL ON FUNCTION witness._extension_member(pg_ddl_command) FROM PUBLIC;

-- After any DDL, as in version 0.1, and now also a partition or inheritance child renamed or moved
-- (ALTER TABLE ... RENAME or SET SCHEMA, ALTER SCHEMA ... RENAME): recorded as renamed, with its old
-- name (kept when the command started, witness._on_drop_start()) and its new one, under its tracked
-- table. A child's entries carry its name in their row key (docs/capture.md): this event links a
-- child's history under its old name to the one under its new name.
CREATE OR REPLACE FUNCTION witness._on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cmd record;
	ch record;
	t record;
	n bigint;
	changed oid[] := '{}';
BEGIN
	-- pg_witness's own DDL, or a restore (pg_restore with session_replication_role = replica, a
	-- superuser-only setting) that recreates the triggers itself.
	IF witness._in_internal_ddl() OR current_setting('session_replication_role') = 'replica' THEN
		RETURN;
	END IF;
	-- Nobody but pg_witness creates, renames or alters a trigger with a reserved name or function.
	FOR cmd IN SELECT d.command_tag, tg.tgname, tg.tgrelid::regclass AS rel
	           FROM pg_event_trigger_ddl_commands() d JOIN pg_trigger tg ON tg.oid = d.objid
	           JOIN pg_class c ON c.oid = tg.tgrelid
	           WHERE d.classid = 'pg_trigger'::regclass AND witness._is_reserved_trigger(tg)
	             AND c.relnamespace <> 'witness'::regnamespace LOOP
		RAISE EXCEPTION 'trigger "%" on % uses a name or function reserved for pg_witness', cmd.tgname, cmd.rel
			USING ERRCODE = 'reserved_name',
			      DETAIL = 'Trigger names witness_capture and witness_capture_truncate and the functions witness.capture() and witness.capture_truncate() are reserved for pg_witness.',
			      HINT = 'Call witness.track() to capture a table, witness.untrack() to stop; both are recorded.';
	END LOOP;
	-- Refuse disabled or altered capture triggers; install them on new partitions and inheritance
	-- children, remove them from relations that left a tracked table.
	FOR ch IN SELECT * FROM witness._sync_capture_triggers() LOOP
		changed := changed || ch.relid::oid;
		IF ch.change = 'uncaptured' THEN
			CONTINUE WHEN EXISTS (SELECT FROM witness.ddl_event e WHERE e.action = 'uncaptured'
			                      AND e.detail ->> 'relid' = ch.relid::text AND e.schema_name = (
			                          SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			                          WHERE c.oid = ch.relid));
			PERFORM witness._record_ddl(tg_tag, 'uncaptured', ch.relid, NULL, NULL, witness._tracked_root(ch.relid),
			                            jsonb_build_object('relid', ch.relid, 'reason',
			                                               'a temporary table of another session; its rows are not captured'));
		ELSIF ch.change = 'joined' THEN
			-- Rows that entered the tracked table without a row trigger firing (ATTACH PARTITION, INHERIT).
			n := witness._capture_rows(ch.relid::regclass);
			PERFORM witness._record_ddl(tg_tag, 'joined', ch.relid, NULL, NULL, witness._tracked_root(ch.relid),
			                            jsonb_build_object('rows_captured', n));
		ELSE
			-- Rows that left the tracked table without a row trigger firing (DETACH PARTITION, NO INHERIT).
			n := witness._count_rows(ch.relid::regclass);
			PERFORM witness._record_ddl(tg_tag, 'left', ch.relid, NULL, NULL,
			                            (SELECT r.root FROM pg_event_trigger_ddl_commands() d
			                             CROSS JOIN LATERAL witness._touched_relations(d.classid, d.objid) r LIMIT 1),
			                            jsonb_build_object('rows_no_longer_captured', n));
		END IF;
	END LOOP;
	-- Configuration follows renamed and dropped columns, and renamed tables and schemas.
	PERFORM witness._follow_column_changes(tt.relid) FROM witness.tracked_table tt
	WHERE tt.schema_name <> 'witness';
	-- A subject column retyped to a type whose values a subject's exact text would miss (the padding of
	-- character(n), numeric, ...) is refused as track() refuses it: later entries would carry a subject
	-- text nobody asks for, and an erasure would pass over them (found by an attack review).
	IF tg_tag = 'ALTER TABLE' THEN
		PERFORM witness._check_subject_type(tt.relid, tt.subject_column) FROM witness.tracked_table tt
		WHERE tt.subject_column IS NOT NULL AND tt.schema_name <> 'witness'
		  AND tt.relid IN (SELECT d.objid FROM pg_event_trigger_ddl_commands() d WHERE d.classid = 'pg_class'::regclass);
	END IF;
	FOR t IN SELECT tt.relid, tt.schema_name AS old_schema, tt.table_name AS old_name, n.nspname, c.relname
	         FROM witness.tracked_table tt JOIN pg_class c ON c.oid = tt.relid JOIN pg_namespace n ON n.oid = c.relnamespace
	         WHERE (n.nspname, c.relname) IS DISTINCT FROM (tt.schema_name, tt.table_name)
	         ORDER BY tt.schema_name, tt.table_name LOOP
		changed := changed || t.relid::oid;
		UPDATE witness.tracked_table SET schema_name = t.nspname, table_name = t.relname WHERE relid = t.relid;
		PERFORM witness._record_ddl(tg_tag, 'renamed', t.relid, NULL, NULL, t.relid,
		                            jsonb_build_object('old_name', format('%I.%I', t.old_schema, t.old_name),
		                                               'new_name', format('%I.%I', t.nspname, t.relname)));
		PERFORM witness._invalidate(t.relid);
	END LOOP;
	-- Partitions and inheritance children renamed or moved: their names as the command started.
	IF tg_tag IN ('ALTER TABLE', 'ALTER SCHEMA', 'ALTER FOREIGN TABLE', 'ALTER INDEX', 'ALTER EXTENSION') THEN
		FOR t IN SELECT k.key::oid AS relid, (k.value ->> 'root')::oid AS root, k.value ->> 'name' AS old_name,
		                format('%I.%I', n.nspname, c.relname) AS new_name
		         FROM jsonb_each(COALESCE(witness._kept_drop_tree(), '{}')) k
		         JOIN pg_class c ON c.oid = k.key::oid JOIN pg_namespace n ON n.oid = c.relnamespace
		         WHERE k.value ->> 'name' IS DISTINCT FROM format('%I.%I', n.nspname, c.relname)
		         ORDER BY k.value ->> 'name' LOOP
			changed := changed || t.relid;
			PERFORM witness._record_ddl(tg_tag, 'renamed', t.relid, NULL, NULL, t.root,
			                            jsonb_build_object('old_name', t.old_name, 'new_name', t.new_name));
		END LOOP;
	END IF;
	-- A captured relation made a member of an extension, or taken out of one: pg_dump leaves an
	-- extension's tables out of its dumps, and DROP EXTENSION drops them.
	IF tg_tag = 'ALTER EXTENSION' THEN
		FOR t IN SELECT DISTINCT r.relid, r.root, d.object_identity AS extension, m.added,
		                pg_describe_object(m.classid, m.objid, 0) AS member
		         FROM pg_event_trigger_ddl_commands() d CROSS JOIN LATERAL witness._extension_member(d.command) m
		         CROSS JOIN LATERAL witness._touched_relations(m.classid, m.objid) r
		         WHERE m.classid = 'pg_class'::regclass AND r.relid = m.objid LOOP
			changed := changed || t.relid;
			PERFORM witness._record_ddl(tg_tag, 'altered', t.relid, NULL, NULL, t.root,
			                            jsonb_build_object('object_type', 'extension', 'object', t.extension,
			                                               'member', t.member,
			                                               'membership', CASE WHEN t.added THEN 'added to the extension'
			                                                                  ELSE 'dropped from the extension' END));
		END LOOP;
	END IF;
	-- Everything else this command did to a captured relation: who, which table, what statement.
	FOR cmd IN SELECT DISTINCT r.relid, r.root, d.command_tag, d.object_type, d.object_identity
	           FROM pg_event_trigger_ddl_commands() d CROSS JOIN LATERAL witness._touched_relations(d.classid, d.objid) r
	           WHERE NOT r.relid = ANY (changed) LOOP
		PERFORM witness._record_ddl(cmd.command_tag, CASE WHEN cmd.command_tag IN ('ALTER TYPE', 'ALTER DOMAIN') THEN 'type changed' ELSE 'altered' END,
		                            cmd.relid, NULL, NULL, cmd.root,
		                            jsonb_build_object('object_type', cmd.object_type, 'object', cmd.object_identity));
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._on_ddl_command_end() IS 'internal: after any DDL, refuses tampered capture triggers, keeps capture on every partition and child, follows renames (of tracked tables, and of partitions and children, recorded with both names), and records what the DDL did to tracked tables';

-- A command that rewrites every row of a captured relation (ALTER TABLE ... TYPE, with or without
-- USING; a column added with a volatile default; SET LOGGED or UNLOGGED; SET ACCESS METHOD) changes
-- values without a row trigger firing: recorded as rewritten, with why and about how many rows.
CREATE FUNCTION witness._on_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel oid := pg_event_trigger_table_rewrite_oid();
	why integer := pg_event_trigger_table_rewrite_reason();
	root oid;
BEGIN
	IF witness._in_internal_ddl() OR current_setting('session_replication_role') = 'replica' THEN
		RETURN;
	END IF;
	SELECT m.root INTO root FROM witness._tracked_tree() m WHERE m.relid = rel;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	PERFORM witness._record_ddl(tg_tag, 'rewritten', rel, NULL, NULL, root, jsonb_build_object(
		'reasons', to_jsonb(ARRAY(SELECT r.name FROM (VALUES (1, 'persistence changed'), (2, 'column added with a volatile default'),
		                                                      (4, 'column type changed'), (8, 'access method changed')) r(bit, name)
		                          WHERE why & r.bit <> 0 ORDER BY r.bit)),
		'rows_estimate', (SELECT NULLIF(c.reltuples, -1)::bigint FROM pg_class c WHERE c.oid = rel)));
END
$$;
COMMENT ON FUNCTION witness._on_table_rewrite() IS 'internal: records a command that rewrites every row of a captured relation (ALTER TABLE ... TYPE, a volatile default, ...)';
REVOKE ALL ON FUNCTION witness._on_table_rewrite() FROM PUBLIC;
CREATE EVENT TRIGGER witness_table_rewrite ON table_rewrite EXECUTE FUNCTION witness._on_table_rewrite();
ALTER EVENT TRIGGER witness_table_rewrite ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER witness_table_rewrite IS 'pg_witness: records commands that rewrite every row of a captured relation';

-- Called before ALTER TABLE ... RENAME COLUMN of a captured relation, and ALTER TYPE ... RENAME
-- ATTRIBUTE of a composite type (src/pg/capture/column_rename_guard.cpp), while the old name is still
-- known. Excluded columns are excluded by name, and the configuration follows renames by the tracked
-- table's attribute numbers. Refused:
-- - giving a column of a captured relation (or of a typed table of the type) a name the configuration
--   excludes: a captured column would stop being captured. A name stays excluded while any relation
--   of the tracked table still has such a column, so after ALTER TABLE ONLY ... DROP COLUMN a child
--   may be free to take it;
-- - renaming, in a partition or child, a column the configuration names (excluded, tagged, key or
--   subject): a child can do so only once the tracked table lost its own, and the configuration
--   would take the rename for a drop, or keep the name for a sibling that still has it; the renamed
--   column would be captured or shown.
CREATE FUNCTION witness._refuse_column_rename(rel oid, old_name text, new_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT t.rel::regclass AS rel, tt.relid AS root, tt AS cfg
	         FROM (SELECT _refuse_column_rename.rel AS rel
	               UNION
	               SELECT c.oid FROM pg_class c JOIN pg_class ct ON ct.oid = _refuse_column_rename.rel
	               WHERE ct.relkind = 'c' AND c.reloftype = ct.reltype) t
	         JOIN witness.tracked_table tt ON tt.relid = witness._tracked_root(t.rel) LOOP
		IF new_name = ANY ((r.cfg).exclude_columns) THEN
			RAISE EXCEPTION 'cannot rename a column of % to "%", a name pg_witness excludes from capture', r.rel, new_name
				USING ERRCODE = 'object_in_use',
				      DETAIL = format('The configuration of tracked table %s excludes columns named %I from capture: the renamed column would no longer be captured.', r.root, new_name),
				      HINT = 'Choose another name, or change the exclusions with witness.track() (recorded).';
		END IF;
		IF r.root::oid <> r.rel::oid AND old_name = ANY (witness._configured_columns(r.cfg)) THEN
			RAISE EXCEPTION 'cannot rename column "%" of %: pg_witness could not follow the rename', old_name, r.rel
				USING ERRCODE = 'object_in_use',
				      DETAIL = format('The configuration of tracked table %s names column %I; a rename in one of its partitions or children would be taken for a drop.', r.root, old_name),
				      HINT = 'Keep the name, or call witness.track() with the new name first (recorded).';
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._refuse_column_rename(oid, text, text) IS 'internal: refuses, before it runs, a column rename that would give a captured column an excluded name or that the configuration could not follow';
REVOKE ALL ON FUNCTION witness._refuse_column_rename(oid, text, text) FROM PUBLIC;

-- One permission or setting event in witness.ddl_event (and so in the trail). rel names the table for a
-- privilege event, NULL for role and setting events. A role command that sets a password keeps its
-- statement out: the text holds the password.
CREATE FUNCTION witness._record_permission_row(command_tag text, action text, rel oid, detail jsonb,
                                               withhold_statement boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.ddl_event (command_tag, action, schema_name, table_name, tracked_table, role_name, statement, detail)
	SELECT command_tag, action, n.nspname, c.relname,
	       (SELECT format('%I.%I', t.schema_name, t.table_name) FROM witness.tracked_table t
	        WHERE t.relid::oid = witness._tracked_root(rel)::oid),
	       witness._outer_user(), CASE WHEN withhold_statement THEN NULL ELSE current_query() END, detail
	FROM (SELECT) AS one
	LEFT JOIN pg_class c ON c.oid = rel LEFT JOIN pg_namespace n ON n.oid = c.relnamespace;
	PERFORM witness._end_internal_ddl();
END
$$;
COMMENT ON FUNCTION witness._record_permission_row(text, text, oid, jsonb, boolean) IS 'internal: records one permission or setting event in witness.ddl_event (and so in the trail)';
REVOKE ALL ON FUNCTION witness._record_permission_row(text, text, oid, jsonb, boolean) FROM PUBLIC;

-- Roles as they stand: the attributes that matter for access (a password only as a digest, to notice a
-- change; it never leaves these functions) and every membership they take part in, keyed by OID so
-- that a rename is told from a drop and a create.
CREATE FUNCTION witness._role_state(role_ids oid[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'roles', COALESCE((SELECT jsonb_object_agg(a.oid::text, jsonb_build_object(
			'name', a.rolname, 'superuser', a.rolsuper, 'createrole', a.rolcreaterole,
			'bypassrls', a.rolbypassrls, 'replication', a.rolreplication, 'login', a.rolcanlogin,
			'createdb', a.rolcreatedb, 'inherit', a.rolinherit, 'connection_limit', a.rolconnlimit,
			'valid_until', a.rolvaliduntil, 'password', md5(a.rolpassword)))
			FROM pg_authid a WHERE a.oid = ANY (role_ids)), '{}'),
		'members', COALESCE((SELECT jsonb_object_agg(m.roleid::text || ':' || m.member::text, jsonb_build_object(
			'role', r.rolname, 'member', u.rolname, 'admin_option', m.admin_option, 'grantor', g.rolname,
			'grantor_id', m.grantor))
			FROM pg_auth_members m JOIN pg_authid r ON r.oid = m.roleid JOIN pg_authid u ON u.oid = m.member
			LEFT JOIN pg_authid g ON g.oid = m.grantor
			WHERE m.roleid = ANY (role_ids) OR m.member = ANY (role_ids)), '{}'))
$$;
COMMENT ON FUNCTION witness._role_state(oid[]) IS 'internal: attributes and memberships of roles, to tell what a role command changed';
REVOKE ALL ON FUNCTION witness._role_state(oid[]) FROM PUBLIC;

-- Owner, table privileges and column privileges of relations.
CREATE FUNCTION witness._relation_state(rels oid[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(jsonb_object_agg(c.oid::text, jsonb_build_object(
		'owner', pg_get_userbyid(c.relowner),
		'acl', to_jsonb(c.relacl::text[]),
		'column_acl', (SELECT COALESCE(jsonb_object_agg(a.attname, a.attacl::text[]), '{}') FROM pg_attribute a
		               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL))), '{}')
	FROM pg_class c WHERE c.oid = ANY (rels)
$$;
COMMENT ON FUNCTION witness._relation_state(oid[]) IS 'internal: owner and privileges of relations, to tell what a privilege command changed';
REVOKE ALL ON FUNCTION witness._relation_state(oid[]) FROM PUBLIC;

-- The relations whose privileges are recorded: captured ones (tracked tables, their partitions and
-- children) and pg_witness's own. For GRANT, those the command names, directly or through ALL TABLES
-- IN SCHEMA; for REASSIGN OWNED and DROP OWNED, all of them.
CREATE FUNCTION witness._permission_relations(summary jsonb) RETURNS oid[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(array_agg(c.oid ORDER BY c.oid), '{}') FROM pg_class c
	WHERE (c.oid IN (SELECT m.relid FROM witness._tracked_tree() m)
	       OR (c.relnamespace = 'witness'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')))
	  AND (summary ->> 'kind' = 'owned'
	       OR c.oid IN (SELECT r::oid FROM jsonb_array_elements_text(COALESCE(summary -> 'relations', '[]')) r)
	       OR (summary ->> 'object_type' = 'table' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
	           AND c.relnamespace IN (SELECT n.oid FROM pg_namespace n
	                                  WHERE n.nspname IN (SELECT jsonb_array_elements_text(summary -> 'in_schemas')))))
$$;
COMMENT ON FUNCTION witness._permission_relations(jsonb) IS 'internal: the captured and pg_witness relations whose privileges a command may change';
REVOKE ALL ON FUNCTION witness._permission_relations(jsonb) FROM PUBLIC;

-- The roles a role command names (as summarized by the utility hook), by OID.
CREATE FUNCTION witness._named_roles(summary jsonb) RETURNS oid[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(array_agg(a.oid), '{}') FROM pg_authid a
	WHERE a.rolname IN (SELECT jsonb_array_elements_text(COALESCE(summary -> 'targets', '[]') || COALESCE(summary -> 'granted_roles', '[]')
	                                                    || COALESCE(summary -> 'grantees', '[]')))
$$;
COMMENT ON FUNCTION witness._named_roles(jsonb) IS 'internal: the roles a role command names';
REVOKE ALL ON FUNCTION witness._named_roles(jsonb) FROM PUBLIC;

-- Privileges on pg_witness itself that a GRANT or REVOKE names: its functions (directly or through ALL
-- FUNCTIONS IN SCHEMA witness), schema witness, and witness.* settings (GRANT SET, ALTER SYSTEM ON
-- PARAMETER), with the settings that can switch capture off in other hands: session_replication_role
-- (under which the event triggers stand aside), allow_system_table_mods and shared_preload_libraries.
-- Each is {"acl": ...}, keyed by function identity, "witness" or setting name.
CREATE FUNCTION witness._witness_object_state(summary jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'functions', (SELECT COALESCE(jsonb_object_agg(p.oid::regprocedure::text, jsonb_build_object('acl', p.proacl::text[])), '{}')
		              FROM pg_proc p WHERE p.pronamespace = 'witness'::regnamespace
		                AND (p.oid IN (SELECT f::oid FROM jsonb_array_elements_text(COALESCE(summary -> 'functions', '[]')) f)
		                     OR (summary ->> 'object_type' = 'function' AND summary -> 'in_schemas' ? 'witness'))),
		'schemas', (SELECT COALESCE(jsonb_object_agg(n.nspname, jsonb_build_object('acl', n.nspacl::text[])), '{}')
		            FROM pg_namespace n WHERE n.nspname = 'witness' AND COALESCE(summary -> 'schemas', '[]') ? 'witness'),
		'parameters', (SELECT COALESCE(jsonb_object_agg(x.name, jsonb_build_object(
		                   'acl', (SELECT a.paracl::text[] FROM pg_parameter_acl a WHERE a.parname = x.name))), '{}')
		               FROM jsonb_array_elements_text(COALESCE(summary -> 'parameters', '[]')) x(name)
		               WHERE lower(x.name) LIKE 'witness.%'
		                  OR lower(x.name) IN ('session_replication_role', 'allow_system_table_mods', 'shared_preload_libraries')))
$$;
COMMENT ON FUNCTION witness._witness_object_state(jsonb) IS 'internal: privileges on pg_witness functions, schema witness and witness.* settings that a GRANT or REVOKE names';
REVOKE ALL ON FUNCTION witness._witness_object_state(jsonb) FROM PUBLIC;

-- Called by the utility hook before a role, privilege or setting command runs: what it may change.
-- SECURITY DEFINER (pg_authid is readable by superusers only); the hook calls it through the function
-- manager, so no role needs EXECUTE on it, and none has it.
CREATE FUNCTION witness._permission_state(summary jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	CASE summary ->> 'kind'
	WHEN 'role' THEN
		RETURN witness._role_state(witness._named_roles(summary));
	WHEN 'grant', 'owned' THEN
		RETURN jsonb_build_object('relations', witness._relation_state(witness._permission_relations(summary)))
		       || witness._witness_object_state(summary);
	ELSE
		RETURN '{}'::jsonb;
	END CASE;
END
$$;
COMMENT ON FUNCTION witness._permission_state(jsonb) IS 'internal: the roles or privileges a role or privilege command may change, read before it runs';
REVOKE ALL ON FUNCTION witness._permission_state(jsonb) FROM PUBLIC;

-- What changed between two states of one role: {"attribute": {"old": ..., "new": ...}} for each
-- attribute that differs (old is null for a created role, new for a dropped one). A password is only
-- said to be set or not, and changed.
CREATE FUNCTION witness._role_changes(old jsonb, new jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(jsonb_object_agg(k, CASE WHEN k = 'password'
	                                         THEN jsonb_build_object('old', CASE WHEN old IS NULL THEN NULL ELSE old ->> k IS NOT NULL END,
	                                                                 'new', CASE WHEN new IS NULL THEN NULL ELSE new ->> k IS NOT NULL END,
	                                                                 'changed', true)
	                                         ELSE jsonb_build_object('old', old -> k, 'new', new -> k) END), '{}')
	FROM unnest(ARRAY['name', 'superuser', 'createrole', 'bypassrls', 'replication', 'login', 'createdb', 'inherit',
	                  'connection_limit', 'valid_until', 'password']) k
	WHERE COALESCE(old -> k, 'null') IS DISTINCT FROM COALESCE(new -> k, 'null')
$$;
COMMENT ON FUNCTION witness._role_changes(jsonb, jsonb) IS 'internal: the attributes of a role that differ between two states';
REVOKE ALL ON FUNCTION witness._role_changes(jsonb, jsonb) FROM PUBLIC;

-- pg_witness's own roles among names, for the detail of role events.
CREATE FUNCTION witness._witness_roles(names text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN count(*) = 0 THEN '{}'::jsonb
	            ELSE jsonb_build_object('witness_roles', jsonb_agg(DISTINCT n)) END
	FROM unnest(names) n WHERE n IN ('witness_admin', 'witness_auditor', 'witness_reader')
$$;
COMMENT ON FUNCTION witness._witness_roles(text[]) IS 'internal: {"witness_roles": [...]} naming the pg_witness roles among names, or {}';
REVOKE ALL ON FUNCTION witness._witness_roles(text[]) FROM PUBLIC;

-- Called by the utility hook after a role, privilege or setting command succeeded, in its transaction:
-- records what it did, one row per role, membership, table or setting. Returns the rows written.
CREATE FUNCTION witness._record_permission_event(command_tag text, summary jsonb, before jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	after jsonb;
	r record;
	changes jsonb;
	detail jsonb;
	written integer := 0;
	withhold boolean := COALESCE((summary ->> 'statement_withheld')::boolean, false);
	who jsonb := jsonb_build_object('current_user', summary -> 'current_user');
BEGIN
	IF summary ->> 'kind' = 'role' THEN
		after := witness._role_state(ARRAY(SELECT k::oid FROM jsonb_object_keys(before -> 'roles') k)
		                             || witness._named_roles(summary));
		-- Roles: each one the command created, altered, renamed or dropped (named by CREATE, ALTER,
		-- DROP ROLE even when nothing changed), with every changed attribute.
		FOR r IN SELECT k.k, before -> 'roles' -> k.k AS old, after -> 'roles' -> k.k AS new
		         FROM (SELECT jsonb_object_keys(before -> 'roles') UNION SELECT jsonb_object_keys(after -> 'roles')) k(k)
		         ORDER BY COALESCE(before -> 'roles' -> k.k ->> 'name', after -> 'roles' -> k.k ->> 'name') LOOP
			changes := witness._role_changes(r.old, r.new);
			CONTINUE WHEN changes = '{}' AND NOT COALESCE(r.old ->> 'name', r.new ->> 'name')
			                                     IN (SELECT jsonb_array_elements_text(COALESCE(summary -> 'targets', '[]')));
			detail := jsonb_build_object('role', COALESCE(r.new ->> 'name', r.old ->> 'name'), 'changes', changes,
			                             -- The privileged attributes this gave or took away.
			                             'privileged', COALESCE((SELECT jsonb_agg(p ORDER BY p) FROM jsonb_object_keys(changes) p
			                                                     WHERE p IN ('superuser', 'bypassrls', 'createrole', 'replication', 'login')
			                                                       AND 'true' IN (changes -> p -> 'old', changes -> p -> 'new')), '[]'))
			          || who || witness._witness_roles(ARRAY[r.old ->> 'name', r.new ->> 'name']);
			PERFORM witness._record_permission_row(command_tag,
			        CASE WHEN r.old IS NULL THEN 'role created' WHEN r.new IS NULL THEN 'role dropped'
			             WHEN changes ? 'name' THEN 'role renamed' ELSE 'role altered' END,
			        NULL, detail, withhold);
			written := written + 1;
		END LOOP;
		-- Memberships granted, revoked (also by DROP ROLE) or changed (the admin option).
		FOR r IN SELECT before -> 'members' -> k.k AS old, after -> 'members' -> k.k AS new
		         FROM (SELECT jsonb_object_keys(before -> 'members') UNION SELECT jsonb_object_keys(after -> 'members')) k(k)
		         -- Names are compared by OID (the key): a renamed role's memberships did not change.
		         WHERE ((before -> 'members' -> k.k) - 'role' - 'member' - 'grantor')
		               IS DISTINCT FROM ((after -> 'members' -> k.k) - 'role' - 'member' - 'grantor')
		         ORDER BY COALESCE(before -> 'members' -> k.k, after -> 'members' -> k.k) ->> 'role',
		                  COALESCE(before -> 'members' -> k.k, after -> 'members' -> k.k) ->> 'member' LOOP
			detail := jsonb_build_object('role', COALESCE(r.new, r.old) -> 'role', 'member', COALESCE(r.new, r.old) -> 'member',
			                             'admin_option', jsonb_build_object('old', r.old -> 'admin_option', 'new', r.new -> 'admin_option'),
			                             'grantor', COALESCE(r.new, r.old) -> 'grantor')
			          || who || witness._witness_roles(ARRAY[COALESCE(r.new, r.old) ->> 'role', COALESCE(r.new, r.old) ->> 'member']);
			PERFORM witness._record_permission_row(command_tag,
			        CASE WHEN r.old IS NULL THEN 'membership granted' WHEN r.new IS NULL THEN 'membership revoked'
			             ELSE 'membership changed' END,
			        NULL, detail, withhold);
			written := written + 1;
		END LOOP;
	ELSIF summary ->> 'kind' = 'grant' THEN
		-- GRANT and REVOKE: one row per captured (or pg_witness) table the command named, with what it
		-- said and the table's privileges before and after.
		FOR r IN SELECT k::oid AS relid, before -> 'relations' -> k AS old FROM jsonb_object_keys(before -> 'relations') k
		         ORDER BY k::oid::regclass::text LOOP
			after := witness._relation_state(ARRAY[r.relid]) -> r.relid::text;
			CONTINUE WHEN after IS NULL;
			detail := jsonb_build_object('grantees', summary -> 'grantees', 'privileges', summary -> 'privileges',
			                             'grant_option', summary -> 'grant_option', 'cascade', summary -> 'cascade',
			                             'grantor', COALESCE(NULLIF(summary -> 'granted_by', 'null'), summary -> 'current_user'),
			                             'acl', jsonb_build_object('old', r.old -> 'acl', 'new', after -> 'acl'),
			                             'column_acl', jsonb_build_object('old', r.old -> 'column_acl', 'new', after -> 'column_acl'))
			          || who || witness._witness_roles(ARRAY(SELECT jsonb_array_elements_text(summary -> 'grantees')));
			PERFORM witness._record_permission_row(command_tag,
			        CASE WHEN (summary ->> 'is_grant')::boolean THEN 'privileges granted' ELSE 'privileges revoked' END,
			        r.relid, detail, false);
			written := written + 1;
		END LOOP;
		-- On pg_witness's functions, schema and settings: one row per command and kind of object, naming
		-- each object with its privileges before and after.
		FOR r IN SELECT kinds.k, before -> kinds.k AS old FROM unnest(ARRAY['functions', 'schemas', 'parameters']) kinds(k)
		         WHERE before -> kinds.k <> '{}' LOOP
			after := witness._witness_object_state(summary) -> r.k;
			detail := jsonb_build_object('object_type', summary -> 'object_type',
			                             'objects', (SELECT jsonb_agg(o ORDER BY o) FROM jsonb_object_keys(r.old) o),
			                             'grantees', summary -> 'grantees', 'privileges', summary -> 'privileges',
			                             'grant_option', summary -> 'grant_option', 'cascade', summary -> 'cascade',
			                             'grantor', COALESCE(NULLIF(summary -> 'granted_by', 'null'), summary -> 'current_user'),
			                             'acl', (SELECT jsonb_object_agg(o, jsonb_build_object('old', r.old -> o -> 'acl', 'new', after -> o -> 'acl'))
			                                     FROM jsonb_object_keys(r.old) o
			                                     WHERE (r.old -> o -> 'acl') IS DISTINCT FROM (after -> o -> 'acl')))
			          || who || witness._witness_roles(ARRAY(SELECT jsonb_array_elements_text(summary -> 'grantees')));
			PERFORM witness._record_permission_row(command_tag,
			        CASE WHEN (summary ->> 'is_grant')::boolean THEN 'privileges granted' ELSE 'privileges revoked' END,
			        NULL, detail, false);
			written := written + 1;
		END LOOP;
	ELSIF summary ->> 'kind' = 'owned' THEN
		-- REASSIGN OWNED, DROP OWNED: each captured or pg_witness table whose owner or privileges changed
		-- (a dropped one is recorded by the event trigger).
		FOR r IN SELECT k::oid AS relid, before -> 'relations' -> k AS old FROM jsonb_object_keys(before -> 'relations') k
		         ORDER BY k::oid LOOP
			after := witness._relation_state(ARRAY[r.relid]) -> r.relid::text;
			CONTINUE WHEN after IS NULL OR after = r.old;
			detail := jsonb_build_object('roles', summary -> 'roles',
			                             'owner', jsonb_build_object('old', r.old -> 'owner', 'new', after -> 'owner'),
			                             'acl', jsonb_build_object('old', r.old -> 'acl', 'new', after -> 'acl'),
			                             'column_acl', jsonb_build_object('old', r.old -> 'column_acl', 'new', after -> 'column_acl'))
			          || who;
			PERFORM witness._record_permission_row(command_tag,
			        CASE WHEN r.old -> 'owner' IS DISTINCT FROM after -> 'owner' THEN 'owner changed' ELSE 'privileges revoked' END,
			        r.relid, detail, false);
			written := written + 1;
		END LOOP;
	ELSIF summary ->> 'kind' = 'setting' THEN
		-- Setting names are case-insensitive: recorded in lower case, as SHOW and pg_settings name them.
		PERFORM witness._record_permission_row(command_tag, 'setting changed', NULL,
		        summary - 'kind' - 'statement_withheld' || jsonb_build_object('setting', lower(summary ->> 'setting')), false);
		written := 1;
	END IF;
	RETURN written;
END
$$;
COMMENT ON FUNCTION witness._record_permission_event(text, jsonb, jsonb) IS 'internal: records what a role, privilege or setting command did, after it succeeded, in its transaction';
REVOKE ALL ON FUNCTION witness._record_permission_event(text, jsonb, jsonb) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Per-subject access (docs/personal-data.md, "Per-subject access"): a role bound to a data subject
-- reads, through the view witness.my_trail, the entries about that subject and nothing else,
-- decrypted; every binding, unbinding and read is recorded in the chain
-------------------------------------------------------------------------------

-- One row per binding and per unbinding, captured into the trail like witness.erasure. The subject
-- is kept only as a salted digest here (the chain entry of a row cannot be erased); the subject
-- itself, which witness.my_trail needs to find the entries, is in witness.bound_subject, sealed
-- under the master key, for as long as the binding lasts.
CREATE TABLE witness.subject_binding (
	binding_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event text NOT NULL CHECK (event IN ('bound', 'unbound')),
	ends_binding bigint,
	role_oid oid NOT NULL,
	role_name text NOT NULL,
	subject_salt bytea NOT NULL,
	subject_digest bytea NOT NULL,
	erasure_id bigint,
	recorded_by text NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	CHECK ((event = 'bound') = (ends_binding IS NULL))
);
COMMENT ON TABLE witness.subject_binding IS 'pg_witness: one row when a role is bound to a data subject (witness.bind_subject()) and one when the binding ends (witness.unbind_subject(), or an erasure of the subject); each row is captured into the trail';
COMMENT ON COLUMN witness.subject_binding.event IS 'bound or unbound';
COMMENT ON COLUMN witness.subject_binding.ends_binding IS 'unbound: the binding_id of the bound row this ends; NULL for bound';
COMMENT ON COLUMN witness.subject_binding.role_oid IS 'the bound role, by OID; witness.my_trail also requires it to have kept role_name, so that no later role with that OID or that name inherits the binding';
COMMENT ON COLUMN witness.subject_binding.role_name IS 'the bound role''s name when the row was written';
COMMENT ON COLUMN witness.subject_binding.subject_salt IS '32 random bytes drawn for the binding (an unbound row repeats those of the binding it ends)';
COMMENT ON COLUMN witness.subject_binding.subject_digest IS 'SHA-256(0x04 || subject_salt || subject as UTF-8): the subject, confirmable by whoever already knows it, not readable';
COMMENT ON COLUMN witness.subject_binding.erasure_id IS 'unbound: the erasure of the subject (witness.erase_subject()) that ended the binding; NULL when witness.unbind_subject() did';
COMMENT ON COLUMN witness.subject_binding.recorded_by IS 'the role that bound or unbound (after SET ROLE)';
COMMENT ON COLUMN witness.subject_binding.recorded_at IS 'when';
COMMENT ON SEQUENCE witness.subject_binding_binding_id_seq IS 'pg_witness subject binding ids';
SELECT witness._make_record_table('witness.subject_binding', 'binding_id');
-- Whether a binding has ended, without reading the table's whole history at every read of my_trail.
CREATE INDEX subject_binding_ends ON witness.subject_binding (ends_binding) WHERE ends_binding IS NOT NULL;
COMMENT ON INDEX witness.subject_binding_ends IS 'the unbound row of each ended binding: how witness.my_trail checks that a binding is in force';

-- The bindings in force, with their subject sealed (src/pg/access/my_trail.cpp). Not a record table:
-- a row goes when its binding ends, and with it the last copy of the subject pg_witness kept for it.
-- witness.my_trail trusts a row only when it matches its bound entry of witness.subject_binding.
CREATE TABLE witness.bound_subject (
	binding_id bigint PRIMARY KEY,
	role_oid oid NOT NULL,
	sealed_subject bytea NOT NULL
);
CREATE INDEX bound_subject_role ON witness.bound_subject (role_oid);
COMMENT ON TABLE witness.bound_subject IS 'pg_witness: the bindings of roles to data subjects in force, each with its subject sealed under the master key; a row is deleted when its binding ends';
COMMENT ON COLUMN witness.bound_subject.binding_id IS 'the bound row of witness.subject_binding';
COMMENT ON COLUMN witness.bound_subject.role_oid IS 'the bound role';
COMMENT ON COLUMN witness.bound_subject.sealed_subject IS 'the subject as UTF-8, AES-256-GCM under a key derived from the master key, the binding id as associated data (docs/personal-data.md)';
COMMENT ON INDEX witness.bound_subject_role IS 'the bindings of one role: how witness.my_trail finds the caller''s';
SELECT pg_catalog.pg_extension_config_dump('witness.bound_subject', '');
REVOKE ALL ON witness.bound_subject FROM PUBLIC;

COMMENT ON COLUMN witness.subject_access.format IS 'json or csv (witness.subject_export()), my_trail: a bound role read its own entries through witness.my_trail, erasure or hold: a role that is not a superuser called witness.erase_subject() or witness.hold() for the subject (recorded before it looks, kept if it rolls back)';

CREATE FUNCTION witness._seal_bound_subject(subject text, binding_id bigint) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_seal_bound_subject' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._seal_bound_subject(text, bigint) IS 'internal: a bound subject sealed under the current master key, the binding id as associated data';
REVOKE ALL ON FUNCTION witness._seal_bound_subject(text, bigint) FROM PUBLIC;

CREATE FUNCTION witness._open_bound_subject(sealed bytea, binding_id bigint) RETURNS text
AS 'MODULE_PATHNAME', 'witness_open_bound_subject' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._open_bound_subject(bytea, bigint) IS 'internal: the subject of a binding, opened with the configured master key that sealed it';
REVOKE ALL ON FUNCTION witness._open_bound_subject(bytea, bigint) FROM PUBLIC;

-- The bindings in force of a role, subject opened. A row of witness.bound_subject that does not match
-- the chain's record of its binding (another role, another subject, an ended binding) is refused:
-- only the guarded, recorded table says who is bound to whom. name_matches: the role still has the
-- name it was bound under; witness.my_trail uses only those bindings, so that a role restored into
-- another cluster, or created later, under an OID that a bound role had, inherits nothing.
CREATE FUNCTION witness._bound_subjects(bound_role oid, OUT binding_id bigint, OUT subject text, OUT name_matches boolean)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k record;
	s text;
	rec witness.subject_binding;
BEGIN
	FOR k IN SELECT b.binding_id, b.role_oid, b.sealed_subject FROM witness.bound_subject b
	         WHERE b.role_oid = bound_role ORDER BY b.binding_id LOOP
		s := witness._open_bound_subject(k.sealed_subject, k.binding_id);
		SELECT * INTO rec FROM witness.subject_binding x WHERE x.binding_id = k.binding_id AND x.event = 'bound';
		IF NOT FOUND OR rec.role_oid <> k.role_oid OR rec.subject_digest <> witness._subject_digest(rec.subject_salt, s)
		   OR EXISTS (SELECT 1 FROM witness.subject_binding u WHERE u.ends_binding = k.binding_id) THEN
			RAISE EXCEPTION 'binding % does not match its record in witness.subject_binding', k.binding_id
				USING ERRCODE = 'data_corrupted',
				      HINT = 'witness.bound_subject was altered outside pg_witness''s functions; witness.subject_binding has the recorded bindings.';
		END IF;
		binding_id := k.binding_id;
		subject := s;
		name_matches := rec.role_name = (SELECT r.rolname::text FROM pg_roles r WHERE r.oid = bound_role);
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._bound_subjects(oid) IS 'internal: the bindings in force of a role with their subjects, each checked against its record';
REVOKE ALL ON FUNCTION witness._bound_subjects(oid) FROM PUBLIC;

-- Ends bindings: an unbound row for each (repeating its role and salted digest), and the sealed
-- subject deleted. erasure_id names the erasure that ended them, NULL for witness.unbind_subject().
CREATE FUNCTION witness._end_bindings(ids bigint[], erasure_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF COALESCE(cardinality(ids), 0) = 0 THEN
		RETURN;
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.subject_binding (event, ends_binding, role_oid, role_name, subject_salt, subject_digest, erasure_id, recorded_by)
	SELECT 'unbound', b.binding_id, b.role_oid, COALESCE((SELECT r.rolname::text FROM pg_roles r WHERE r.oid = b.role_oid), b.role_name),
	       b.subject_salt, b.subject_digest, _end_bindings.erasure_id, witness._outer_user()
	FROM witness.subject_binding b WHERE b.binding_id = ANY (ids) AND b.event = 'bound' ORDER BY b.binding_id;
	PERFORM witness._end_internal_ddl();
	DELETE FROM witness.bound_subject b WHERE b.binding_id = ANY (ids);
END
$$;
COMMENT ON FUNCTION witness._end_bindings(bigint[], bigint) IS 'internal: records the end of bindings and deletes their sealed subjects';
REVOKE ALL ON FUNCTION witness._end_bindings(bigint[], bigint) FROM PUBLIC;

-- Bindings change one at a time (the lock subject_binding of witness.mutex): two bind_subject() calls
-- for the same role and subject would otherwise both find no binding and both bind.

-- The checks bind_subject() and unbind_subject() share; returns the role's name. A dropped role can
-- still be unbound, by its OID: its bindings would otherwise stay in force for a later role that
-- gets the same OID.
CREATE FUNCTION witness._check_binding_request(bound_role regrole, subject text, what text, binding boolean) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text;
BEGIN
	IF bound_role IS NULL THEN
		RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF subject IS NULL OR subject = '' THEN
		RAISE EXCEPTION 'subject must not be null or empty' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT r.rolname INTO name FROM pg_roles r WHERE r.oid = bound_role;
	IF NOT FOUND AND NOT binding THEN
		name := bound_role::oid::text;
	ELSIF NOT FOUND THEN
		RAISE EXCEPTION 'role with OID % does not exist', bound_role::oid USING ERRCODE = 'undefined_object';
	END IF;
	-- Separation of duties (docs/access.md): an admin does not read decrypted values, so it binds
	-- neither itself nor a role it can act as, nor any member of witness_admin.
	IF binding AND pg_has_role(bound_role, 'witness_admin', 'MEMBER')
	   AND NOT (SELECT x.rolsuper FROM pg_roles x WHERE x.oid = bound_role) THEN
		RAISE EXCEPTION '%: role % is a member of witness_admin', what, name USING ERRCODE = 'insufficient_privilege',
			DETAIL = 'An admin manages pg_witness; it does not read the decrypted entries of a data subject (docs/access.md).';
	END IF;
	IF binding AND NOT (SELECT x.rolsuper FROM pg_roles x WHERE x.rolname = witness._outer_user())
	   AND pg_has_role(witness._outer_user(), bound_role, 'MEMBER') THEN
		RAISE EXCEPTION '%: you are role % or a member of it', what, name USING ERRCODE = 'insufficient_privilege',
			DETAIL = 'Whoever binds roles to data subjects does not bind one it can act as.';
	END IF;
	IF witness.master_key_id() IS NULL THEN
		RAISE EXCEPTION '%: no master key is configured', what
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'pg_witness keeps the subject of a binding encrypted under the master key, never in clear.',
			      HINT = 'As the operating-system user that runs the server: openssl rand -hex 32 > /etc/postgresql/witness_master.key && chmod 600 /etc/postgresql/witness_master.key; then set witness.master_key_file to that file in postgresql.conf and reload.';
	END IF;
	PERFORM witness._take_mutex('subject_binding');
	RETURN name;
END
$$;
COMMENT ON FUNCTION witness._check_binding_request(regrole, text, text, boolean) IS 'internal: argument checks and the lock of witness.bind_subject() (binding true) and witness.unbind_subject()';
REVOKE ALL ON FUNCTION witness._check_binding_request(regrole, text, text, boolean) FROM PUBLIC;

CREATE FUNCTION witness.bind_subject(role regrole, subject text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text := witness._check_binding_request(role, subject, 'cannot bind a role to a data subject', true);
	existing record;
	salt bytea;
	id bigint;
BEGIN
	SELECT b.binding_id, b.name_matches INTO existing FROM witness._bound_subjects(role) b WHERE b.subject = bind_subject.subject;
	IF FOUND AND existing.name_matches THEN
		RAISE NOTICE 'role % is bound to this subject already (binding %)', name, existing.binding_id;
		RETURN existing.binding_id;
	END IF;
	-- Bound under the role's former name: that binding ends, a new one is recorded under the new name.
	IF FOUND THEN
		PERFORM witness._end_bindings(ARRAY[existing.binding_id], NULL);
	END IF;
	salt := witness._random_salt();
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.subject_binding (event, role_oid, role_name, subject_salt, subject_digest, recorded_by)
	VALUES ('bound', role, name, salt, witness._subject_digest(salt, subject), witness._outer_user())
	RETURNING binding_id INTO id;
	PERFORM witness._end_internal_ddl();
	INSERT INTO witness.bound_subject (binding_id, role_oid, sealed_subject)
	VALUES (id, role, witness._seal_bound_subject(subject, id));
	RETURN id;
END
$$;
COMMENT ON FUNCTION witness.bind_subject(regrole, text) IS 'binds a role to a data subject: witness.my_trail then shows the role the entries about that subject, decrypted; recorded in witness.subject_binding, and so in the trail; the subject is kept sealed under the master key; returns the binding id';
REVOKE ALL ON FUNCTION witness.bind_subject(regrole, text) FROM PUBLIC;

CREATE FUNCTION witness.unbind_subject(role regrole, subject text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text := witness._check_binding_request(role, subject, 'cannot unbind a role from a data subject', false);
	existing bigint;
BEGIN
	SELECT b.binding_id INTO existing FROM witness._bound_subjects(role) b WHERE b.subject = unbind_subject.subject;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role % is not bound to this subject', name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM witness._end_bindings(ARRAY[existing], NULL);
	RETURN existing;
END
$$;
COMMENT ON FUNCTION witness.unbind_subject(regrole, text) IS 'ends the binding of a role to a data subject (recorded in witness.subject_binding, and so in the trail) and deletes its sealed subject; returns the binding id it ended';
REVOKE ALL ON FUNCTION witness.unbind_subject(regrole, text) FROM PUBLIC;

-- An erasure of a subject ends its bindings: the erased subject is personal data, and the sealed copy
-- witness.bound_subject holds of it goes with the rest (docs/personal-data.md). Called by
-- witness.erase_subject(), which has the subject: the bindings are matched by their recorded salted
-- digest, one hash per binding in force, without the master key and without opening any sealed
-- subject (one that could not be opened must not hold up an erasure).
CREATE FUNCTION witness._unbind_erased_subject(subject text, erasure_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ended bigint[];
BEGIN
	-- After a bind_subject() under way has committed, so that its binding is seen and ended too.
	PERFORM witness._take_mutex('subject_binding');
	SELECT array_agg(b.binding_id ORDER BY b.binding_id) INTO ended
	FROM witness.bound_subject k JOIN witness.subject_binding b ON b.binding_id = k.binding_id AND b.event = 'bound'
	WHERE b.subject_digest = witness._subject_digest(b.subject_salt, _unbind_erased_subject.subject);
	PERFORM witness._end_bindings(ended, _unbind_erased_subject.erasure_id);
END
$$;
COMMENT ON FUNCTION witness._unbind_erased_subject(text, bigint) IS 'internal: ends the bindings of a subject that witness.erase_subject() erased';
REVOKE ALL ON FUNCTION witness._unbind_erased_subject(text, bigint) FROM PUBLIC;

-- A rotation of the master key seals the bound subjects again under the new key, as it does the
-- payloads, so that they stay readable once the old key file is gone.
CREATE FUNCTION witness._reseal_bound_subjects() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE witness.bound_subject b
	SET sealed_subject = witness._seal_bound_subject(witness._open_bound_subject(b.sealed_subject, b.binding_id), b.binding_id)
	WHERE encode(substring(b.sealed_subject, 2, 8), 'hex') IS DISTINCT FROM witness.master_key_id();
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._reseal_bound_subjects() IS 'internal: trigger sealing the bound subjects under the current master key when a rotation is recorded';
REVOKE ALL ON FUNCTION witness._reseal_bound_subjects() FROM PUBLIC;
CREATE TRIGGER witness_reseal_bound_subjects AFTER INSERT ON witness.key_rotation
FOR EACH ROW WHEN (NEW.event = 'finished') EXECUTE FUNCTION witness._reseal_bound_subjects();
COMMENT ON TRIGGER witness_reseal_bound_subjects ON witness.key_rotation IS 'pg_witness: seals the bound subjects again under the new master key when a rotation finishes';

-- The rows of witness.my_trail for one role: for each subject it is bound to, the access is recorded
-- first (witness.subject_access, format my_trail, committed by a background worker whatever the
-- reader's transaction does next), then the subject's entries are read with the subject export's own
-- code, witness._subject_export_lines(). Called by witness._my_trail() alone, as the extension's owner.
CREATE FUNCTION witness._my_trail_rows(reader oid)
RETURNS TABLE (entry_id bigint, "time" timestamptz, table_name text, operation text, row_key jsonb, changes jsonb,
               actor text, reason text, status text, block_no bigint, verified boolean, problem text,
               erasure jsonb, proof jsonb, subject text)
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text := (SELECT r.rolname::text FROM pg_roles r WHERE r.oid = reader);
	bound record;
	subjects text[];
	rec record;
	s text;
	renamed bigint;
	access_ids bigint[] := '{}';
	accessed timestamptz[] := '{}';
BEGIN
	-- Before anything reads the trail: a standby would look up a subject by a scan of it.
	IF pg_catalog.pg_is_in_recovery() THEN
		RAISE EXCEPTION 'cannot read witness.my_trail on a hot standby' USING ERRCODE = 'read_only_sql_transaction',
			DETAIL = 'Every read is recorded in the trail first, and only the primary can write it.',
			HINT = 'Run it on the primary.';
	END IF;
	PERFORM witness._check_subject_readable('cannot read witness.my_trail');
	-- A role made an admin after it was bound: an admin does not read decrypted values (docs/access.md).
	IF pg_has_role(reader, 'witness_admin', 'MEMBER') AND NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = reader) THEN
		RAISE EXCEPTION 'cannot read witness.my_trail: role % is a member of witness_admin', COALESCE(name, reader::text)
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'An admin manages pg_witness; it does not read the decrypted entries of a data subject.';
	END IF;
	SELECT array_agg(b.subject ORDER BY b.binding_id) FILTER (WHERE b.name_matches), count(*) INTO subjects, renamed
	FROM witness._bound_subjects(reader) b;
	IF subjects IS NULL THEN
		RAISE EXCEPTION 'role % is not bound to a data subject', COALESCE(name, reader::text)
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'witness.my_trail shows a role the entries about the data subjects it is bound to, and nothing else.',
			      HINT = CASE WHEN renamed > 0 THEN 'The role was bound under another name; a superuser binds it again under its new one with witness.bind_subject(role, subject).'
			                  ELSE 'A superuser binds a role with witness.bind_subject(role, subject).' END;
	END IF;
	IF pg_catalog.current_setting('transaction_read_only')::boolean THEN
		RAISE EXCEPTION 'cannot read witness.my_trail in a read-only transaction' USING ERRCODE = 'read_only_sql_transaction',
			DETAIL = 'Every read is recorded in the trail, and pg_witness writes nothing on behalf of a transaction declared read-only.',
			HINT = 'Run it in a read-write transaction, on the primary.';
	END IF;
	-- Every read recorded before any entry is read; then the entries of all the subjects, oldest first.
	FOREACH s IN ARRAY subjects LOOP
		SELECT r.access_id, r.accessed_at INTO STRICT rec
		FROM witness._record_subject_access(s, 'my_trail', format('read through witness.my_trail by role %s', name)) AS r;
		access_ids := access_ids || rec.access_id;
		accessed := accessed || rec.accessed_at;
	END LOOP;
	RETURN QUERY
		SELECT (j.l ->> 'entry_id')::bigint, (j.l ->> 'time')::timestamptz, j.l ->> 'table', j.l ->> 'operation', j.l -> 'row_key',
		       j.l -> 'changes', j.l ->> 'actor', j.l ->> 'reason', j.l ->> 'status', (j.l ->> 'block_no')::bigint,
		       (j.l ->> 'verified')::boolean, j.l ->> 'problem', NULLIF(j.l -> 'erasure', 'null'), NULLIF(j.l -> 'proof', 'null'), u.s
		FROM unnest(subjects, access_ids, accessed) AS u(s, access_id, accessed_at),
		     LATERAL witness._subject_export_lines(u.s, 'json', u.access_id, u.accessed_at) WITH ORDINALITY AS x(line, n),
		     LATERAL (SELECT x.line::jsonb AS l) j
		WHERE x.n > 1
		ORDER BY 1;
END
$$;
COMMENT ON FUNCTION witness._my_trail_rows(oid) IS 'internal: the entries about the subjects a role is bound to, each read recorded first in witness.subject_access';
REVOKE ALL ON FUNCTION witness._my_trail_rows(oid) FROM PUBLIC;

-- Takes no argument: it reads for the current user of its caller and no one else, so every role may
-- execute it (a view's functions are executed with the privileges of the view's user, not its owner).
CREATE FUNCTION witness._my_trail()
RETURNS TABLE (entry_id bigint, "time" timestamptz, table_name text, operation text, row_key jsonb, changes jsonb,
               actor text, reason text, status text, block_no bigint, verified boolean, problem text,
               erasure jsonb, proof jsonb, subject text)
AS 'MODULE_PATHNAME', 'witness_my_trail' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._my_trail() IS 'internal: the rows of witness.my_trail for the current user, read as the extension''s owner';
REVOKE ALL ON FUNCTION witness._my_trail() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION witness._my_trail() TO PUBLIC;

-- security_barrier: no condition of the reader's query that could leak (a function not marked
-- LEAKPROOF in a WHERE clause) is evaluated before the function has kept the reader's own rows only.
-- Oldest first: witness._my_trail_rows() returns the rows in entry id order.
CREATE VIEW witness.my_trail WITH (security_barrier) AS
SELECT t.entry_id, t."time", t.table_name, t.operation, t.row_key, t.changes, t.actor, t.reason, t.status,
       t.block_no, t.verified, t.problem, t.erasure, t.proof, t.subject
FROM witness._my_trail() t;
COMMENT ON VIEW witness.my_trail IS 'the entries about the data subjects the current user is bound to (witness.bind_subject()), decrypted, oldest first, with status and inclusion proof; each read is recorded in the trail; a role bound to no subject is refused';
REVOKE ALL ON witness.my_trail FROM PUBLIC;

-------------------------------------------------------------------------------
-- Legal holds (docs/retention.md, "Legal holds"): entries that litigation or an investigation
-- requires to be kept are never erased (and never pruned by retention); every hold and every
-- release is a row of witness.legal_hold and so an entry of the chain
-------------------------------------------------------------------------------

-- One row when a hold is placed and one when it is released, captured into the trail like
-- witness.erasure. A hold's subject is kept only as a salted digest: the chain entry of a row can
-- never be erased, and a hold must not become the copy of a subject in clear that an erasure leaves.
CREATE TABLE witness.legal_hold (
	hold_event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event text NOT NULL CHECK (event IN ('held', 'released')),
	name text NOT NULL,
	releases bigint,
	reason text NOT NULL,
	subject_salt bytea,
	subject_digest bytea,
	schema_name text,
	table_name text,
	row_key jsonb,
	since timestamptz,
	until timestamptz,
	recorded_by text NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	CHECK ((event = 'held') = (releases IS NULL)),
	CHECK ((subject_salt IS NULL) = (subject_digest IS NULL)),
	CHECK ((schema_name IS NULL) = (table_name IS NULL))
);
COMMENT ON TABLE witness.legal_hold IS 'pg_witness: one row when a legal hold is placed (witness.hold()) and one when it is released (witness.release_hold()); each row is captured into the trail';
COMMENT ON COLUMN witness.legal_hold.event IS 'held or released';
COMMENT ON COLUMN witness.legal_hold.name IS 'the hold''s name; unique among the holds in force';
COMMENT ON COLUMN witness.legal_hold.releases IS 'released: the hold_event_id of the held row this release ends; NULL for held';
COMMENT ON COLUMN witness.legal_hold.reason IS 'why the hold was placed or released, as the caller gave it';
COMMENT ON COLUMN witness.legal_hold.subject_salt IS 'held, scoped to a subject: 32 random bytes drawn for the hold';
COMMENT ON COLUMN witness.legal_hold.subject_digest IS 'held, scoped to a subject: SHA-256(0x04 || subject_salt || subject as UTF-8), the subject confirmable by whoever already knows it, not readable';
COMMENT ON COLUMN witness.legal_hold.schema_name IS 'held, scoped to a table: the schema of the table (entries name their table by schema and name)';
COMMENT ON COLUMN witness.legal_hold.table_name IS 'held, scoped to a table: the table''s name';
COMMENT ON COLUMN witness.legal_hold.row_key IS 'held, scoped to rows: the entries whose row key contains this JSON object (@>)';
COMMENT ON COLUMN witness.legal_hold.since IS 'held: the entries captured at or after this time (NULL: no lower bound)';
COMMENT ON COLUMN witness.legal_hold.until IS 'held: the entries captured before this time (NULL: no upper bound)';
COMMENT ON COLUMN witness.legal_hold.recorded_by IS 'the role that placed or released the hold (after SET ROLE)';
COMMENT ON COLUMN witness.legal_hold.recorded_at IS 'when';
COMMENT ON SEQUENCE witness.legal_hold_hold_event_id_seq IS 'pg_witness legal hold event ids';
SELECT witness._make_record_table('witness.legal_hold', 'hold_event_id');
-- A hold's row key is a key of the held table, which a reader sees masked in that table's entries: the
-- hold's entries tag it pii, and witness.log masks it alike (an attack review read a held social
-- security number in clear in the hold's entry). Not captured, as the rest of installing; the
-- caller's replication role is put back as it was (a restore runs in replica mode throughout: set to
-- origin here, it had the dumped rows refused, the review of this change found).
DO $$
DECLARE
	mode text := current_setting('session_replication_role');
BEGIN
	PERFORM set_config('session_replication_role', 'replica', true);
	UPDATE witness.tracked_table SET column_tags = '{"row_key": ["pii"]}' WHERE relid = 'witness.legal_hold'::regclass;
	PERFORM set_config('session_replication_role', mode, true);
END
$$;
-- Whether a hold was released, without reading the table's whole history.
CREATE UNIQUE INDEX legal_hold_releases ON witness.legal_hold (releases) WHERE releases IS NOT NULL;
COMMENT ON INDEX witness.legal_hold_releases IS 'the release of each released hold: how the holds in force are told from the others';

CREATE VIEW witness.holds AS
SELECT h.hold_event_id AS hold_id, h.name, r.hold_event_id IS NULL AS in_force, h.reason,
       h.subject_digest IS NOT NULL AS subject_scoped,
       CASE WHEN h.table_name IS NOT NULL THEN pg_catalog.format('%I.%I', h.schema_name, h.table_name) END AS table_name,
       h.row_key, h.since, h.until, h.recorded_by AS held_by, h.recorded_at AS held_at,
       r.reason AS release_reason, r.recorded_by AS released_by, r.recorded_at AS released_at
FROM witness.legal_hold h LEFT JOIN witness.legal_hold r ON r.releases = h.hold_event_id
WHERE h.event = 'held';
COMMENT ON VIEW witness.holds IS 'every legal hold, in force or released, with its scope (subject_scoped: the hold names a data subject, kept only as a salted digest; table_name, row_key, since, until) and who placed and released it when and why';

-- Whether a hold's table scope takes in entries filed under schema_name.table_name.
-- A table the hold names covers its entries under every name the table was tracked by: renamed
-- after the hold (or before it), its entries would otherwise leave the hold, which its owner can do
-- (an attack review). The names come from witness._table_name_sets, as [schema, table] pairs; jsonb
-- containment ignores order within a pair, which can only hold more.
-- No SET clause, every name qualified: called per entry, it is inlined into its caller's query.
CREATE FUNCTION witness._hold_table_matches(h witness.legal_hold, schema_name text, table_name text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT h.table_name IS NULL
	    OR (h.schema_name OPERATOR(pg_catalog.=) _hold_table_matches.schema_name AND h.table_name OPERATOR(pg_catalog.=) _hold_table_matches.table_name)
	    -- A set of names of one table, tracked now or deleted since, with both names.
	    OR EXISTS (SELECT FROM witness._table_name_sets c
	               WHERE c.names OPERATOR(pg_catalog.@>) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(h.schema_name, h.table_name))
	                 AND c.names OPERATOR(pg_catalog.@>) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(_hold_table_matches.schema_name, _hold_table_matches.table_name)))
$$;
COMMENT ON FUNCTION witness._hold_table_matches(witness.legal_hold, text, text) IS 'internal: whether a legal hold''s table (under any name the table was tracked by, also once untracked or dropped) takes in entries filed under a schema and table name; true for a hold that names no table';
REVOKE ALL ON FUNCTION witness._hold_table_matches(witness.legal_hold, text, text) FROM PUBLIC;

-- Whether hold h covers entry e. A scope the hold leaves NULL covers everything. Encrypted entries
-- hold subject and row key in their sealed payload: read through witness._entry_key_subject (needs
-- the master key; the values are not read as jsonb, so that a value over its 256 MB does not make the
-- check fail); an erased entry has neither and so matches no subject or row key scope.
CREATE FUNCTION witness._hold_covers(h witness.legal_hold, e witness.entry) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record;
	before record; -- an UPDATE's old values, for the key it changed
BEGIN
	IF NOT witness._hold_table_matches(h, e.schema_name, e.table_name) THEN
		RETURN false;
	END IF;
	IF (h.since IS NOT NULL AND e.stmt_time < h.since) OR (h.until IS NOT NULL AND e.stmt_time >= h.until) THEN
		RETURN false;
	END IF;
	-- A TRUNCATE removes every row of its table, the held ones too, like their DELETEs, which are held: it
	-- names no subject or row key, so any hold on the table (or on none) covers it (an attack review
	-- truncated a table with held rows, and retention left their INSERTs with no sign of the removal).
	IF (h.subject_digest IS NULL AND h.row_key IS NULL) OR e.op = 'T' THEN
		RETURN true;
	END IF;
	IF e.format = 2 AND (e.row_key IS NULL OR (h.subject_digest IS NOT NULL AND e.subject IS NULL)) THEN
		p := witness._entry_key_subject(e);
	ELSE
		SELECT e.row_key::jsonb AS row_key, e.subject INTO p;
	END IF;
	IF h.row_key IS NOT NULL AND NOT COALESCE(p.row_key @> h.row_key, false) THEN
		-- An UPDATE that changed the row's key is the held row's too: found by the key it had before, as
		-- witness.entity_history() finds it (an attack review changed a held row's key first). Values
		-- too long to read as jsonb cannot tell: such an UPDATE is kept.
		IF e.op <> 'U' THEN
			RETURN false;
		END IF;
		SELECT x.old_values, x.values_omitted INTO before FROM witness._entry_payload(e) x;
		IF NOT (before.values_omitted OR COALESCE(witness._old_row_key(p.row_key::json, before.old_values::json)::jsonb @> h.row_key, false)) THEN
			RETURN false;
		END IF;
	END IF;
	IF h.subject_digest IS NULL OR (p.subject IS NOT NULL AND witness._subject_digest(h.subject_salt, p.subject) = h.subject_digest) THEN
		RETURN true;
	END IF;
	-- An UPDATE that moved a row away from a subject (old_subject_key set) holds that subject's data as
	-- its old values (docs/personal-data.md, "A row that moves"): a hold on that subject covers it too,
	-- or the new subject's erasure and retention would remove what the hold keeps (an attack review).
	-- Which old value was the subject column's is not recorded: any that is the held subject counts,
	-- which can only keep more.
	IF e.old_subject_key IS NOT NULL THEN
		RETURN EXISTS (SELECT FROM witness._entry_payload(e) o,
		                           pg_catalog.jsonb_each_text(CASE WHEN pg_catalog.jsonb_typeof(o.old_values) OPERATOR(pg_catalog.=) 'object'
		                                                           THEN o.old_values END) v
		               WHERE witness._subject_digest(h.subject_salt, v.value) = h.subject_digest);
	END IF;
	RETURN false;
END
$$;
COMMENT ON FUNCTION witness._hold_covers(witness.legal_hold, witness.entry) IS 'internal: whether a legal hold''s scope (subject, table, row key, time window) covers an entry';
REVOKE ALL ON FUNCTION witness._hold_covers(witness.legal_hold, witness.entry) FROM PUBLIC;

-- Whether one of holds covers entry e, as witness._hold_covers() decides, without asking it for every
-- hold: e's row key (and an UPDATE's key before) is read once, and only the holds whose row key it
-- contains, or with none, are asked. A hold that follows a row carries a copy per key the row took
-- (witness._moved_row_holds): an attack review changed a held row's key 900 times with DML grants only,
-- and every retention run and erasure then asked every copy of every entry, for minutes.
CREATE FUNCTION witness._holds_cover(holds witness.legal_hold[], e witness.entry) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k record;
BEGIN
	IF e.op = 'T' THEN
		RETURN EXISTS (SELECT FROM unnest(holds) h WHERE witness._hold_covers(h, e));
	END IF;
	IF EXISTS (SELECT FROM unnest(holds) h WHERE h.row_key IS NULL AND witness._hold_covers(h, e)) THEN
		RETURN true;
	ELSIF NOT EXISTS (SELECT FROM unnest(holds) h WHERE h.row_key IS NOT NULL) THEN
		RETURN false;
	END IF;
	k := witness._entry_keys(e);
	RETURN EXISTS (SELECT FROM unnest(holds) h
	               WHERE h.row_key IS NOT NULL
	                 AND (COALESCE(k.row_key @> h.row_key, false) OR k.old_unknown OR COALESCE(k.old_key @> h.row_key, false))
	                 AND witness._hold_covers(h, e));
END
$$;
COMMENT ON FUNCTION witness._holds_cover(witness.legal_hold[], witness.entry) IS 'internal: whether one of the legal holds covers an entry, as witness._hold_covers() decides, asking it only for the holds whose row key the entry''s keys contain or that have none';
REVOKE ALL ON FUNCTION witness._holds_cover(witness.legal_hold[], witness.entry) FROM PUBLIC;

-- An entry's row key and, for an UPDATE, the key the row had before it (NULL when the UPDATE left the
-- key as it was; old_unknown when its values were too long to read), as witness._hold_covers() reads
-- them.
CREATE FUNCTION witness._entry_keys(e witness.entry, OUT row_key jsonb, OUT old_key jsonb, OUT old_unknown boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	before record;
BEGIN
	IF e.format = 2 AND e.row_key IS NULL THEN
		row_key := (witness._entry_key_subject(e)).row_key;
	ELSE
		row_key := e.row_key::jsonb;
	END IF;
	old_unknown := false;
	IF e.op = 'U' THEN
		SELECT x.old_values, x.values_omitted INTO before FROM witness._entry_payload(e) x;
		old_unknown := before.values_omitted IS DISTINCT FROM false;
		old_key := witness._old_row_key(row_key::json, before.old_values::json)::jsonb;
	END IF;
END
$$;
COMMENT ON FUNCTION witness._entry_keys(witness.entry) IS 'internal: an entry''s row key and, for an UPDATE, the key its row had before, for witness._holds_cover()';
REVOKE ALL ON FUNCTION witness._entry_keys(witness.entry) FROM PUBLIC;

-- keyed (the first n given, then the copies witness._moved_row_holds() made) with copy added. Past
-- max_keys copies of one hold in copy's table, the hold keeps that whole table, in its period, instead
-- of its copies there: it errs on keeping, and an entry is checked against at most that many copies
-- (docs/retention.md).
CREATE FUNCTION witness._add_hold_copy(keyed witness.legal_hold[], n integer, copy witness.legal_hold, max_keys integer)
RETURNS witness.legal_hold[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF (SELECT count(*) FROM unnest(keyed[n + 1:]) d WHERE d.hold_event_id = copy.hold_event_id
	      AND d.schema_name = copy.schema_name AND d.table_name = copy.table_name) >= max_keys THEN
		copy.row_key := NULL;
		keyed := keyed[1:n] || ARRAY(SELECT d FROM unnest(keyed[n + 1:]) d
		                             WHERE NOT (d.hold_event_id = copy.hold_event_id AND d.schema_name = copy.schema_name
		                                        AND d.table_name = copy.table_name));
	END IF;
	RETURN keyed || copy;
END
$$;
COMMENT ON FUNCTION witness._add_hold_copy(witness.legal_hold[], integer, witness.legal_hold, integer) IS 'internal: adds a copy of a legal hold for a key its row took, or, past max_keys copies of the hold in that table, one for the whole table in their place';
REVOKE ALL ON FUNCTION witness._add_hold_copy(witness.legal_hold[], integer, witness.legal_hold, integer) FROM PUBLIC;

-- The keys the row that DELETE entry m removed may have taken in another partition of its table. An
-- UPDATE that moved a row to another partition is a DELETE and an INSERT, under a new key (the
-- partition key is part of it): the INSERTs of the same statement and table that follow it closely and
-- share a key column's value with it are taken for the row's (a review pruned a moved row's later
-- entries), and the first INSERT of the statement and table after it, which the same row's move
-- captures next whatever other sessions capture in between (a review moved a row by its only key
-- column, also the partition key: they share no value; the next review interleaved another session's
-- entries). Erring on keeping, a second row of the statement sharing that value is taken too.
CREATE FUNCTION witness._partition_move_keys(m witness.entry) RETURNS jsonb[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	next_insert bigint;
BEGIN
	next_insert := (SELECT min(y.id) FROM witness.entry y
	                WHERE y.id > m.id AND y.op = 'I' AND y.xid = m.xid AND y.stmt_time = m.stmt_time
	                  AND y.schema_name = m.schema_name AND y.table_name = m.table_name);
	IF next_insert IS NULL THEN
		RETURN '{}';
	END IF;
	RETURN ARRAY(SELECT DISTINCT i.key FROM witness.entry x,
	                    LATERAL (SELECT (witness._entry_key_subject(x)).row_key AS key) i
	             WHERE x.id > m.id AND x.op = 'I' AND x.xid = m.xid AND x.stmt_time = m.stmt_time
	               AND x.schema_name = m.schema_name AND x.table_name = m.table_name
	               AND (x.id <= m.id + 1000 OR x.id = next_insert)
	               AND (x.id = next_insert
	                    OR EXISTS (SELECT FROM jsonb_each((witness._entry_key_subject(m)).row_key) a, jsonb_each(i.key) b
	                               WHERE a.key = b.key AND a.value = b.value)));
END
$$;
COMMENT ON FUNCTION witness._partition_move_keys(witness.entry) IS 'internal: the row keys of the INSERTs that may be the other half of a DELETE entry''s move to another partition (same transaction, statement and table), for the holds that follow a row';
REVOKE ALL ON FUNCTION witness._partition_move_keys(witness.entry) FROM PUBLIC;

-- A hold on a row key follows the row through its key changes: for each UPDATE with an id in
-- [first_id, last_id] (taken in id order, streamed) that a hold with a row key covers and that gave
-- the row a new key, a copy of that hold for the new key (in the hold's period), itself followed
-- further (an attack review changed a held row's key and then the row: the later entries, under the
-- new key, were pruned). A hold on a subject gets a copy for each row an UPDATE moved away from the
-- subject, followed the same way. holds comes back with the copies added; they exist only for the
-- caller (retention), not as records.
CREATE FUNCTION witness._moved_row_holds(holds witness.legal_hold[], first_id bigint, last_id bigint) RETURNS witness.legal_hold[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	keyed witness.legal_hold[] := ARRAY(SELECT x FROM unnest(holds) x WHERE x.row_key IS NOT NULL);
	n integer := cardinality(keyed); -- the holds given; the copies follow them in keyed
	h witness.legal_hold;
	copy witness.legal_hold; -- h for a key its row took
	m witness.entry;
	moved jsonb[]; -- the keys the row of m took
	new_key jsonb;
	k record; -- m's keys (witness._entry_keys)
	max_keys constant integer := 1000; -- copies of one hold for the keys its row took, at most
	subjects witness.legal_hold[] := ARRAY(SELECT x FROM unnest(holds) x WHERE x.row_key IS NULL AND x.subject_digest IS NOT NULL);
BEGIN
	-- A hold on a subject follows a row moved away from the subject (to another, or to none): a copy of
	-- the hold for the row's key in its table. The row's later changes and its DELETE hold the
	-- subject's values as their old values (an attack review moved a held subject's row away, changed it
	-- and deleted it, and retention pruned both). A move in place is an UPDATE that records it
	-- (old_subject_key); a move to another partition is a DELETE of the subject's row and the INSERT of
	-- the same statement that follows it (witness._partition_move_keys(); the review of the fix moved
	-- the row that way). The copies are then followed like the others; past max_keys rows of one table,
	-- the hold keeps that table in its period instead (the review of the fix made every retention run
	-- take minutes with 14,000 moves).
	-- Without a master key an encrypted entry's subject cannot be read: such an entry is passed over
	-- here, as the entries of its table that can expire cannot be checked against a subject hold either
	-- (the run stops at the first of them, unless another hold keeps it).
	FOR m IN SELECT e.* FROM witness.entry e
	         WHERE cardinality(subjects) > 0 AND e.id BETWEEN first_id AND last_id
	           AND (e.op = 'U' AND e.old_subject_key IS NOT NULL OR e.op = 'D')
	           AND (e.sealed_payload IS NULL OR COALESCE(current_setting('witness.master_key_file', true), '') <> '')
	           AND EXISTS (SELECT FROM unnest(subjects) x WHERE witness._hold_table_matches(x, e.schema_name, e.table_name))
	         ORDER BY e.id LOOP
		moved := NULL;
		FOR h IN SELECT x.* FROM unnest(subjects) x WHERE witness._hold_covers(x, m) LOOP
			IF moved IS NULL THEN
				moved := CASE WHEN m.op = 'U' THEN ARRAY[(witness._entry_keys(m)).row_key] ELSE witness._partition_move_keys(m) END;
			END IF;
			FOREACH new_key IN ARRAY moved LOOP
				CONTINUE WHEN new_key IS NULL
				           OR EXISTS (SELECT FROM unnest(keyed) d WHERE d.hold_event_id = h.hold_event_id
				                        AND d.schema_name = m.schema_name AND d.table_name = m.table_name
				                        AND (d.row_key = new_key OR d.row_key IS NULL));
				copy := h;
				copy.subject_salt := NULL;
				copy.subject_digest := NULL;
				copy.row_key := new_key;
				copy.schema_name := m.schema_name;
				copy.table_name := m.table_name;
				keyed := witness._add_hold_copy(keyed, n, copy, max_keys);
			END LOOP;
		END LOOP;
	END LOOP;
	IF cardinality(keyed) = 0 THEN
		RETURN holds;
	END IF;
	-- Only an UPDATE that changed a key column can give a row a new key: in clear, one of the row key's
	-- columns is among its old values (only changed columns are); a sealed one is opened below.
	FOR m IN SELECT e.* FROM witness.entry e
	         WHERE e.id BETWEEN first_id AND last_id
	           AND (e.op = 'D' OR e.op = 'U' AND (e.sealed_payload IS NOT NULL
	                OR EXISTS (SELECT FROM pg_catalog.json_object_keys(CASE WHEN pg_catalog.json_typeof(e.old_values) = 'object' THEN e.old_values END) o,
	                                       pg_catalog.json_object_keys(CASE WHEN pg_catalog.json_typeof(e.row_key) = 'object' THEN e.row_key END) r
	                           WHERE o = r)))
	           AND EXISTS (SELECT FROM unnest(keyed) x WHERE witness._hold_table_matches(x, e.schema_name, e.table_name))
	         ORDER BY e.id LOOP
		moved := NULL;
		k := witness._entry_keys(m);
		FOR h IN SELECT x.* FROM unnest(keyed) x
		         WHERE x.row_key IS NOT NULL
		           AND (COALESCE(k.row_key @> x.row_key, false) OR k.old_unknown OR COALESCE(k.old_key @> x.row_key, false))
		           AND witness._hold_covers(x, m) LOOP
			IF moved IS NULL AND m.op = 'D' THEN
				moved := witness._partition_move_keys(m);
			ELSIF moved IS NULL THEN
				moved := ARRAY(SELECT x.row_key FROM witness._entry_payload(m) x
				               WHERE witness._old_row_key(x.row_key::json, x.old_values::json) IS NOT NULL);
			END IF;
			FOREACH new_key IN ARRAY moved LOOP
				CONTINUE WHEN new_key IS NULL OR new_key @> h.row_key
				           OR EXISTS (SELECT FROM unnest(keyed) d WHERE d.hold_event_id = h.hold_event_id
				                        AND (d.row_key = new_key OR (d.row_key IS NULL AND d.schema_name = COALESCE(h.schema_name, m.schema_name)
				                                                     AND d.table_name = COALESCE(h.table_name, m.table_name))));
				-- The copy keeps the hold's period: an UPDATE whose statement started before this change,
				-- captured after it, is the row's too (a review found it outside a copy that started here).
				-- A copy follows the row in its table, also for a hold that names none.
				copy := h;
				copy.row_key := new_key;
				copy.schema_name := COALESCE(h.schema_name, m.schema_name);
				copy.table_name := COALESCE(h.table_name, m.table_name);
				keyed := witness._add_hold_copy(keyed, n, copy, max_keys);
			END LOOP;
		END LOOP;
	END LOOP;
	RETURN holds || keyed[n + 1:];
END
$$;
COMMENT ON FUNCTION witness._moved_row_holds(witness.legal_hold[], bigint, bigint) IS 'internal: the holds with a copy added for each new key that an UPDATE with an id in [first_id, last_id] gave a row a hold with a row key covers, and for each row such an UPDATE moved away from a held subject, so that retention follows a held row through its key changes and moves';
REVOKE ALL ON FUNCTION witness._moved_row_holds(witness.legal_hold[], bigint, bigint) FROM PUBLIC;

-- The question retention and erasure ask before removing anything: the name of the first hold in
-- force that covers the entry, NULL when none does (docs/retention.md).
CREATE FUNCTION witness._entry_held(entry_id bigint) RETURNS text
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT h.name FROM witness.entry e, witness.legal_hold h
	WHERE e.id = _entry_held.entry_id AND h.event = 'held'
	  AND NOT EXISTS (SELECT FROM witness.legal_hold r WHERE r.releases = h.hold_event_id)
	  AND witness._hold_covers(h, e)
	ORDER BY h.hold_event_id LIMIT 1
$$;
COMMENT ON FUNCTION witness._entry_held(bigint) IS 'internal: the name of the first legal hold in force that covers an entry, NULL when none does; retention must not remove an entry it names a hold for';
REVOKE ALL ON FUNCTION witness._entry_held(bigint) FROM PUBLIC;

-- A hold for witness._check_erasure_allowed() to check an erasure's entries against: with a row key,
-- also its copies for every key the held row took, up to the last entry erased (an attack review: a
-- role with only DML changed a held row's key, then moved the row to another subject, whose erasure
-- emptied the held row's later entries). The key changes are looked for in every entry from the
-- hold's since on, up to the last of ids (the entries checked against the hold): an erasure under a
-- hold on a row key reads that part of the trail, and none when no entry is to be checked.
CREATE FUNCTION witness._erasure_followed_holds(h witness.legal_hold, ids bigint[]) RETURNS witness.legal_hold[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN h.row_key IS NULL OR COALESCE(cardinality(ids), 0) = 0 THEN ARRAY[h]
	            ELSE witness._moved_row_holds(ARRAY[h],
	                     (SELECT COALESCE(min(e.id), 0) FROM witness.entry e WHERE e.stmt_time >= COALESCE(h.since, '-infinity')),
	                     (SELECT max(i) FROM unnest(ids) i)) END
$$;
COMMENT ON FUNCTION witness._erasure_followed_holds(witness.legal_hold, bigint[]) IS 'internal: a legal hold, with a row key also its copies for the keys its row took before the last of an erasure''s entries, for witness._check_erasure_allowed()';
REVOKE ALL ON FUNCTION witness._erasure_followed_holds(witness.legal_hold, bigint[]) FROM PUBLIC;

-- Called by witness.erase_subject() once it knows the entries it would erase: refuses when a hold
-- in force covers any of them. A hold naming the subject covers the subject's entries by the
-- erasure's own subject, so that encrypted entries need no decryption for it. The entries that moved a
-- row away from the subject (moved_ids, among ids) are another subject's, or none's: a hold naming a
-- subject is checked against each of them (docs/personal-data.md, "A row that moves"). Under the holds' lock
-- and VOLATILE (a fresh snapshot after the lock): a hold placed concurrently is either seen here or
-- placed after this erasure commits.
CREATE OR REPLACE FUNCTION witness._check_erasure_allowed(subject text, ids bigint[], moved_ids bigint[], tids tid[])
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h witness.legal_hold;
	held bigint;
	moves bigint[]; followed witness.legal_hold[];
	moved_in bigint[]; -- the INSERTs among ids, each maybe the second half of a move to another partition
BEGIN
	PERFORM witness._hold_lock();
	FOR h IN SELECT x.* FROM witness.legal_hold x
	         WHERE x.event = 'held' AND NOT EXISTS (SELECT FROM witness.legal_hold r WHERE r.releases = x.hold_event_id)
	         ORDER BY x.hold_event_id LOOP
		CONTINUE WHEN COALESCE(cardinality(ids), 0) = 0;
		IF h.subject_digest IS NOT NULL AND witness._subject_digest(h.subject_salt, subject) <> h.subject_digest THEN
			-- Another subject's hold: it can cover only the entries that moved a row between that subject
			-- and this one: away from this one (moved_ids), or to this one from that one, whose old values
			-- are that subject's (an attack review found those erased under its hold). Read once.
			IF moves IS NULL THEN
				moves := moved_ids || ARRAY(SELECT (f.entry).id FROM witness._entries_at(ids, tids) f
				                           WHERE (f.entry).old_subject_key IS NOT NULL
				                             AND NOT (f.entry).id = ANY (COALESCE(moved_ids, '{}')));
			END IF;
			followed := witness._erasure_followed_holds(h, moves); SELECT count(*) INTO held FROM witness._entries_at(moves, tids) f WHERE witness._holds_cover(followed, f.entry);
			-- A row moved to another partition and to this subject in one UPDATE is a DELETE of that
			-- subject's row and an INSERT of this one's, whose new values are that subject's data (the
			-- review of the moved-row holds erased one under the other subject's hold).
			IF moved_in IS NULL THEN
				moved_in := ARRAY(SELECT (f.entry).id FROM witness._entries_at(ids, tids) f WHERE (f.entry).op = 'I');
			END IF;
			IF held = 0 AND cardinality(moved_in) > 0 THEN
				SELECT count(*) INTO held FROM witness._entries_at(moved_in, tids) f
				WHERE EXISTS (SELECT FROM witness.entry d
				              WHERE d.op = 'D' AND d.xid = (f.entry).xid AND d.stmt_time = (f.entry).stmt_time
				                AND d.schema_name = (f.entry).schema_name AND d.table_name = (f.entry).table_name
				                AND d.id < (f.entry).id AND d.id >= (f.entry).id - 1000000 AND witness._hold_covers(h, d)
				                AND (witness._entry_key_subject(f.entry)).row_key = ANY (witness._partition_move_keys(d)));
			END IF;
		ELSIF h.table_name IS NULL AND h.row_key IS NULL AND h.since IS NULL AND h.until IS NULL THEN
			-- The subject's hold (or one on every entry) with no other scope covers every entry.
			held := cardinality(ids);
		ELSE
			-- The subject matched (or the hold names none): the remaining scope is checked per entry. A
			-- hold on a row key covers the UPDATE that changed the row's key, and follows the row under
			-- the keys it took since (witness._erasure_followed_holds).
			h.subject_salt := NULL;
			h.subject_digest := NULL;
			followed := witness._erasure_followed_holds(h, ids); SELECT count(*) INTO held FROM witness._entries_at(ids, tids) f WHERE witness._holds_cover(followed, f.entry);
		END IF;
		IF held > 0 THEN
			RAISE EXCEPTION 'cannot erase the subject''s entries: legal hold "%" is in force', h.name
				USING ERRCODE = 'object_in_use',
				      DETAIL = format('Hold "%s", placed by %s for "%s", covers %s of the %s entries the erasure would empty.',
				                      h.name, h.recorded_by, h.reason, held, cardinality(ids)),
				      HINT = 'Held entries are never erased. Erase once witness.release_hold() has released the hold.';
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._check_erasure_allowed(text, bigint[], bigint[], tid[]) IS 'internal: refuses an erasure (SQLSTATE 55006) when a legal hold in force covers any of the entries it would erase (ids, found at tids; moved_ids: those of them that moved a row away from the subject)';
REVOKE ALL ON FUNCTION witness._check_erasure_allowed(text, bigint[], bigint[], tid[]) FROM PUBLIC;

-- Holds change one at a time: two hold() calls with one name would otherwise both find it free.
CREATE FUNCTION witness._hold_lock() RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT witness._take_mutex('legal_hold') $$;
COMMENT ON FUNCTION witness._hold_lock() IS 'internal: takes the lock (witness.mutex) under which legal holds are placed and released';
REVOKE ALL ON FUNCTION witness._hold_lock() FROM PUBLIC;

-- What capture writes for a value of a column's type: witness.hold() checks a row key with it.
CREATE FUNCTION witness._captured_value(name text, type oid, typmod integer, value text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'witness_captured_value' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._captured_value(text, oid, integer, text) IS 'internal: the JSON object {name: v}, v being what capture writes for the text value of a column of the type (a money value is given as its integer minor units, as captured)';
REVOKE ALL ON FUNCTION witness._captured_value(text, oid, integer, text) FROM PUBLIC;

-- A row key that can match no entry of a tracked table (a column that is not one of its key columns,
-- or a value capture does not write so: {"id": "1"} for an integer, an unpadded char(5), an upper-case
-- uuid) held nothing while it read as in force (attack reviews). Each value is put through capture's
-- own conversion (witness._captured_value()) and must come out as given; the error shows what capture
-- writes. What entries already carry is accepted too: a key column renamed or retyped since, or a table
-- once tracked with other key columns, left entries with other keys (the review of the check).
CREATE FUNCTION witness._check_hold_row_key(tbl regclass, keys text[], row_key jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'iso_8601'
SET extra_float_digits = 1 SET bytea_output = 'hex' SET TimeZone = 'UTC' SET quote_all_identifiers = off
SET array_nulls = on SET xmloption = content
AS $$
DECLARE
	k record;
	typ oid;
	typmod integer;
	typ_name text;
	base oid;
	known boolean;
	captured jsonb; -- {key: what capture writes for the given value}; NULL: not a value of the column's type
	differs boolean;
	nsp text;
	rel text;
BEGIN
	SELECT n.nspname, c.relname INTO nsp, rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	FOR k IN SELECT j.key, jsonb_typeof(j.value) AS got, j.value FROM jsonb_each(row_key) j LOOP
		known := k.key = ANY (COALESCE(keys, '{}'));
		captured := NULL;
		differs := false;
		-- JSON null is a nullable key column's value.
		IF known AND k.got <> 'null' THEN
			SELECT a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod) INTO typ, typmod, typ_name
			FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = k.key AND NOT a.attisdropped;
			BEGIN
				-- Input read under this function's settings (a time without a zone is UTC).
				captured := witness._captured_value(k.key, typ, typmod, k.value #>> '{}');
			EXCEPTION WHEN others THEN
				captured := NULL;
			END;
			differs := captured IS DISTINCT FROM jsonb_build_object(k.key, k.value);
			-- citext compares without case; what capture writes, and what a hold matches, does not.
			base := typ;
			WHILE (SELECT NULLIF(t.typbasetype, 0) FROM pg_type t WHERE t.oid = base) IS NOT NULL LOOP
				base := (SELECT t.typbasetype FROM pg_type t WHERE t.oid = base);
			END LOOP;
			-- regproc and regoper are written by name alone, which their input refuses for an overloaded
			-- function or operator ("pg_catalog.+"): a string that does not read is taken as given.
			IF captured IS NULL AND k.got = 'string' AND base IN ('regproc'::regtype, 'regoper'::regtype) THEN
				differs := false;
				RAISE WARNING 'the value of "%" is not checked: % does not read it back', k.key, typ_name
					USING DETAIL = 'The hold matches entries that carry exactly this text.';
			END IF;
			IF NOT differs AND (SELECT t.typname FROM pg_type t WHERE t.oid = base) = 'citext' THEN
				RAISE WARNING 'the value of "%" is compared as captured, letter case included', k.key
					USING DETAIL = format('Column %s is of type %s: a row stored as %s matches this hold only if it was written so.', k.key, typ_name, k.value);
			END IF;
		END IF;
		-- Only a key the catalog says no entry carries is looked for among the entries (a scan), as
		-- retention matches holds: by containment.
		CONTINUE WHEN known AND NOT differs;
		CONTINUE WHEN EXISTS (SELECT FROM witness.entry e WHERE e.schema_name = nsp AND e.table_name = rel AND e.row_key IS NOT NULL
		                      AND e.row_key::jsonb @> jsonb_build_object(k.key, k.value));
		-- Entries of an encrypted table carry their row key sealed: opened one by one (the review of the
		-- check found legitimate holds of such tables refused). Without a key that opens them: not found.
		BEGIN
			CONTINUE WHEN EXISTS (SELECT FROM witness.entry e WHERE e.schema_name = nsp AND e.table_name = rel AND e.sealed_payload IS NOT NULL
			                      AND (witness._entry_key_subject(e)).row_key @> jsonb_build_object(k.key, k.value));
		EXCEPTION WHEN others THEN
			NULL;
		END;
		IF NOT known THEN
			RAISE EXCEPTION 'cannot hold row key %: "%" is not a key column of %', row_key::text, k.key, tbl
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = CASE WHEN keys IS NULL THEN format('%s is tracked without a row key, and no entry of it carries "%s" so.', tbl, k.key)
				                    ELSE format('Entries of %s carry the row key columns %s, and none carries "%s" so.', tbl, array_to_string(keys, ', '), k.key) END,
				      HINT = 'Name key columns as they are spelled, with the values the rows have.';
		END IF;
		IF jsonb_typeof(captured -> k.key) <> k.got THEN
			RAISE EXCEPTION 'cannot hold row key %: the value of "%" is a JSON %, and entries carry a %', row_key::text, k.key, k.got, jsonb_typeof(captured -> k.key)
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = format('Column %s is of type %s; capture writes this value as %s, and no entry carries %s.', k.key, typ_name, captured -> k.key, k.value),
				      HINT = format('Write it as captured: %s.', captured);
		END IF;
		RAISE EXCEPTION 'cannot hold row key %: capture does not write the value of "%" so', row_key::text, k.key
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = CASE WHEN captured IS NULL THEN format('%s is not a value of type %s, and no entry carries it.', k.value, typ_name)
			                    ELSE format('Capture writes the %s value %s as %s, and no entry carries %s.', typ_name, k.value, captured -> k.key, k.value) END,
			      HINT = CASE WHEN captured IS NULL AND base = 'money'::regtype THEN format('Capture writes a money value as its integer minor units: {"%s": 1250} for 12.50.', k.key)
			                  WHEN captured IS NULL THEN 'Give the value as the rows have it.'
			                  ELSE format('Write it as captured: %s.', captured) END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._check_hold_row_key(regclass, text[], jsonb) IS 'internal: raises unless every column of a hold''s row_key is a key column of the tracked table with a value as capture writes it (its JSON type; for a text, the text capture writes for that value), or JSON null, or is carried so by an entry of the table already';
REVOKE ALL ON FUNCTION witness._check_hold_row_key(regclass, text[], jsonb) FROM PUBLIC;

-- Retention and erasure decide from what they read of holds, rules and the trail: a transaction
-- snapshot taken before a hold or a rule committed decided without it (an attack review pruned held
-- entries from a REPEATABLE READ transaction). Raises 25001 at any other isolation level.
CREATE FUNCTION witness._check_read_committed(what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION '% runs at isolation level READ COMMITTED only', what
			USING ERRCODE = 'active_sql_transaction',
			      DETAIL = 'A transaction snapshot would not see the legal holds and rules committed since it was taken.',
			      HINT = 'SET default_transaction_isolation = ''read committed'' in this session first.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_read_committed(text) IS 'internal: raises unless the transaction runs at isolation level READ COMMITTED (what: the function named in the error)';
REVOKE ALL ON FUNCTION witness._check_read_committed(text) FROM PUBLIC;

CREATE FUNCTION witness.hold(name text, reason text, subject text DEFAULT NULL, "table" regclass DEFAULT NULL,
                             row_key jsonb DEFAULT NULL, since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	salt bytea;
	nsp text;
	rel text;
	kind "char";
	persistence "char";
	keys text[];
	above text;
	id bigint;
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	IF name IS NULL OR witness._is_blank(name) THEN
		RAISE EXCEPTION 'a hold needs a name' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF reason IS NULL OR witness._is_blank(reason) THEN
		RAISE EXCEPTION 'a hold needs a reason' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example: witness.hold(''case-2026-17'', ''litigation hold, case 2026-17'', subject => ''customer:42'').';
	END IF;
	IF octet_length(name) > 200 OR octet_length(reason) > 1024 THEN
		RAISE EXCEPTION 'name or reason is too long' USING ERRCODE = 'string_data_right_truncation',
			DETAIL = 'A name has at most 200 bytes, a reason at most 1024.';
	END IF;
	IF subject = '' THEN
		RAISE EXCEPTION 'subject must not be empty' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Pass NULL to hold entries of every subject.';
	END IF;
	IF row_key IS NOT NULL AND (jsonb_typeof(row_key) <> 'object' OR row_key = '{}') THEN
		RAISE EXCEPTION 'row_key must be a non-empty JSON object' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Name the key columns and their values, for example {"id": 42}.';
	END IF;
	IF since >= until OR since = 'infinity' OR until = '-infinity' THEN
		RAISE EXCEPTION 'since must lie before until' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = 'The hold covers the entries captured in [since, until).';
	END IF;
	IF "table" IS NOT NULL THEN
		SELECT n.nspname, c.relname, c.relkind, c.relpersistence INTO nsp, rel, kind, persistence
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = "table";
		IF NOT FOUND THEN
			RAISE EXCEPTION 'relation with OID % does not exist', "table"::oid USING ERRCODE = 'undefined_table';
		END IF;
		-- A hold is matched against the table an entry is filed under: a view, an index or a temporary
		-- table has none, and held nothing while it read as in force (an attack review).
		IF kind NOT IN ('r', 'p') OR persistence = 't' THEN
			RAISE EXCEPTION 'cannot hold "%": it is not a table whose changes are captured', "table"::text
				USING ERRCODE = 'wrong_object_type',
				      DETAIL = 'A legal hold names a table, as witness.track() did; no entry is filed under a view, an index, a sequence or a temporary table.',
				      HINT = 'Name the table itself (witness.tracked_tables lists them).';
		END IF;
		SELECT t.key_columns INTO keys FROM witness.tracked_table t WHERE t.relid = "table";
		IF NOT FOUND THEN
			-- Entries of a partition or an inheritance child are filed under the tracked table above it.
			WITH RECURSIVE up(relid, depth) AS (
				SELECT i.inhparent, 1 FROM pg_inherits i WHERE i.inhrelid = "table"
				UNION ALL
				SELECT i.inhparent, u.depth + 1 FROM up u JOIN pg_inherits i ON i.inhrelid = u.relid WHERE u.depth < 100)
			SELECT format('%I.%I', t.schema_name, t.table_name) INTO above
			FROM up JOIN witness.tracked_table t ON t.relid = up.relid ORDER BY up.depth LIMIT 1;
			IF above IS NOT NULL THEN
				RAISE EXCEPTION 'cannot hold "%": its entries are filed under %', format('%I.%I', nsp, rel), above
					USING ERRCODE = 'invalid_parameter_value',
					      DETAIL = format('%s is tracked, and the changes of its partitions and child tables are captured as its own.', above),
					      HINT = format('Name %s, with row_key or since and until to narrow the hold.', above);
			END IF;
			RAISE WARNING 'table "%" is not tracked', format('%I.%I', nsp, rel)
				USING DETAIL = 'The hold covers the entries captured under this name while the table was tracked, if it ever was.',
				      HINT = 'witness.tracked_tables lists the tables whose changes are captured.';
		ELSIF row_key IS NOT NULL THEN
			PERFORM witness._check_hold_row_key("table", keys, row_key);
		END IF;
		-- A subject on a table tracked without a subject column matches none of its entries (a review).
		IF subject IS NOT NULL AND EXISTS (SELECT FROM witness.tracked_table t WHERE t.relid = "table" AND t.subject_column IS NULL) THEN
			RAISE EXCEPTION 'cannot hold subject % of "%": the table is tracked without a subject column', quote_literal(subject), format('%I.%I', nsp, rel)
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = 'Its entries carry no subject, so the hold would cover none of them.',
				      HINT = 'Hold the table itself, narrowed with row_key or since and until.';
		END IF;
	END IF;
	PERFORM witness._hold_lock();
	IF EXISTS (SELECT FROM witness.legal_hold h WHERE h.name = hold.name AND h.event = 'held'
	           AND NOT EXISTS (SELECT FROM witness.legal_hold r WHERE r.releases = h.hold_event_id)) THEN
		RAISE EXCEPTION 'legal hold "%" is in force already', name USING ERRCODE = 'duplicate_object',
			HINT = 'Give the new hold another name, or release the one in force first.';
	END IF;
	IF subject IS NOT NULL THEN
		salt := witness._random_salt(); IF witness._subject_request_to_record() THEN PERFORM witness._record_subject_access(subject, 'hold', reason); END IF;
	END IF;
	IF row_key IS NOT NULL AND witness._subject_request_to_record() THEN
		-- A row key (of an encrypted table: only inside sealed payloads) with retention's count tells
		-- the same as a subject, with one or not (reviews): recorded first too, its digest over this text.
		PERFORM witness._record_subject_access(format('row key %s of %s', row_key::text, COALESCE(format('%I.%I', nsp, rel), 'any table')), 'hold', reason);
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.legal_hold (event, name, reason, subject_salt, subject_digest, schema_name, table_name, row_key, since, until, recorded_by)
	VALUES ('held', name, reason, salt, witness._subject_digest(salt, subject), nsp, rel, row_key, since, until, witness._outer_user())
	RETURNING hold_event_id INTO id;
	PERFORM witness._end_internal_ddl();
	RETURN id;
END
$$;
COMMENT ON FUNCTION witness.hold(text, text, text, regclass, jsonb, timestamptz, timestamptz) IS 'places a legal hold named name: the entries of subject, of table, whose row key contains row_key and captured in [since, until) (each NULL scope: any) are never erased or pruned while it is in force; recorded in witness.legal_hold and so in the trail; returns the hold''s id';
REVOKE ALL ON FUNCTION witness.hold(text, text, text, regclass, jsonb, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION witness.release_hold(name text, reason text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	held bigint;
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	IF name IS NULL OR reason IS NULL OR witness._is_blank(reason) THEN
		RAISE EXCEPTION 'a release needs the hold''s name and a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF octet_length(reason) > 1024 THEN
		RAISE EXCEPTION 'reason is too long' USING ERRCODE = 'string_data_right_truncation',
			DETAIL = format('It has %s bytes; at most 1024 are allowed.', octet_length(reason));
	END IF;
	PERFORM witness._hold_lock();
	SELECT h.hold_event_id INTO held FROM witness.legal_hold h
	WHERE h.name = release_hold.name AND h.event = 'held'
	  AND NOT EXISTS (SELECT FROM witness.legal_hold r WHERE r.releases = h.hold_event_id);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no legal hold "%" is in force', name USING ERRCODE = 'undefined_object',
			HINT = 'witness.holds lists the holds and whether each is in force.';
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.legal_hold (event, name, releases, reason, recorded_by)
	VALUES ('released', name, held, reason, witness._outer_user());
	PERFORM witness._end_internal_ddl();
	RETURN held;
END
$$;
COMMENT ON FUNCTION witness.release_hold(text, text) IS 'releases the legal hold in force named name, saying why; recorded in witness.legal_hold and so in the trail; returns the released hold''s id';
REVOKE ALL ON FUNCTION witness.release_hold(text, text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Scheduled verification (docs/verification.md, "Scheduled verification"): every
-- witness.verify_interval the sealer worker of a database verifies the whole trail after its seal
-- pass; the last result is in shared memory (witness.verification_status) and each run is a row of
-- witness.verification_run, captured into the chain.
-------------------------------------------------------------------------------

CREATE TABLE witness.verification_run (
	run_id bigint GENERATED ALWAYS AS IDENTITY,
	started_at timestamptz NOT NULL,
	finished_at timestamptz NOT NULL,
	status text NOT NULL,
	problems bigint NOT NULL,
	blocks_checked bigint NOT NULL,
	entries_checked bigint NOT NULL,
	entries_pending bigint NOT NULL,
	first_problem text
);
COMMENT ON TABLE witness.verification_run IS 'pg_witness: one row per scheduled verification of the whole trail by the background sealer (witness.verify_interval), each row captured into the trail';
COMMENT ON COLUMN witness.verification_run.run_id IS 'order in which the runs were recorded';
COMMENT ON COLUMN witness.verification_run.started_at IS 'when the verification started';
COMMENT ON COLUMN witness.verification_run.finished_at IS 'when it ended';
COMMENT ON COLUMN witness.verification_run.status IS 'what witness.verify() would have said: valid or tampered';
COMMENT ON COLUMN witness.verification_run.problems IS 'how many problems it found (witness.verify() lists them)';
COMMENT ON COLUMN witness.verification_run.blocks_checked IS 'blocks checked';
COMMENT ON COLUMN witness.verification_run.entries_checked IS 'sealed entries checked';
COMMENT ON COLUMN witness.verification_run.entries_pending IS 'committed entries not sealed yet, not checked';
COMMENT ON COLUMN witness.verification_run.first_problem IS 'the first problem (kind, block, entry, detail), cut after 255 bytes; NULL when valid';
COMMENT ON SEQUENCE witness.verification_run_run_id_seq IS 'pg_witness scheduled verification ids';
SELECT witness._make_record_table('witness.verification_run', 'run_id');

CREATE FUNCTION witness._verification_status(OUT scheduled text, OUT last_started_at timestamptz,
	OUT last_verified_at timestamptz, OUT last_status text, OUT problems bigint, OUT first_problem text,
	OUT blocks_checked bigint, OUT entries_checked bigint, OUT entries_pending bigint, OUT duration interval,
	OUT next_due_at timestamptz)
AS 'MODULE_PATHNAME', 'witness_verification_status' LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION witness._verification_status() IS 'internal: the row of witness.verification_status';
REVOKE ALL ON FUNCTION witness._verification_status() FROM PUBLIC;

CREATE VIEW witness.verification_status AS SELECT * FROM witness._verification_status();
COMMENT ON VIEW witness.verification_status IS 'the last scheduled verification of this database by the background sealer since the server started (witness.verification_run keeps every one)';
COMMENT ON COLUMN witness.verification_status.scheduled IS 'scheduled verification: on, off (witness.verify_interval = 0), off (witness.seal_interval = 0), not loaded (pg_witness not in shared_preload_libraries), not running (no launcher), or standby';
COMMENT ON COLUMN witness.verification_status.last_started_at IS 'when the last scheduled verification started; NULL when none ran since the server started';
COMMENT ON COLUMN witness.verification_status.last_verified_at IS 'when it ended';
COMMENT ON COLUMN witness.verification_status.last_status IS 'valid, tampered, or error (the verification raised an error and could not finish: first_problem has it)';
COMMENT ON COLUMN witness.verification_status.problems IS 'how many problems it found (NULL after an error)';
COMMENT ON COLUMN witness.verification_status.first_problem IS 'the first problem (kind, block, entry, detail) or the error, cut after 255 bytes';
COMMENT ON COLUMN witness.verification_status.blocks_checked IS 'blocks checked (NULL after an error)';
COMMENT ON COLUMN witness.verification_status.entries_checked IS 'sealed entries checked (NULL after an error)';
COMMENT ON COLUMN witness.verification_status.entries_pending IS 'committed entries not sealed yet, not checked (NULL after an error)';
COMMENT ON COLUMN witness.verification_status.duration IS 'how long it took; sealing of this database waited as long';
COMMENT ON COLUMN witness.verification_status.next_due_at IS 'when the next one is due (before the first: one interval after the sealer first found pg_witness here since the server started); it runs with the first seal pass after that; NULL unless scheduled is on';
REVOKE ALL ON witness.verification_status FROM PUBLIC;

-------------------------------------------------------------------------------
-- Transaction-id eras (docs/verification.md, "Transaction-id eras"): a trail restored with pg_dump
-- into a cluster whose transaction ids are behind its snapshots keeps sealing. The sealer closes the
-- era of the old cluster with a block whose snapshot sees every one of its transactions and starts a
-- new era at an entry id: from then on, block membership is decided among the blocks of the entry's
-- era only. Each era after the first is a row of witness.era, captured into the chain.
-------------------------------------------------------------------------------

CREATE TABLE witness.era (
	era_no bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
	first_entry_id bigint NOT NULL,
	first_block_no bigint NOT NULL,
	system_identifier text NOT NULL,
	trail_xmax xid8 NOT NULL,
	cluster_next_xid xid8 NOT NULL,
	started_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.era IS 'pg_witness: one row per transaction-id era after the first, started by the sealer when the cluster''s transaction ids are behind the trail (a restore into another cluster); each row is captured into the trail';
COMMENT ON COLUMN witness.era.era_no IS 'the era''s number; the first era (from entry 1 and block 1) has no row';
COMMENT ON COLUMN witness.era.first_entry_id IS 'entries with this id or a higher one (up to the next era''s first_entry_id) belong to this era';
COMMENT ON COLUMN witness.era.first_block_no IS 'the era''s first block; the block before it closed the previous era';
COMMENT ON COLUMN witness.era.system_identifier IS 'the system identifier (pg_control_system()) of the cluster that started the era';
COMMENT ON COLUMN witness.era.trail_xmax IS 'the transaction id the trail had reached: the xmax of the newest block of the previous era before it was closed';
COMMENT ON COLUMN witness.era.cluster_next_xid IS 'the next transaction id of the cluster when the era started';
COMMENT ON COLUMN witness.era.started_at IS 'when the sealer started the era';
COMMENT ON SEQUENCE witness.era_era_no_seq IS 'pg_witness transaction-id era numbers';
SELECT witness._make_record_table('witness.era', 'era_no');

-- The era of entry entry_id: its entry ids [first_id, next_first_id) and its blocks [first_block,
-- end_block). Without any row in witness.era the whole trail is one era.
CREATE FUNCTION witness._era_bounds(entry_id bigint, OUT first_id bigint, OUT next_first_id bigint,
                                    OUT first_block bigint, OUT end_block bigint)
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(cur.first_entry_id, -9223372036854775808), COALESCE(nxt.first_entry_id, 9223372036854775807),
	       COALESCE(cur.first_block_no, -9223372036854775808), COALESCE(nxt.first_block_no, 9223372036854775807)
	FROM (SELECT 1) AS one
	LEFT JOIN LATERAL (SELECT e.first_entry_id, e.first_block_no FROM witness.era e
	                   WHERE e.first_entry_id <= entry_id ORDER BY e.first_entry_id DESC LIMIT 1) cur ON true
	LEFT JOIN LATERAL (SELECT e.first_entry_id, e.first_block_no FROM witness.era e
	                   WHERE e.first_entry_id > entry_id ORDER BY e.first_entry_id LIMIT 1) nxt ON true
$$;
COMMENT ON FUNCTION witness._era_bounds(bigint) IS 'internal: the entry ids and block numbers of the transaction-id era of an entry';

-- What an alert's cause puts before a transaction id so that it names one transaction of the whole
-- trail: nothing in the first transaction-id era, "era <its first entry id>:" in a later one.
CREATE FUNCTION witness._era_cause_prefix(entry_id bigint) RETURNS text
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE((SELECT format('era %s:', e.first_entry_id) FROM witness.era e
	                 WHERE e.first_entry_id <= entry_id ORDER BY e.first_entry_id DESC LIMIT 1), '')
$$;
COMMENT ON FUNCTION witness._era_cause_prefix(bigint) IS 'internal: the prefix of an alert cause that names the transaction-id era of an entry (empty in the first era)';
REVOKE ALL ON FUNCTION witness._era_cause_prefix(bigint) FROM PUBLIC;

-- The rows of witness.entry that are members of block b (docs/verification.md) with ids from from_id
-- to to_id: visible in its snapshot and not in prev_snapshot (the previous block's, NULL at an era's
-- first block), within its transaction-id era. The xid bounds (the previous snapshot's xmin, this
-- one's xmax) and the id bounds let witness.entry_xid and witness.entry_id skip the rest of the trail;
-- a header whose bounds were altered fails its block hash. The era's bounds are subqueries: where b
-- is a parameter of the caller, they run once per query, not once per entry as a join would. The one
-- definition of membership in SQL: plain SQL without SET, STRICT or SECURITY DEFINER, so that the
-- planner inlines it into its callers' queries, which then read only the columns they name. For
-- that, every operator and function in it is schema-qualified.
CREATE FUNCTION witness._member_entries(b witness.block, prev_snapshot pg_snapshot, from_id bigint, to_id bigint)
RETURNS SETOF witness.entry
LANGUAGE sql STABLE
AS $$
	SELECT m.* FROM witness.entry m
	WHERE m.xid OPERATOR(pg_catalog.>=) COALESCE(pg_catalog.pg_snapshot_xmin(prev_snapshot), '0'::pg_catalog.xid8)
	  AND m.xid OPERATOR(pg_catalog.<) pg_catalog.pg_snapshot_xmax(b.snapshot)
	  AND m.id OPERATOR(pg_catalog.>=) pg_catalog.int8larger(b.first_entry_id, from_id)
	  AND m.id OPERATOR(pg_catalog.<=) pg_catalog.int8smaller(b.last_entry_id, to_id)
	  AND m.id OPERATOR(pg_catalog.>=) (SELECT era.first_id FROM witness._era_bounds(b.first_entry_id) era)
	  AND m.id OPERATOR(pg_catalog.<) (SELECT era.next_first_id FROM witness._era_bounds(b.first_entry_id) era)
	  AND pg_catalog.pg_visible_in_snapshot(m.xid, b.snapshot)
	  AND (prev_snapshot IS NULL OR NOT pg_catalog.pg_visible_in_snapshot(m.xid, prev_snapshot))
$$;
COMMENT ON FUNCTION witness._member_entries(witness.block, pg_snapshot, bigint, bigint) IS 'internal: the entries of a block with ids in a range (inlined into the queries that call it)';
REVOKE ALL ON FUNCTION witness._member_entries(witness.block, pg_snapshot, bigint, bigint) FROM PUBLIC;

-- The snapshot whose transactions block block_no does not hold: the previous block's, except for the
-- first block of an era, which holds every transaction of its era its snapshot sees.
CREATE FUNCTION witness._previous_snapshot(block_no bigint) RETURNS pg_snapshot
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.snapshot FROM witness.block p
	WHERE p.block_no = _previous_snapshot.block_no - 1
	  AND NOT EXISTS (SELECT FROM witness.era e WHERE e.first_block_no = _previous_snapshot.block_no)
$$;
COMMENT ON FUNCTION witness._previous_snapshot(bigint) IS 'internal: the snapshot of the block before block_no, NULL when block_no starts a transaction-id era';

-- A central audit database (docs/central.md): a collector database holds the trail of one source
-- database, shipped by PostgreSQL's logical replication (publication witness_trail on the source,
-- FOR TABLE witness.entry, witness.block, inserts only; a subscription here). A collector captures
-- nothing and seals nothing: its entries and blocks are the source's, and the background sealer only
-- verifies them (witness.verify_interval). A database becomes a collector only while it tracks
-- nothing and has no trail of its own, so that collector mode cannot switch capture off anywhere.
-------------------------------------------------------------------------------

CREATE TABLE witness.collector (
	source text NOT NULL CHECK (pg_catalog.length(source) BETWEEN 1 AND 1024),
	became_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	became_by text NOT NULL,
	one_row boolean NOT NULL DEFAULT true UNIQUE CHECK (one_row)
);
COMMENT ON TABLE witness.collector IS 'pg_witness: one row when this database is a collector, holding the trail of a source database shipped by logical replication (witness.become_collector())';
COMMENT ON COLUMN witness.collector.source IS 'the source database, as witness.become_collector() was told it: its witness.database_id() (system identifier/name)';
COMMENT ON COLUMN witness.collector.became_at IS 'when this database became a collector';
COMMENT ON COLUMN witness.collector.became_by IS 'the role that made it one';
COMMENT ON COLUMN witness.collector.one_row IS 'always true: a database collects one source';
REVOKE ALL ON witness.collector FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('witness.collector', '');

-- The guard of witness.collector, and of the replicated trail in a collector: row triggers, because
-- a logical replication apply worker fires row triggers only. An UPDATE or DELETE that reaches a
-- collector (a publication that publishes them, a superuser with the statement guards disabled) is
-- refused, and the subscription stops with the error in the server log.
CREATE FUNCTION witness._collector_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- Making a month's partition moves the month's entries out of the default partition
	-- (witness._create_entry_partition()): a review's collector, whose default partition held entries
	-- of a month with no partition yet, could make no partition again, for good.
	IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' AND TG_TABLE_SCHEMA = 'witness' AND TG_TABLE_NAME = 'entry_default'
	   AND witness._in_internal_ddl() THEN
		RETURN OLD;
	END IF;
	IF TG_TABLE_NAME = 'collector' THEN
		IF TG_OP = 'INSERT' AND witness._in_internal_ddl() THEN
			RETURN NEW;
		END IF;
		RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only witness.become_collector() writes it, once; a collector stays one.';
	END IF;
	-- A partition of witness.entry (docs/scaling.md) is named as the trail it is part of.
	RAISE EXCEPTION 'cannot % %.% in a pg_witness collector', lower(TG_OP), TG_TABLE_SCHEMA,
		CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h
		                  WHERE h.inhrelid = TG_RELID AND h.inhparent = 'witness.entry'::pg_catalog.regclass)
		     THEN 'entry' ELSE TG_TABLE_NAME END
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = 'A collector keeps the source''s trail as it was shipped: only inserts are applied.',
		      HINT = 'Publish the trail with witness.publish_trail(), which publishes inserts only (docs/central.md).';
END
$$;
COMMENT ON FUNCTION witness._collector_guard() IS 'internal: guard trigger of witness.collector, and of witness.entry and witness.block in a collector';

CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.collector
	FOR EACH STATEMENT EXECUTE FUNCTION witness._collector_guard();
ALTER TABLE witness.collector ENABLE ALWAYS TRIGGER witness_append_only;
-- Origin only, like the other insert guards: a restore (session_replication_role = replica) loads it.
CREATE TRIGGER witness_insert_only_by_pg_witness BEFORE INSERT ON witness.collector
	FOR EACH STATEMENT EXECUTE FUNCTION witness._collector_guard();
COMMENT ON TRIGGER witness_append_only ON witness.collector IS 'pg_witness: a collector stays one';
COMMENT ON TRIGGER witness_insert_only_by_pg_witness ON witness.collector IS 'pg_witness: only witness.become_collector() makes a collector';

-- What a collector must not do to the source's trail, refused where each starts: track() inserts into
-- witness.tracked_table (capture of the collector's own changes), erase_subject() into witness.erasure
-- (an erasure no chain entry records: the source's erasures ship and are applied here), and
-- rotate_master_key() into witness.key_rotation (the payloads are the source's, sealed under its key).
-- A collector as the sealer decides (src/pg/common/collector_mode.hpp): a row beside tracked tables is
-- forged and stops nothing.
CREATE FUNCTION witness._check_not_collector(what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	source text := (SELECT c.source FROM witness.collector c);
BEGIN
	IF source IS NULL OR EXISTS (SELECT 1 FROM witness.tracked_table) THEN
		RETURN;
	END IF;
	IF what = 'tracked_table' THEN
		RAISE EXCEPTION 'cannot track tables in a pg_witness collector'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('This database holds the trail of %s, shipped by logical replication; it captures nothing of its own.', source),
			      HINT = 'Track the tables in the source database.';
	ELSIF what = 'erasure' THEN
		RAISE EXCEPTION 'cannot erase in a pg_witness collector'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('This database holds the trail of %s; an erasure here would be in no chain.', source),
			      HINT = 'Erase in the source database: the erasure ships and is applied here too.';
	ELSIF what IN ('retention_rule', 'retention_run') THEN
		RAISE EXCEPTION 'cannot % in a pg_witness collector', CASE what WHEN 'retention_rule' THEN 'set retention rules' ELSE 'apply retention' END
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('This database holds the trail of %s; entries pruned here would be missing from its chain.', source),
			      HINT = 'Set retention rules in the source database. Its retention runs do not ship: the central copy keeps every entry.';
	ELSIF what = 'legal_hold' THEN
		-- An attack review placed holds here: shown in force, in no chain, and the source's erasures,
		-- applied here as they ship, emptied the held entries all the same.
		RAISE EXCEPTION 'cannot place or release legal holds in a pg_witness collector'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('This database holds the trail of %s: the erasures of the source are applied here as they ship, whatever a hold here says.', source),
			      HINT = 'Place the hold in the source database: an erasure it refuses there never reaches this copy.';
	END IF;
	RAISE EXCEPTION 'cannot rotate the master key in a pg_witness collector'
		USING ERRCODE = 'object_not_in_prerequisite_state',
		      DETAIL = format('The payloads here are those of %s, sealed under its master key.', source);
END
$$;
COMMENT ON FUNCTION witness._check_not_collector(text) IS 'internal: refuses in a collector what would change the source''s trail there (what: the table the action writes: tracked_table, erasure, retention_rule, retention_run, legal_hold, key_rotation)';
REVOKE ALL ON FUNCTION witness._check_not_collector(text) FROM PUBLIC;

CREATE FUNCTION witness._refuse_in_collector() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM witness._check_not_collector(TG_TABLE_NAME);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._refuse_in_collector() IS 'internal: guard trigger that refuses tracking, erasures, key rotations, retention and legal holds in a collector';
CREATE TRIGGER witness_not_in_collector BEFORE INSERT ON witness.tracked_table
	FOR EACH STATEMENT EXECUTE FUNCTION witness._refuse_in_collector();
ALTER TABLE witness.tracked_table ENABLE ALWAYS TRIGGER witness_not_in_collector;
CREATE TRIGGER witness_not_in_collector BEFORE INSERT ON witness.erasure
	FOR EACH STATEMENT EXECUTE FUNCTION witness._refuse_in_collector();
ALTER TABLE witness.erasure ENABLE ALWAYS TRIGGER witness_not_in_collector;
CREATE TRIGGER witness_not_in_collector BEFORE INSERT ON witness.key_rotation
	FOR EACH STATEMENT EXECUTE FUNCTION witness._refuse_in_collector();
ALTER TABLE witness.key_rotation ENABLE ALWAYS TRIGGER witness_not_in_collector;
COMMENT ON TRIGGER witness_not_in_collector ON witness.tracked_table IS 'pg_witness: no tracking in a collector (docs/central.md)';
COMMENT ON TRIGGER witness_not_in_collector ON witness.erasure IS 'pg_witness: no erasure in a collector but those shipped from the source (docs/central.md)';
COMMENT ON TRIGGER witness_not_in_collector ON witness.key_rotation IS 'pg_witness: no master key rotation in a collector (docs/central.md)';

-- An erasure on the source updates entries, which logical replication does not ship (witness.entry has
-- no replica identity, and the publication sends inserts only). What ships is the erasure's own entry,
-- which the chain protects: applied here, it erases the entries it lists in the collector's copy too,
-- as erase_subject() did on the source, so that the central copy keeps no erased personal data and
-- both sides verify alike. Fired by the apply worker (ENABLE ALWAYS) for the erasure entries only.
CREATE FUNCTION witness._collector_apply_erasure() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	listed bigint[];
	leaves bytea[];
	tampered bigint[];
	others bigint;
	erasure bigint;
	tids tid[];
	moved tid[];
	parts oid[];
	ids bigint[];
BEGIN
	IF NEW.new_values IS NULL OR NOT EXISTS (SELECT 1 FROM witness.collector) THEN
		RETURN NULL;
	END IF;
	-- An erasure entry whose content does not give the leaf hash it stores (made up without computing
	-- it, or changed on the way) erases nothing: verify() reports it, and the values stay (an attack
	-- review: the payloads it listed were gone before anything was checked).
	IF witness._matching_leaf(NEW) IS NULL THEN
		RAISE WARNING 'pg_witness: entry % of witness.erasure does not match its leaf hash: nothing erased', NEW.id;
		RETURN NULL;
	END IF;
	-- entry_ids is captured as the text of a bigint[] (src/core/erasure_record.hpp).
	BEGIN
		listed := (NEW.new_values::jsonb ->> 'entry_ids')::bigint[];
		erasure := (NEW.new_values::jsonb ->> 'erasure_id')::bigint;
		leaves := (NEW.new_values::jsonb ->> 'entry_leaves')::bytea[];
		tampered := COALESCE((NEW.new_values::jsonb ->> 'tampered_entry_ids')::bigint[], '{}');
	EXCEPTION WHEN data_exception THEN
		-- Not an erasure record: verify() reports the entry; stopping replication would hide the rest.
		RAISE WARNING 'pg_witness: entry % of witness.erasure is no erasure record: nothing erased', NEW.id;
		RETURN NULL;
	END;
	-- A ctid names a row within one partition of witness.entry: tableoid says which (docs/scaling.md).
	-- Only the entry the source erased: its leaf hash begins with the bytes the erasure names for its
	-- id. Another trail's entry of that id (a source whose pg_witness was dropped and created again,
	-- its new trail published by hand) is left alone (an attack review erased an old trail's entries
	-- so, and both verified). An entry the source found tampered with (tampered_entry_ids: its stored
	-- leaf hash or its content altered there) is erased here when this copy gives its own stored leaf
	-- hash: the review of this check altered a source's stored leaf hash, and the copy kept the values.
	SELECT array_agg(f.entry_ctid ORDER BY (f.entry).id) FILTER (WHERE same), array_agg(f.entry_part ORDER BY (f.entry).id) FILTER (WHERE same),
	       array_agg((f.entry).id ORDER BY (f.entry).id) FILTER (WHERE same), count(*) FILTER (WHERE NOT same)
	INTO tids, parts, ids, others
	FROM witness._entries_by_id(listed) f
	JOIN unnest(listed, leaves) AS l(id, leaf) ON l.id = (f.entry).id
	CROSS JOIN LATERAL (SELECT substring((f.entry).leaf_hash FROM 1 FOR 8) IS NOT DISTINCT FROM l.leaf
	                           OR (l.id = ANY (tampered) AND witness._matching_leaf(f.entry) IS NOT NULL) AS same) x
	WHERE (f.entry).format = 2 AND (f.entry).erasure_id IS NULL;
	IF others > 0 THEN
		RAISE WARNING 'pg_witness: entry % of witness.erasure lists % entries held here with another leaf hash: not erased', NEW.id, others
			USING DETAIL = 'They are not the entries the source erased (another trail''s entries of the same ids), or this copy of them no longer gives its leaf hash.';
	END IF;
	IF ids IS NOT NULL THEN
		PERFORM witness._take_mutex('erase_subject');
		moved := witness._erase_payloads(tids, parts, ids, erasure);
		-- The source's witness.erasure does not ship, so its trigger's work is done here: the erased
		-- entries' lookup rows lose their keys (a key's hash confirms a guessed subject or row key).
		PERFORM witness._forget_lookup_keys(ids);
		PERFORM witness._move_lookup_places(ids, moved);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._collector_apply_erasure() IS 'internal: in a collector, erases the entries a replicated erasure entry lists';

-- One row per witness.publish_trail() call, captured into the chain: the source names itself in its
-- own trail, so that a collector can tell whose trail it receives (a review subscribed the collector
-- of one database to another database's publication, and it verified as valid).
CREATE TABLE witness.trail_publication (
	publication_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	database_id text NOT NULL,
	role_name text NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	database_encoding text,
	trail_id uuid NOT NULL
);
COMMENT ON TABLE witness.trail_publication IS 'pg_witness: one row per witness.publish_trail() call, naming the database that publishes its trail; each row is captured into the trail, which a collector receives';
COMMENT ON COLUMN witness.trail_publication.publication_id IS 'the call''s number';
COMMENT ON COLUMN witness.trail_publication.database_id IS 'witness.database_id() of the publishing database: cluster system identifier and database name';
COMMENT ON COLUMN witness.trail_publication.role_name IS 'the role that called witness.publish_trail() (after SET ROLE)';
COMMENT ON COLUMN witness.trail_publication.recorded_at IS 'when it was called';
COMMENT ON COLUMN witness.trail_publication.database_encoding IS 'the publishing database''s encoding: a collector database needs the same (docs/central.md)';
COMMENT ON COLUMN witness.trail_publication.trail_id IS 'the trail''s identity, drawn at its first publication and kept by every later one (and by a restore): a trail started again by DROP EXTENSION and CREATE EXTENSION draws a new one, which its collector refuses (docs/central.md)';
COMMENT ON SEQUENCE witness.trail_publication_publication_id_seq IS 'pg_witness trail publication ids';
SELECT witness._make_record_table('witness.trail_publication', 'publication_id');

-- In a collector: the database each shipped witness.trail_publication entry names (written by the
-- trigger below; empty elsewhere). witness.collector_status compares the newest with the source.
CREATE TABLE witness.collector_origin (
	entry_id bigint NOT NULL,
	database_id text NOT NULL,
	received_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	database_encoding text,
	trail_id uuid
);
REVOKE ALL ON witness.collector_origin FROM PUBLIC;
COMMENT ON TABLE witness.collector_origin IS 'pg_witness, in a collector: the database named by each witness.trail_publication entry received, that is, whose trail arrives here';
COMMENT ON COLUMN witness.collector_origin.entry_id IS 'the id of the shipped entry';
COMMENT ON COLUMN witness.collector_origin.database_id IS 'the publishing database it names (witness.database_id() there)';
COMMENT ON COLUMN witness.collector_origin.received_at IS 'when it arrived';
COMMENT ON COLUMN witness.collector_origin.database_encoding IS 'the publishing database''s encoding it names (NULL: not named)';
COMMENT ON COLUMN witness.collector_origin.trail_id IS 'the trail identity it names (NULL: not named); every entry of witness.trail_publication a collector takes names the same';

-- Fired by the apply worker (ENABLE ALWAYS) for the entries of witness.trail_publication: notes the
-- database the trail comes from, and warns when it is not the source the collector was made for. An
-- entry whose content does not give its leaf hash is not taken (verify() reports it).
CREATE FUNCTION witness._collector_note_origin() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	source text := (SELECT c.source FROM witness.collector c);
	named text;
	trail uuid;
BEGIN
	IF source IS NULL OR NEW.new_values IS NULL THEN
		RETURN NULL;
	END IF;
	IF witness._matching_leaf(NEW) IS NULL THEN
		RAISE WARNING 'pg_witness: entry % of witness.trail_publication does not match its leaf hash: not taken for the trail''s origin', NEW.id;
		RETURN NULL;
	END IF;
	named := NEW.new_values::jsonb ->> 'database_id';
	IF named IS NULL THEN
		RETURN NULL;
	END IF;
	-- One trail per collector: a source whose pg_witness was dropped and created again starts a new
	-- trail, ids and block numbers from 1, under a new trail id; the apply worker stops here, before
	-- anything of it is applied (a review: its erasure erased the old trail's entries of the same ids).
	trail := (SELECT o.trail_id FROM witness.collector_origin o WHERE o.trail_id IS NOT NULL ORDER BY o.entry_id LIMIT 1);
	IF trail IS NOT NULL AND (NEW.new_values::jsonb ->> 'trail_id') IS DISTINCT FROM trail::text THEN
		RAISE EXCEPTION 'pg_witness collector of % refuses another trail', source
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Entry %s of witness.trail_publication, published by %s, names trail %s; this collector holds trail %s.',
			                      NEW.id, named, coalesce(NEW.new_values::jsonb ->> 'trail_id', 'none'), trail),
			      HINT = 'The source''s pg_witness was dropped and created again, or the subscription points at another database. Collect the new trail into a new collector database; this one keeps the old trail.';
	END IF;
	INSERT INTO witness.collector_origin (entry_id, database_id, database_encoding, trail_id)
	VALUES (NEW.id, named, NEW.new_values::jsonb ->> 'database_encoding', (NEW.new_values::jsonb ->> 'trail_id')::uuid);
	IF named <> source THEN
		RAISE WARNING 'pg_witness: this collector of % receives the trail of %', source, named
			USING DETAIL = format('Entry %s of witness.trail_publication names the database that published the trail.', NEW.id),
			      HINT = 'Subscribe a new collector database to the source it names in witness.become_collector().';
	END IF;
	IF NEW.new_values::jsonb ->> 'database_encoding' <> pg_catalog.current_setting('server_encoding') THEN
		RAISE WARNING 'pg_witness: this collector''s database has encoding %, the trail''s source %', pg_catalog.current_setting('server_encoding'), NEW.new_values::jsonb ->> 'database_encoding'
			USING DETAIL = 'Entries whose JSON members order differently in the two encodings verify as tampered here, and a byte the conversion refuses stops the subscription.',
			      HINT = 'Create the collector database with the source''s encoding (docs/central.md).';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._collector_note_origin() IS 'internal: in a collector, notes the database a replicated witness.trail_publication entry names, and warns when it is not the source';
REVOKE ALL ON FUNCTION witness._collector_note_origin() FROM PUBLIC;

-- The source side: what a collector subscribes to. Inserts only: the trail is append-only, erasures
-- ship as their entry (above), and a TRUNCATE or DELETE never reaches the central copy.
CREATE FUNCTION witness.publish_trail() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to publish the pg_witness trail'
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A superuser publishes it (the publication names tables of pg_witness''s owner).';
	END IF;
	IF EXISTS (SELECT 1 FROM witness.collector) THEN
		RAISE EXCEPTION 'cannot publish the trail of a pg_witness collector'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'A collector holds the trail of another database; subscribe to that one.';
	END IF;
	IF current_setting('wal_level') <> 'logical' THEN
		RAISE WARNING 'wal_level is %: a subscription receives nothing until it is logical', current_setting('wal_level')
			USING HINT = 'ALTER SYSTEM SET wal_level = logical, then restart the server.';
	END IF;
	-- Through the root: a trail partitioned on the source arrives whatever the collector's partitions.
	-- witness.era too: membership depends on the transaction-id eras of a trail that moved clusters.
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = 'witness_trail') THEN
		CREATE PUBLICATION witness_trail FOR TABLE witness.entry, witness.block, witness.era
			WITH (publish = 'insert', publish_via_partition_root = true);
	ELSIF (SELECT p.puballtables FROM pg_catalog.pg_publication p WHERE p.pubname = 'witness_trail') THEN
		RAISE EXCEPTION 'publication "witness_trail" publishes all tables'
			USING ERRCODE = 'duplicate_object',
			      HINT = 'Drop it; witness.publish_trail() then creates it with the trail''s tables only.';
	ELSE
		-- Set right again: a restore keeps the publication but not its tables (they belong to the
		-- extension), and so does DROP and CREATE EXTENSION; a row filter or column list, or updates
		-- published, would ship a trail the collector reports as tampered or refuses (a review). Taken
		-- over first: one made by a role with CREATE on the database stayed that role's to alter or
		-- drop (a review of this change), as does a restored one its dumped owner's.
		ALTER PUBLICATION witness_trail OWNER TO CURRENT_USER;
		ALTER PUBLICATION witness_trail SET TABLE witness.entry, witness.block, witness.era;
		ALTER PUBLICATION witness_trail SET (publish = 'insert', publish_via_partition_root = true);
		RAISE NOTICE 'publication "witness_trail" set to the trail''s tables, inserts only, owned by %', current_user;
		IF NOT EXISTS (SELECT 1 FROM witness.trail_publication) THEN
			RAISE WARNING 'publication "witness_trail" is older than this trail'
				USING DETAIL = 'A collector subscribed to it before holds an earlier trail of this database (pg_witness dropped and created again) and refuses this one.',
				      HINT = 'Collect this trail into a new collector database.';
		END IF;
	END IF;
	COMMENT ON PUBLICATION witness_trail IS 'pg_witness: the trail, inserts only, for a collector (docs/central.md)';
	-- The trail names the database it comes from (witness.collector_status.source_matches).
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.trail_publication (database_id, role_name, database_encoding, trail_id)
	VALUES (witness.database_id(), witness._outer_user(), pg_catalog.current_setting('server_encoding'),
	        coalesce((SELECT p.trail_id FROM witness.trail_publication p ORDER BY p.publication_id LIMIT 1), pg_catalog.gen_random_uuid()));
	PERFORM witness._end_internal_ddl();
	RETURN 'witness_trail';
END
$$;
COMMENT ON FUNCTION witness.publish_trail() IS 'creates publication witness_trail (witness.entry, witness.block and witness.era, inserts only, through the partition root) for a central collector to subscribe to, or sets an existing one right again; returns its name';

-- Fired by the apply worker (ENABLE ALWAYS) for every entry that arrives: an id the collector holds
-- already is refused, whatever its statement time. A trail started again on the source (DROP
-- EXTENSION and CREATE EXTENSION) numbers its entries from 1 again, and its entries and erasures were
-- applied among the old trail's (a review: an erasure of the new trail erased the old trail's entry of
-- the same id, and both verified). The apply worker stops at the first such entry.
CREATE FUNCTION witness._collector_refuse_known_id() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM witness.entry e WHERE e.id OPERATOR(pg_catalog.=) NEW.id) THEN
		RAISE EXCEPTION 'pg_witness collector holds entry % already', NEW.id
			USING ERRCODE = 'unique_violation',
			      DETAIL = format('The entry arriving has statement time %s; a collector holds one trail, each entry once.', NEW.stmt_time),
			      HINT = 'The subscription copied the trail again, or the source''s pg_witness was dropped and created again (a new trail): collect a new trail into a new collector database.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION witness._collector_refuse_known_id() IS 'internal: in a collector, refuses an arriving entry whose id it holds already (one trail, each entry once)';
REVOKE ALL ON FUNCTION witness._collector_refuse_known_id() FROM PUBLIC;

-- The central side: turns a new database into the collector of one source. Refused where anything is
-- tracked or any entry or block exists: collector mode must never switch capture or sealing off in a
-- database that has a trail of its own. Stops the capture of pg_witness's own tables (activity,
-- permission events, verification runs are kept here unchained: an entry made here would mix with
-- the source's), and guards the replicated rows against anything but inserts.
CREATE FUNCTION witness.become_collector(source text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t record;
	n bigint;
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to make this database a pg_witness collector'
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A superuser does it: a collector stops capture here for good, and needs CREATE SUBSCRIPTION.';
	END IF;
	IF source IS NULL OR btrim(source) = '' THEN
		RAISE EXCEPTION 'source must not be null or empty' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Name the source database as its witness.database_id() returns it.';
	END IF;
	-- No track() and no capture while this runs.
	LOCK TABLE witness.tracked_table, witness.entry, witness.block IN EXCLUSIVE MODE;
	PERFORM witness._refuse_prepare_holding('collector');
	IF EXISTS (SELECT 1 FROM witness.collector) THEN
		RAISE EXCEPTION 'this database is a pg_witness collector already'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('It collects the trail of %s.', (SELECT c.source FROM witness.collector c));
	END IF;
	SELECT count(*) INTO n FROM witness.tracked_table r WHERE r.schema_name <> 'witness';
	IF n > 0 THEN
		RAISE EXCEPTION 'cannot make a database that tracks tables a pg_witness collector'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('It tracks %s tables; a collector captures nothing.', n),
			      HINT = 'Collect into a new database with pg_witness installed and nothing tracked.';
	END IF;
	IF EXISTS (SELECT 1 FROM witness.entry) OR EXISTS (SELECT 1 FROM witness.block) THEN
		RAISE EXCEPTION 'cannot make a database with a trail of its own a pg_witness collector'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'witness.entry or witness.block holds rows; a collector holds the source''s trail only.',
			      HINT = 'In a new database, run CREATE EXTENSION pg_witness and witness.become_collector() in one transaction: activity recorded in between would be entries of its own.';
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.collector (source, became_by) VALUES (source, witness._outer_user());
	FOR t IN SELECT g.tgrelid::regclass AS rel, g.tgname
	         FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
	         WHERE c.relnamespace = 'witness'::regnamespace
	           AND g.tgfoid IN ('witness.capture()'::regprocedure, 'witness.capture_truncate()'::regprocedure)
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
	END LOOP;
	PERFORM set_config('session_replication_role', 'replica', true);
	DELETE FROM witness.tracked_table;
	PERFORM set_config('session_replication_role', 'origin', true);
	CREATE TRIGGER witness_collector_append_only BEFORE UPDATE OR DELETE ON witness.entry
		FOR EACH ROW EXECUTE FUNCTION witness._collector_guard();
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_collector_append_only;
	CREATE TRIGGER witness_collector_append_only BEFORE UPDATE OR DELETE ON witness.block
		FOR EACH ROW EXECUTE FUNCTION witness._collector_guard();
	ALTER TABLE witness.block ENABLE ALWAYS TRIGGER witness_collector_append_only;
	CREATE TRIGGER witness_collector_erasure AFTER INSERT ON witness.entry
		FOR EACH ROW WHEN (NEW.schema_name = 'witness' AND NEW.table_name = 'erasure' AND NEW.op = 'INSERT')
		EXECUTE FUNCTION witness._collector_apply_erasure();
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_collector_erasure;
	COMMENT ON TRIGGER witness_collector_append_only ON witness.entry IS 'pg_witness: the collector refuses updates and deletions, the apply worker''s too';
	COMMENT ON TRIGGER witness_collector_append_only ON witness.block IS 'pg_witness: the collector refuses updates and deletions, the apply worker''s too';
	COMMENT ON TRIGGER witness_collector_erasure ON witness.entry IS 'pg_witness: applies an erasure shipped from the source to the entries it lists';
	-- An entry that arrives twice is refused, not stored twice: a subscription dropped and made again
	-- copied the whole trail a second time (a review), and every block then verified as tampered.
	-- (An entry's id and statement time never change, and the time is the partition key.)
	CREATE UNIQUE INDEX entry_collector_once ON witness.entry (id, stmt_time);
	COMMENT ON INDEX witness.entry_collector_once IS 'pg_witness collector: each entry of the source once';
	CREATE TRIGGER witness_collector_one_trail BEFORE INSERT ON witness.entry
		FOR EACH ROW EXECUTE FUNCTION witness._collector_refuse_known_id();
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_collector_one_trail;
	COMMENT ON TRIGGER witness_collector_one_trail ON witness.entry IS 'pg_witness: refuses an entry whose id the collector holds already (a trail started again on the source)';
	PERFORM witness._end_internal_ddl();
	RAISE LOG 'pg_witness: database "%" became the collector of %', current_database(), source;
	PERFORM witness._begin_internal_ddl();
	CREATE TRIGGER witness_collector_origin AFTER INSERT ON witness.entry
		FOR EACH ROW WHEN (NEW.schema_name = 'witness' AND NEW.table_name = 'trail_publication' AND NEW.op = 'INSERT')
		EXECUTE FUNCTION witness._collector_note_origin();
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_collector_origin;
	COMMENT ON TRIGGER witness_collector_origin ON witness.entry IS 'pg_witness: notes whose trail arrives (witness.trail_publication entries), and warns when it is not the source''s';
	PERFORM witness._end_internal_ddl();
END
$$;
COMMENT ON FUNCTION witness.become_collector(text) IS 'makes this database, which must track nothing and hold no entries, the collector of a source database''s trail (docs/central.md); recorded in witness.collector, for good';

-- Replication and the shipped trail at a glance (docs/central.md, "Monitoring").
CREATE FUNCTION witness._collector_status(OUT source text, OUT became_at timestamptz, OUT subscription name,
	OUT enabled boolean, OUT receiving boolean, OUT copied boolean, OUT received_lsn pg_lsn, OUT latest_end_lsn pg_lsn,
	OUT last_msg_receipt_time timestamptz, OUT latest_end_time timestamptz, OUT last_block_no bigint,
	OUT last_block_sealed_at timestamptz, OUT newest_block_age interval, OUT entries_sealed numeric,
	OUT published_as text, OUT source_matches boolean, OUT source_encoding text, OUT encoding_matches boolean)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN PERFORM witness.access_check();
	RETURN QUERY
	SELECT c.source, c.became_at, s.subname, s.subenabled, st.pid IS NOT NULL,
	       -- The initial copy of each of its tables done (an apply worker runs, and says it receives,
	       -- while the copy waits for a worker slot: a review's collector stayed empty so, unreported).
	       EXISTS (SELECT FROM pg_catalog.pg_subscription_rel r WHERE r.srsubid = s.oid)
	       AND NOT EXISTS (SELECT FROM pg_catalog.pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate NOT IN ('r', 's')),
	       st.received_lsn, st.latest_end_lsn, st.last_msg_receipt_time, st.latest_end_time,
	       b.last_no, b.last_at, pg_catalog.now() - b.last_at, b.sealed, o.database_id, o.database_id OPERATOR(pg_catalog.=) c.source,
	       o.database_encoding, o.database_encoding OPERATOR(pg_catalog.=) pg_catalog.current_setting('server_encoding')
	FROM witness.collector c
	LEFT JOIN LATERAL (SELECT x.database_id, x.database_encoding FROM witness.collector_origin x ORDER BY x.entry_id DESC LIMIT 1) o ON true
	CROSS JOIN LATERAL (SELECT pg_catalog.max(x.block_no) AS last_no, pg_catalog.max(x.sealed_at) AS last_at,
	                           pg_catalog.sum(x.entry_count) AS sealed FROM witness.block x) b
	LEFT JOIN pg_catalog.pg_subscription s
	       ON s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
	LEFT JOIN pg_catalog.pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL;
END
$$;
COMMENT ON FUNCTION witness._collector_status() IS 'internal: the rows of witness.collector_status';

CREATE VIEW witness.collector_status AS SELECT * FROM witness._collector_status();
COMMENT ON VIEW witness.collector_status IS 'in a collector: the source, each subscription and how far it has received, and the newest shipped block; no row elsewhere';
COMMENT ON COLUMN witness.collector_status.source IS 'the source database (witness.become_collector())';
COMMENT ON COLUMN witness.collector_status.became_at IS 'when this database became a collector';
COMMENT ON COLUMN witness.collector_status.subscription IS 'a subscription of this database (NULL: none yet)';
COMMENT ON COLUMN witness.collector_status.enabled IS 'whether the subscription is enabled';
COMMENT ON COLUMN witness.collector_status.receiving IS 'whether its apply worker runs (false: it stopped, look in the server log)';
COMMENT ON COLUMN witness.collector_status.copied IS 'whether the initial copy of every table the subscription receives is done (false: not yet, or no table; the source''s trail is not all here)';
COMMENT ON COLUMN witness.collector_status.received_lsn IS 'the last source WAL position received';
COMMENT ON COLUMN witness.collector_status.latest_end_lsn IS 'the last source WAL position reported back to the source';
COMMENT ON COLUMN witness.collector_status.last_msg_receipt_time IS 'when the last message from the source arrived';
COMMENT ON COLUMN witness.collector_status.latest_end_time IS 'when the position was last reported back';
COMMENT ON COLUMN witness.collector_status.last_block_no IS 'the newest block shipped';
COMMENT ON COLUMN witness.collector_status.last_block_sealed_at IS 'when the source sealed it';
COMMENT ON COLUMN witness.collector_status.newest_block_age IS 'now minus last_block_sealed_at: with the source sealing every witness.seal_interval, how far the central copy is behind';
COMMENT ON COLUMN witness.collector_status.entries_sealed IS 'entries sealed in the shipped blocks';
COMMENT ON COLUMN witness.collector_status.published_as IS 'the database whose trail arrives, as its newest witness.trail_publication entry names it (NULL: none arrived yet)';
COMMENT ON COLUMN witness.collector_status.source_matches IS 'whether that is the source (false: the trail of another database arrives; NULL: not known yet)';
COMMENT ON COLUMN witness.collector_status.source_encoding IS 'the encoding of the database whose trail arrives, as its newest witness.trail_publication entry names it (NULL: not known yet)';
COMMENT ON COLUMN witness.collector_status.encoding_matches IS 'whether this database has that encoding (false: entries whose JSON members order differently in the two encodings are reported as tampered, and a byte the conversion refuses stops the subscription; create the collector database with the source''s encoding, docs/central.md)';
REVOKE ALL ON witness.collector_status FROM PUBLIC;

-------------------------------------------------------------------------------
-- Verification from a checkpoint (docs/verification.md, "Resuming from a checkpoint"; docs/scaling.md):
-- a recorded verification that found the trail valid names the newest block and its hash, in its row
-- of witness.verification_run, itself an entry of the chain. A later verification checks only the
-- blocks after it, once it has checked that the block still has that hash and that the chain holds the
-- same record.
-------------------------------------------------------------------------------

ALTER TABLE witness.verification_run
	ADD COLUMN resumed_from_block bigint,
	ADD COLUMN checkpoint_block bigint,
	ADD COLUMN checkpoint_hash bytea,
	ADD COLUMN recorded_xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN witness.verification_run.resumed_from_block IS 'the checkpoint block it resumed from, having checked only the blocks after it; NULL for a verification of the whole trail';
COMMENT ON COLUMN witness.verification_run.checkpoint_block IS 'when valid: the newest block it checked, from which a later verification may resume; NULL otherwise';
COMMENT ON COLUMN witness.verification_run.checkpoint_hash IS 'the stored hash of checkpoint_block when it was checked';
COMMENT ON COLUMN witness.verification_run.recorded_xid IS 'the transaction that recorded the run, and its entry in the chain: a checkpoint counts once a block seals it';
COMMENT ON TABLE witness.verification_run IS 'pg_witness: one row per recorded verification (the background sealer''s scheduled ones, witness.verify_and_checkpoint()), each row captured into the trail; a valid one names the checkpoint a later verification resumes from';

CREATE FUNCTION witness.verify_since_checkpoint()
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval,
               entries_erased bigint, entries_unchecked bigint, entries_pruned bigint, resumed_from_block bigint,
               checkpoint_run bigint, recorded_run bigint)
AS 'MODULE_PATHNAME', 'witness_verify_since_checkpoint'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION witness.verify_since_checkpoint() IS 'witness.verify() of the blocks after the newest checkpoint (resumed_from_block; the whole trail when there is none); a checkpoint that does not hold is reported as "checkpoint invalid" and the whole trail verified; records nothing';
REVOKE ALL ON FUNCTION witness.verify_since_checkpoint() FROM PUBLIC;

CREATE FUNCTION witness.verify_and_checkpoint(resume boolean DEFAULT true)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval,
               entries_erased bigint, entries_unchecked bigint, entries_pruned bigint, resumed_from_block bigint,
               checkpoint_run bigint, recorded_run bigint)
AS 'MODULE_PATHNAME', 'witness_verify_and_checkpoint'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION witness.verify_and_checkpoint(boolean) IS 'verifies from the newest checkpoint (resume) or the whole trail, and records the run in witness.verification_run (recorded_run); when valid, the newest block becomes the next checkpoint';
REVOKE ALL ON FUNCTION witness.verify_and_checkpoint(boolean) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Retention that stays verifiable (docs/retention.md, "Retention"): per-classification rules, and
-- witness.apply_retention(), which deletes sealed, expired, unheld entries and keeps what the blocks'
-- Merkle roots need (the leaf hashes of a partly pruned block's pruned entries, nothing per entry
-- for a wholly pruned block)
-------------------------------------------------------------------------------

-- One row per call of witness.set_retention(), captured into the trail: who set which period when.
CREATE TABLE witness.retention_rule (
	rule_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	classification text NOT NULL,
	keep interval,
	set_by text NOT NULL,
	set_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	archive boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE witness.retention_rule IS 'pg_witness: one row per witness.set_retention() call; the newest row of a classification is its rule in force; each row is captured into the trail';
COMMENT ON COLUMN witness.retention_rule.classification IS 'pii, financial, confidential, restricted, internal, or untagged (entries with no classification tag)';
COMMENT ON COLUMN witness.retention_rule.keep IS 'how long entries of the classification are kept after their statement time; NULL: forever';
COMMENT ON COLUMN witness.retention_rule.set_by IS 'the role that set the rule (after SET ROLE)';
COMMENT ON COLUMN witness.retention_rule.set_at IS 'when';
COMMENT ON COLUMN witness.retention_rule.archive IS 'expired entries of the classification are written to an archive file in witness.archive_directory before they are pruned (docs/retention.md, "Archive instead of delete")';
COMMENT ON SEQUENCE witness.retention_rule_rule_id_seq IS 'pg_witness retention rule ids';
SELECT witness._make_record_table('witness.retention_rule', 'rule_id');

-- One row per run of witness.apply_retention(), captured into the trail. Its pruned member lists, per
-- block, a SHA-256 digest of what witness.pruned_leaf keeps for the block: verification uses a kept
-- leaf hash only when the chain holds the run's entry with the matching digest.
CREATE TABLE witness.retention_run (
	run_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	run_by text NOT NULL,
	ran_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	rules jsonb NOT NULL,
	entries_pruned bigint NOT NULL,
	held_kept bigint NOT NULL,
	pruned jsonb NOT NULL,
	archives jsonb NOT NULL DEFAULT '[]'
);
COMMENT ON TABLE witness.retention_run IS 'pg_witness: one row per witness.apply_retention() run (by a role or the background worker); each row is captured into the trail';
COMMENT ON COLUMN witness.retention_run.run_by IS 'the role that ran it (after SET ROLE); the background worker runs as the bootstrap superuser';
COMMENT ON COLUMN witness.retention_run.ran_at IS 'when';
COMMENT ON COLUMN witness.retention_run.rules IS 'the rules in force: classification -> period kept (null: forever)';
COMMENT ON COLUMN witness.retention_run.entries_pruned IS 'entries deleted';
COMMENT ON COLUMN witness.retention_run.held_kept IS 'expired entries kept because a legal hold in force covers them';
COMMENT ON COLUMN witness.retention_run.pruned IS 'per block pruned: block_no, whole (no entry of it remains), entries, first_id, last_id, digest: hex SHA-256 of what witness.pruned_leaf keeps for it (witness._pruned_digest), and first_time_us, last_time_us: the earliest and latest statement time of the entries pruned, in microseconds since 1970';
COMMENT ON COLUMN witness.retention_run.archives IS 'per archive file written before pruning: file (name in witness.archive_directory), month, entries, blocks, sha256 (hex SHA-256 of the file''s bytes)';
COMMENT ON SEQUENCE witness.retention_run_run_id_seq IS 'pg_witness retention run ids';
SELECT witness._make_record_table('witness.retention_run', 'run_id');

-- What a block's Merkle root needs of its pruned entries: one row per block and run, the ids in
-- ascending order and their 32-byte leaf hashes back to back (40 bytes an entry, plus one row per
-- block). A wholly pruned block keeps an empty row (whole): its header still verifies on its own.
-- Not captured: the run's entry in the chain covers each row by its digest.
CREATE TABLE witness.pruned_leaf (
	block_no bigint NOT NULL,
	run_id bigint NOT NULL,
	whole boolean NOT NULL,
	entry_ids bigint[] NOT NULL,
	leaf_hashes bytea NOT NULL,
	PRIMARY KEY (block_no, run_id)
);
-- Hashes do not compress: do not try.
ALTER TABLE witness.pruned_leaf ALTER COLUMN leaf_hashes SET STORAGE EXTERNAL;
COMMENT ON TABLE witness.pruned_leaf IS 'pg_witness: the ids and leaf hashes of entries witness.apply_retention() pruned from a block, which its Merkle root still covers (none for a wholly pruned block)';
COMMENT ON COLUMN witness.pruned_leaf.whole IS 'the run pruned the last entries of the block: nothing per entry is kept';
COMMENT ON COLUMN witness.pruned_leaf.entry_ids IS 'the pruned entries, ascending';
COMMENT ON COLUMN witness.pruned_leaf.leaf_hashes IS 'their leaf hashes, 32 bytes each, in the order of entry_ids';
REVOKE ALL ON witness.pruned_leaf FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('witness.pruned_leaf', '');
CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.pruned_leaf
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.pruned_leaf ENABLE ALWAYS TRIGGER witness_append_only;
-- Not ALWAYS, as for the record tables: pg_restore loads the rows in replica mode (a row added so
-- by a superuser is named by no retention run in the chain, and verification reports it).
CREATE TRIGGER witness_insert_only_by_pg_witness BEFORE INSERT ON witness.pruned_leaf
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();

-- The names retention rules take: the classifications, and untagged for entries with no tag.
CREATE FUNCTION witness.retention_classes() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT witness.classifications() || ARRAY['untagged'] $$;
COMMENT ON FUNCTION witness.retention_classes() IS 'the classifications a retention rule can name: the classification tags and untagged';

CREATE VIEW witness.retention_rules AS
SELECT c.classification, r.keep, r.keep IS NULL AS forever, r.set_by, r.set_at, r.rule_id, COALESCE(r.archive, false) AS archive
FROM pg_catalog.unnest(witness.retention_classes()) WITH ORDINALITY AS c(classification, n)
LEFT JOIN LATERAL (SELECT x.* FROM witness.retention_rule x WHERE x.classification OPERATOR(pg_catalog.=) c.classification
                   ORDER BY x.rule_id DESC LIMIT 1) r ON true
ORDER BY c.n;
COMMENT ON VIEW witness.retention_rules IS 'the retention rule in force per classification (forever when none was ever set or the newest says NULL), who set it and when';
REVOKE ALL ON witness.retention_rules FROM PUBLIC;

-- Retention runs and rule changes one at a time, after erasures and rotations (which rewrite entries).
CREATE FUNCTION witness._retention_lock() RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT witness._take_mutex('retention') $$;
COMMENT ON FUNCTION witness._retention_lock() IS 'internal: takes the lock (witness.mutex) under which retention rules change and retention runs';
REVOKE ALL ON FUNCTION witness._retention_lock() FROM PUBLIC;

CREATE FUNCTION witness.set_retention(classification text, keep interval, archive boolean DEFAULT false) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	IF classification IS NULL OR NOT classification = ANY (witness.retention_classes()) THEN
		RAISE EXCEPTION 'invalid retention classification: %', COALESCE(quote_literal(classification), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Valid classifications are: ' || array_to_string(witness.retention_classes(), ', ') || '.';
	END IF;
	IF keep IS NOT NULL AND keep <= interval '0' THEN
		RAISE EXCEPTION 'retention period must be positive: %', keep
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass NULL to keep the entries forever, for example witness.set_retention(''pii'', NULL).';
	END IF;
	-- '-1 mon 40 days' is positive taken as 30-day months, yet how long it keeps depends on the month.
	IF keep IS NOT NULL AND (extract(year FROM keep) < 0 OR extract(month FROM keep) < 0 OR extract(day FROM keep) < 0
	                         OR extract(hour FROM keep) < 0 OR extract(minute FROM keep) < 0 OR extract(second FROM keep) < 0) THEN
		RAISE EXCEPTION 'retention period must not have a negative part: %', keep
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Give the period in one sign, for example ''10 days''.';
	END IF;
	-- now() minus a period of some 6,700 years is before the first timestamp: every retention run
	-- failed then (found by a robustness review).
	IF keep > interval '1000 years' THEN
		RAISE EXCEPTION 'retention period must be at most 1000 years: %', keep
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass NULL to keep the entries forever, for example witness.set_retention(''pii'', NULL).';
	END IF;
	IF archive IS NULL THEN
		RAISE EXCEPTION 'archive must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF archive AND keep IS NOT NULL AND current_setting('witness.archive_directory') = '' THEN
		RAISE WARNING 'witness.archive_directory is not set'
			USING DETAIL = 'witness.apply_retention() refuses to run while a rule archives and no directory is set.',
			      HINT = 'A superuser sets witness.archive_directory in postgresql.conf.';
	END IF;
	PERFORM witness._retention_lock();
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.retention_rule (classification, keep, set_by, archive)
	VALUES (set_retention.classification, set_retention.keep, witness._outer_user(), set_retention.archive)
	RETURNING rule_id INTO id;
	PERFORM witness._end_internal_ddl();
	RETURN id;
END
$$;
COMMENT ON FUNCTION witness.set_retention(text, interval, boolean) IS 'sets how long entries of a classification (or untagged) are kept after their statement time (NULL: forever), and whether they are archived to a file before they are pruned; recorded in witness.retention_rule, and so in the trail; returns the rule id';

-- Period kept per tag mask (index mask + 1, masks 0 to 31): the longest of the entry's tags' periods,
-- NULL (forever) when any of them has no finite period; untagged for mask 0.
CREATE FUNCTION witness._retention_periods() RETURNS interval[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	per_class interval[];
	periods interval[];
	longest interval;
	forever boolean;
BEGIN
	SELECT array_agg(r.keep ORDER BY u.n) INTO per_class
	FROM unnest(witness.retention_classes()) WITH ORDINALITY u(c, n) JOIN witness.retention_rules r ON r.classification = u.c;
	FOR mask IN 0..31 LOOP
		IF mask = 0 THEN
			periods[1] := per_class[6];
			CONTINUE;
		END IF;
		longest := NULL;
		forever := false;
		FOR bit IN 0..4 LOOP
			IF (mask >> bit) & 1 = 1 THEN
				IF per_class[bit + 1] IS NULL THEN
					forever := true;
				ELSIF longest IS NULL OR per_class[bit + 1] > longest THEN
					longest := per_class[bit + 1];
				END IF;
			END IF;
		END LOOP;
		periods[mask + 1] := CASE WHEN forever THEN NULL ELSE longest END;
	END LOOP;
	RETURN periods;
END
$$;
COMMENT ON FUNCTION witness._retention_periods() IS 'internal: the period kept for each tag mask 0 to 31 (at index mask + 1), the longest of its tags'' periods, NULL for forever';
REVOKE ALL ON FUNCTION witness._retention_periods() FROM PUBLIC;

-- What the run's entry in the chain says of a witness.pruned_leaf row: SHA-256 over the block number,
-- the whole flag, the ids (8 bytes each, big-endian) and the leaf hashes.
CREATE FUNCTION witness._pruned_digest(block_no bigint, whole boolean, entry_ids bigint[], leaf_hashes bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.sha256(pg_catalog.int8send(block_no) OPERATOR(pg_catalog.||) pg_catalog.boolsend(whole)
		OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.string_agg(pg_catalog.int8send(u.i), ''::bytea ORDER BY u.o)
		                                 FROM pg_catalog.unnest(entry_ids) WITH ORDINALITY AS u(i, o)), ''::bytea)
		OPERATOR(pg_catalog.||) leaf_hashes)
$$;
COMMENT ON FUNCTION witness._pruned_digest(bigint, boolean, bigint[], bytea) IS 'internal: the digest a retention run records in the chain for one witness.pruned_leaf row';

-- Deletes entries past the guard triggers (src/pg/retention/prune_entries.cpp); called by
-- witness.apply_retention() alone.
CREATE FUNCTION witness._prune_entries(entries tid[], ids bigint[], partitions oid[] DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_prune_entries' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._prune_entries(tid[], bigint[], oid[]) IS 'internal: deletes the given sealed entries (each at a ctid of a partition of witness.entry, docs/scaling.md) for witness.apply_retention()';
REVOKE ALL ON FUNCTION witness._prune_entries(tid[], bigint[], oid[]) FROM PUBLIC;

-- For the background worker (witness.retention_time, src/pg/seal/scheduled_retention.cpp): a run is due
-- when none ran since the last time the clock passed at_time (HH:MM, UTC).
CREATE FUNCTION witness._retention_due(at_time text) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	due_at timestamptz := ((now() AT TIME ZONE 'UTC')::date + at_time::time) AT TIME ZONE 'UTC';
BEGIN
	IF due_at > now() THEN
		due_at := due_at - interval '1 day';
	END IF;
	RETURN NOT EXISTS (SELECT FROM witness.retention_run r WHERE r.ran_at >= due_at);
END
$$;
COMMENT ON FUNCTION witness._retention_due(text) IS 'internal: whether no retention run happened since the clock last passed at_time (HH:MM, UTC)';
REVOKE ALL ON FUNCTION witness._retention_due(text) FROM PUBLIC;

-- Retention in a collector (docs/central.md) would delete entries of the source's chain with no
-- record in it: refused, like erasure.
CREATE TRIGGER witness_not_in_collector BEFORE INSERT ON witness.retention_rule
	FOR EACH STATEMENT EXECUTE FUNCTION witness._refuse_in_collector();
ALTER TABLE witness.retention_rule ENABLE ALWAYS TRIGGER witness_not_in_collector;
CREATE TRIGGER witness_not_in_collector BEFORE INSERT ON witness.retention_run
	FOR EACH STATEMENT EXECUTE FUNCTION witness._refuse_in_collector();
ALTER TABLE witness.retention_run ENABLE ALWAYS TRIGGER witness_not_in_collector;
COMMENT ON TRIGGER witness_not_in_collector ON witness.retention_rule IS 'pg_witness: no retention rules in a collector (docs/central.md)';
COMMENT ON TRIGGER witness_not_in_collector ON witness.retention_run IS 'pg_witness: no retention runs in a collector (docs/central.md)';
-- Nor legal holds: the source's erasures are applied in a collector as they ship, whatever a hold
-- there says (an attack review's holds there showed in force and held nothing).
CREATE TRIGGER witness_not_in_collector BEFORE INSERT ON witness.legal_hold
	FOR EACH STATEMENT EXECUTE FUNCTION witness._refuse_in_collector();
ALTER TABLE witness.legal_hold ENABLE ALWAYS TRIGGER witness_not_in_collector;
COMMENT ON TRIGGER witness_not_in_collector ON witness.legal_hold IS 'pg_witness: no legal holds in a collector: hold in the source (docs/central.md)';

-------------------------------------------------------------------------------
-- Retention drops wholly expired partitions (docs/retention.md, "Dropping whole partitions";
-- docs/scaling.md): a past month whose entries all expire leaves as DETACH + DROP TABLE instead of a
-- DELETE of each row, with the same record in the chain (a month of which a tenth at most is kept is
-- replaced by a copy of those); and a run visits only the blocks that can hold expired entries
-------------------------------------------------------------------------------

-- The members of block b, as witness._block_members() finds them (sealed, never pending), each with
-- its place (ctid, partition) and whether it has expired and whether a hold in force covers it. The
-- condition is witness._member_entries()'s, written out: the rows that function returns cannot carry
-- the ctid and partition this one needs. An
-- entry expires once its statement time plus its period lies in the past. pg_witness's own records
-- other than activity and scheduled verifications never expire: verification, holds and retention
-- itself read them from the chain.
-- Pruning an altered entry would keep, in witness.pruned_leaf, a leaf hash that is not the one its
-- block sealed, and remove the evidence of what was altered: retention refuses the whole run instead.
CREATE FUNCTION witness._refuse_altered_prune(block_no bigint, altered boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF altered THEN
		RAISE EXCEPTION 'block % holds an expired entry that no longer matches its leaf hash', block_no
			USING ERRCODE = 'data_corrupted',
			      DETAIL = 'Retention does not prune an altered entry: the leaf hash it would keep is not the one the block sealed.',
			      HINT = 'Run witness.verify() to find out what was altered.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._refuse_altered_prune(bigint, boolean) IS 'internal: raises data_corrupted when retention would prune an altered entry of block block_no';

-- The run a resumed verification starts from now (witness.verify_since_checkpoint(), in C: the
-- newest valid run with a checkpoint whose record the newest block seals); NULL when there is none.
-- Retention keeps its entry and those of later runs: the resumed verification needs it in the chain.
CREATE FUNCTION witness._checkpoint_run() RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.run_id FROM witness.verification_run r
	WHERE r.status = 'valid' AND r.checkpoint_block IS NOT NULL AND r.checkpoint_hash IS NOT NULL
	  AND pg_visible_in_snapshot(r.recorded_xid, (SELECT n.snapshot FROM witness.block n ORDER BY n.block_no DESC LIMIT 1))
	ORDER BY r.run_id DESC LIMIT 1
$$;
COMMENT ON FUNCTION witness._checkpoint_run() IS 'internal: the witness.verification_run row a resumed verification starts from now (NULL: none); retention keeps its entry and those of later runs';
REVOKE ALL ON FUNCTION witness._checkpoint_run() FROM PUBLIC;

-- held_names: the [schema, table] pairs the holds' tables go by (witness._held_names()); a member
-- filed under none of them is covered by no hold, and _hold_covers() is not asked (it costs a look at
-- every configuration for an entry of another table). NULL: every member is asked.
-- checkpoint_run: witness._checkpoint_run(), taken once per retention run; the entries of that
-- witness.verification_run row and of later ones never expire (NULL: none is kept so).
CREATE FUNCTION witness._retention_members(b witness.block, periods interval[], holds witness.legal_hold[], held_names jsonb,
                                           checkpoint_run bigint DEFAULT NULL)
RETURNS TABLE (id bigint, entry_ctid tid, part oid, leaf_hash bytea, expired boolean, held boolean, tags smallint,
               stmt_time timestamptz, altered boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	prev_snapshot pg_snapshot := witness._previous_snapshot(b.block_no); -- NULL at an era's first block
	era_first bigint; -- the entry ids of the block's transaction-id era (witness.era)
	era_next bigint;
BEGIN
	SELECT x.first_id, x.next_first_id INTO era_first, era_next FROM witness._era_bounds(b.first_entry_id) x;
	RETURN QUERY
	SELECT m.id, m.ctid, m.tableoid, CASE WHEN x.expired THEN COALESCE(l.leaf, witness._sealed_leaf(m)) END, x.expired,
	       CASE WHEN x.expired AND holds IS NOT NULL
	                 AND (held_names IS NULL OR held_names @> jsonb_build_array(jsonb_build_array(m.schema_name, m.table_name)))
	            THEN witness._holds_cover(holds, m) ELSE false END,
	       m.tags, m.stmt_time, x.expired AND l.leaf IS NULL
	FROM witness.entry m
	CROSS JOIN LATERAL (SELECT periods[m.tags + 1] IS NOT NULL AND m.stmt_time + periods[m.tags + 1] < now()
	                           AND NOT (m.schema_name = 'witness' AND m.table_name NOT IN ('activity', 'verification_run'))
	                           -- (CASE: run_id is read from pg_witness's own rows only)
	                           AND CASE WHEN m.schema_name = 'witness' AND m.table_name = 'verification_run'
	                                    THEN COALESCE((m.new_values ->> 'run_id')::bigint < checkpoint_run, true)
	                                    ELSE true END
	                           AS expired) x
	-- An expired entry's leaf, when its content still gives it (docs/hashing.md, "How entries store
	-- their leaf hash"): retention keeps the leaf of what it prunes, and refuses an altered entry.
	CROSS JOIN LATERAL (SELECT CASE WHEN x.expired THEN witness._matching_leaf(m) END AS leaf) l
	WHERE m.xid >= COALESCE(pg_snapshot_xmin(prev_snapshot), '0'::xid8) AND m.xid < pg_snapshot_xmax(b.snapshot)
	  AND m.id BETWEEN b.first_entry_id AND b.last_entry_id AND m.id >= era_first AND m.id < era_next
	  AND pg_visible_in_snapshot(m.xid, b.snapshot)
	  AND (prev_snapshot IS NULL OR NOT pg_visible_in_snapshot(m.xid, prev_snapshot));
END
$$;
COMMENT ON FUNCTION witness._retention_members(witness.block, interval[], witness.legal_hold[], jsonb, bigint) IS 'internal: the members of a block with their ctid and partition, whether each has expired under the periods per tag mask (never the entries of witness.verification_run rows from checkpoint_run on) and whether one of the holds covers it (asked only for members filed under held_names, when given); for an expired one, its leaf hash and whether its content no longer gives the leaf it stores';
REVOKE ALL ON FUNCTION witness._retention_members(witness.block, interval[], witness.legal_hold[], jsonb, bigint) FROM PUBLIC;

-- Every [schema, table] pair the tables of holds go by (witness._hold_table_matches()), NULL when one
-- of the holds names no table (it may cover any entry).
CREATE FUNCTION witness._held_names(holds witness.legal_hold[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN EXISTS (SELECT FROM unnest(holds) h WHERE h.table_name IS NULL) THEN NULL
	            ELSE COALESCE(jsonb_agg(DISTINCT n.pair), '[]') END
	FROM (SELECT jsonb_build_array(h.schema_name, h.table_name) AS pair FROM unnest(holds) h WHERE h.table_name IS NOT NULL
	      UNION ALL
	      SELECT x.value FROM unnest(holds) h, witness._table_name_sets c, jsonb_array_elements(c.names) x
	      WHERE h.table_name IS NOT NULL AND c.names @> jsonb_build_array(jsonb_build_array(h.schema_name, h.table_name))) n
$$;
COMMENT ON FUNCTION witness._held_names(witness.legal_hold[]) IS 'internal: the [schema, table] pairs, present and former names, of the tables the holds name; NULL when one of them names no table';
REVOKE ALL ON FUNCTION witness._held_names(witness.legal_hold[]) FROM PUBLIC;

-- The statement time from which on no entry has expired: now() minus the shortest finite period, 4
-- days later for a period with months or days (a month added to a date near a month's end, a day
-- across a change of daylight saving time, can be shorter than subtracting it was long). NULL when
-- every period is forever.
CREATE FUNCTION witness._retention_horizon(periods interval[]) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT max(now() - q + CASE WHEN extract(year FROM q) <> 0 OR extract(month FROM q) <> 0 OR extract(day FROM q) <> 0
	                            THEN interval '4 days' ELSE interval '0' END)
	FROM unnest(periods) q WHERE q IS NOT NULL
$$;
COMMENT ON FUNCTION witness._retention_horizon(interval[]) IS 'internal: the statement time from which on no entry has expired under the periods per tag mask (NULL: nothing expires)';
REVOKE ALL ON FUNCTION witness._retention_horizon(interval[]) FROM PUBLIC;

-- Detaches and drops a partition of witness.entry whose entries a retention run prunes, all but the
-- entries keep_ids (pg_witness's own records kept forever, held ones): those are first copied as
-- they are into a new table that then takes the partition's name, indexes, guards and bound. An
-- entry's hash does not depend on where it is stored: the trail verifies the same. Gives up (returns
-- false) on a lock it waits for longer than 1 s, or when the session has the trail open (it captured
-- earlier in the transaction): the caller then deletes the entries one by one. While the exclusive
-- lock on witness.entry is requested, capture waits behind it: hence the short wait.
CREATE FUNCTION witness._drop_entry_partition(p regclass, keep_ids bigint[] DEFAULT '{}') RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	old_timeout text := current_setting('lock_timeout');
	dropped boolean := false;
	name name := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = p);
	bound text := (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_class c WHERE c.oid = p);
	kept text := left((SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = p), 50) || '_kept';
BEGIN
	BEGIN
		PERFORM set_config('lock_timeout', '1s', true);
		PERFORM witness._begin_internal_ddl();
		IF cardinality(keep_ids) > 0 THEN
			EXECUTE format('CREATE TABLE witness.%I (LIKE witness.entry)', kept);
			EXECUTE format('INSERT INTO witness.%I SELECT (f.entry).* FROM witness._entries_by_id($1) f'
			               ' WHERE f.entry_part = $2 ORDER BY (f.entry).id', kept) USING keep_ids, p::oid;
		END IF;
		EXECUTE format('ALTER TABLE witness.entry DETACH PARTITION %s', p);
		EXECUTE format('DROP TABLE %s', p);
		IF cardinality(keep_ids) > 0 THEN
			EXECUTE format('ALTER TABLE witness.%I RENAME TO %I', kept, name);
			EXECUTE format('COMMENT ON TABLE witness.%I IS %L', name,
			               format('pg_witness trail: the entries of %s that retention kept (docs/retention.md)', bound));
			PERFORM witness._guard_entry_partition(format('witness.%I', name)::regclass);
			EXECUTE format('ALTER TABLE witness.entry ATTACH PARTITION witness.%I %s', name, bound);
		END IF;
		PERFORM witness._end_internal_ddl();
		dropped := true;
	EXCEPTION WHEN lock_not_available OR object_in_use THEN
		dropped := false;
	END;
	PERFORM set_config('lock_timeout', old_timeout, true);
	RETURN dropped;
END
$$;
COMMENT ON FUNCTION witness._drop_entry_partition(regclass, bigint[]) IS 'internal: detaches and drops a partition of witness.entry for witness.apply_retention(), the entries keep_ids copied first into a new partition of the same range; false when a lock was not had within 1 s or the trail is in use in the session';
REVOKE ALL ON FUNCTION witness._drop_entry_partition(regclass, bigint[]) FROM PUBLIC;

-- Retention (above) prunes row by row, or drops a partition whose every entry goes.
CREATE FUNCTION witness.apply_retention()
RETURNS TABLE (run_id bigint, entries_pruned bigint, blocks_wholly_pruned bigint, blocks_partly_pruned bigint,
               held_kept bigint, bytes_kept bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
AS $$
DECLARE
	periods interval[];
	holds witness.legal_hold[];
	held_names jsonb; -- the names the holds' tables go by (NULL: a hold may cover any entry)
	rules jsonb;
	b witness.block;
	c record;
	part record;
	whole boolean;
	new_run bigint;
	pruned jsonb := '[]';
	n_pruned bigint := 0;
	n_whole bigint := 0;
	n_partly bigint := 0;
	n_held bigint := 0;
	n_bytes bigint := 0;
	digest bytea;
	kept_ids bigint[];
	kept_hashes bytea;
	horizon timestamptz;
	old_timeout text;
	lo bigint;
	hi bigint;
	lo_ids bigint[] := '{}';    -- id ranges of the entries that can have expired, one per partition
	hi_ids bigint[] := '{}';
	drop_parts oid[] := '{}';   -- partitions that may leave whole, locked against capture
	drop_counts bigint[] := '{}'; -- entries of each this run prunes
	drop_blocks bigint[] := '{}'; -- blocks with entries in them
	keep_ids bigint[] := '{}';  -- entries of those partitions the run keeps, and their partitions
	keep_parts oid[] := '{}';
	kept bigint[];
	total bigint;
	part_name text;
	i integer;
	archived boolean[];           -- per tag mask (index mask + 1): its entries are archived before pruning
	last_block bigint := (SELECT max(x.block_no) FROM witness.block x); -- blocks sealed later wait for the next run
	arch_ids bigint[] := '{}';    -- the entries this run archives, their months and blocks
	arch_months text[] := '{}';
	arch_blocks bigint[] := '{}';
	archives jsonb := '[]';
	m record;
	checkpoint_run bigint := witness._checkpoint_run(); -- its entry and later runs' are kept (docs/retention.md)
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	PERFORM witness._check_read_committed('witness.apply_retention()');
	PERFORM witness._retention_lock();
	-- Erasures and key rotations rewrite entries: not while they run.
	PERFORM witness._take_mutex('erase_subject');
	-- A hold placed concurrently is either seen here or placed after this run commits.
	PERFORM witness._hold_lock();
	periods := witness._retention_periods();
	archived := witness._retention_archived();
	PERFORM witness._check_archive_directory();
	SELECT jsonb_object_agg(r.classification, r.keep::text) INTO rules FROM witness.retention_rules r;
	SELECT array_agg(h ORDER BY h.hold_event_id) INTO holds FROM witness.legal_hold h
	WHERE h.event = 'held' AND NOT EXISTS (SELECT FROM witness.legal_hold r WHERE r.releases = h.hold_event_id);
	new_run := nextval(pg_get_serial_sequence('witness.retention_run', 'run_id'));
	-- Nothing expires while every period is forever.
	horizon := witness._retention_horizon(periods);
	IF horizon IS NOT NULL THEN
		-- The partitions that can hold expired entries, and the ids of those entries: only blocks that
		-- overlap them are visited. A partition whose whole range lies before the horizon and before
		-- now may leave whole: it is locked first (SHARE: a transaction still writing into it is waited
		-- for, 1 s at most, and none can start), so that no entry can join it before the run counts its
		-- entries.
		FOR part IN SELECT x.partition, x.is_default, x.range_end FROM witness.partitions x
		         WHERE x.is_default OR x.range_start < horizon ORDER BY x.range_start NULLS LAST LOOP
			IF NOT part.is_default AND part.range_end <= least(horizon, now()) AND current_setting('transaction_isolation') = 'read committed' THEN
				old_timeout := current_setting('lock_timeout');
				BEGIN
					PERFORM set_config('lock_timeout', '1s', true);
					EXECUTE format('LOCK TABLE %s IN SHARE MODE', part.partition);
					drop_parts := drop_parts || part.partition::oid;
					drop_counts := drop_counts || 0::bigint;
				EXCEPTION WHEN lock_not_available THEN
					NULL;
				END;
				PERFORM set_config('lock_timeout', old_timeout, true);
			END IF;
			EXECUTE format('SELECT min(e.id), max(e.id) FROM %s e WHERE e.stmt_time < $1', part.partition) INTO lo, hi USING horizon;
			CONTINUE WHEN lo IS NULL;
			lo_ids := lo_ids || lo;
			hi_ids := hi_ids || hi;
		END LOOP;
		-- A hold on a row key follows the row through its key changes among the entries that can have
		-- expired: a later change of the row comes after the change of its key, in id order.
		IF cardinality(lo_ids) > 0 THEN
			holds := witness._moved_row_holds(holds, (SELECT min(x) FROM unnest(lo_ids) x), (SELECT max(x) FROM unnest(hi_ids) x));
		END IF;
		held_names := witness._held_names(holds);
		-- Archive rules (docs/retention.md, "Archive instead of delete"): the entries this run prunes
		-- under them are first written, a file per month, and the files made durable; only then is
		-- anything pruned. Same blocks, members and tests as the pruning below.
		IF true = ANY (archived) THEN
			FOR b IN SELECT x.* FROM witness.block x
			         WHERE x.block_no <= last_block AND x.entry_count > 0
			           AND NOT EXISTS (SELECT FROM witness.pruned_leaf p WHERE p.block_no = x.block_no AND p.whole)
			           AND EXISTS (SELECT FROM unnest(lo_ids, hi_ids) r(lo, hi) WHERE x.first_entry_id <= r.hi AND x.last_entry_id >= r.lo)
			         ORDER BY x.block_no LOOP
				SELECT array_agg(s.id ORDER BY s.id) AS ids,
				       array_agg(to_char(s.stmt_time AT TIME ZONE 'UTC', 'YYYY-MM') ORDER BY s.id) AS months,
				       bool_or(s.altered) AS altered
				INTO c
				FROM witness._retention_members(b, periods, holds, held_names, checkpoint_run) s
				WHERE s.expired AND NOT s.held AND archived[s.tags + 1];
				CONTINUE WHEN c.ids IS NULL;
				PERFORM witness._refuse_altered_prune(b.block_no, c.altered);
				arch_ids := arch_ids || c.ids;
				arch_months := arch_months || c.months;
				arch_blocks := arch_blocks || array_fill(b.block_no, ARRAY[cardinality(c.ids)]);
			END LOOP;
			FOR m IN SELECT u.month, array_agg(u.id ORDER BY u.id) AS ids, array_agg(DISTINCT u.block_no) AS blocks
			         FROM unnest(arch_ids, arch_months, arch_blocks) u(id, month, block_no)
			         GROUP BY u.month ORDER BY u.month LOOP
				archives := archives || jsonb_build_array(witness._write_archive(new_run, m.month, m.blocks, m.ids));
			END LOOP;
		END IF;
		FOR b IN SELECT x.* FROM witness.block x
		         WHERE x.block_no <= last_block AND x.entry_count > 0 AND NOT EXISTS (SELECT FROM witness.pruned_leaf p WHERE p.block_no = x.block_no AND p.whole)
		           AND EXISTS (SELECT FROM unnest(lo_ids, hi_ids) r(lo, hi) WHERE x.first_entry_id <= r.hi AND x.last_entry_id >= r.lo)
		         ORDER BY x.block_no LOOP
			-- Entries of a partition that may leave whole are not deleted now (deferred).
			SELECT count(*) AS members,
			       count(*) FILTER (WHERE s.expired AND s.held) AS held,
			       array_agg(s.id ORDER BY s.id) FILTER (WHERE s.expired AND NOT s.held) AS ids,
			       string_agg(s.leaf_hash, ''::bytea ORDER BY s.id) FILTER (WHERE s.expired AND NOT s.held) AS hashes,
			       array_agg(s.entry_ctid ORDER BY s.id) FILTER (WHERE s.expired AND NOT s.held AND s.part <> ALL (drop_parts)) AS del_tids,
			       array_agg(s.id ORDER BY s.id) FILTER (WHERE s.expired AND NOT s.held AND s.part <> ALL (drop_parts)) AS del_ids,
			       array_agg(s.part ORDER BY s.id) FILTER (WHERE s.expired AND NOT s.held AND s.part <> ALL (drop_parts)) AS del_parts,
			       array_agg(s.part) FILTER (WHERE s.expired AND NOT s.held AND s.part = ANY (drop_parts)) AS deferred,
			       array_agg(s.id) FILTER (WHERE NOT (s.expired AND NOT s.held) AND s.part = ANY (drop_parts)) AS keep_ids,
			       array_agg(s.part) FILTER (WHERE NOT (s.expired AND NOT s.held) AND s.part = ANY (drop_parts)) AS keep_parts,
			       bool_or(s.altered) FILTER (WHERE s.expired AND NOT s.held) AS altered,
			       min(s.stmt_time) FILTER (WHERE s.expired AND NOT s.held) AS first_time,
			       max(s.stmt_time) FILTER (WHERE s.expired AND NOT s.held) AS last_time
			INTO c
			FROM witness._retention_members(b, periods, holds, held_names, checkpoint_run) s;
			PERFORM witness._refuse_altered_prune(b.block_no, c.altered);
			n_held := n_held + c.held;
			IF c.keep_ids IS NOT NULL THEN
				keep_ids := keep_ids || c.keep_ids;
				keep_parts := keep_parts || c.keep_parts;
			END IF;
			CONTINUE WHEN c.ids IS NULL;
			whole := c.members = cardinality(c.ids);
			kept_ids := CASE WHEN whole THEN '{}' ELSE c.ids END;
			kept_hashes := CASE WHEN whole THEN ''::bytea ELSE c.hashes END;
			digest := witness._pruned_digest(b.block_no, whole, kept_ids, kept_hashes);
			PERFORM witness._begin_internal_ddl();
			INSERT INTO witness.pruned_leaf (block_no, run_id, whole, entry_ids, leaf_hashes)
			VALUES (b.block_no, new_run, whole, kept_ids, kept_hashes);
			PERFORM witness._end_internal_ddl();
			n_bytes := n_bytes + pg_column_size(kept_ids) + pg_column_size(kept_hashes);
			n_pruned := n_pruned + cardinality(c.ids);
			IF whole THEN n_whole := n_whole + 1; ELSE n_partly := n_partly + 1; END IF;
			pruned := pruned || jsonb_build_array(jsonb_build_object(
				'block_no', b.block_no, 'whole', whole, 'entries', cardinality(c.ids),
				'first_id', c.ids[1], 'last_id', c.ids[cardinality(c.ids)], 'digest', encode(digest, 'hex'),
				-- When the pruned entries were captured: the audit report of a period counts the entries
				-- of it a run pruned (a review's report counted every entry pruned after the period too).
				'first_time_us', (extract(epoch FROM c.first_time) * 1000000)::bigint,
				'last_time_us', (extract(epoch FROM c.last_time) * 1000000)::bigint));
			IF c.del_ids IS NOT NULL THEN
				PERFORM witness._begin_internal_ddl();
				PERFORM witness._prune_entries(c.del_tids, c.del_ids, c.del_parts);
				PERFORM witness._end_internal_ddl();
			END IF;
			IF c.deferred IS NOT NULL THEN
				drop_blocks := drop_blocks || b.block_no;
				FOR i IN 1 .. cardinality(drop_parts) LOOP
					drop_counts[i] := drop_counts[i] + (SELECT count(*) FROM unnest(c.deferred) d WHERE d = drop_parts[i]);
				END LOOP;
			END IF;
		END LOOP;
		-- A partition leaves whole when this run prunes every entry of it: all sealed, expired, unheld
		-- and none of pg_witness's own records kept forever. When every entry of it is sealed and the
		-- run keeps a tenth of them at most (pg_witness's records, held ones), those are copied into a
		-- partition that replaces it. Otherwise, or when the partition cannot be detached now, its
		-- pruned entries are deleted one by one. The record is the same either way.
		FOR i IN 1 .. cardinality(drop_parts) LOOP
			CONTINUE WHEN drop_counts[i] = 0;
			part_name := drop_parts[i]::regclass::text;
			EXECUTE format('SELECT count(*) FROM %s', part_name) INTO total;
			SELECT COALESCE(array_agg(u.id ORDER BY u.id), '{}') INTO kept FROM unnest(keep_ids, keep_parts) u(id, pt) WHERE u.pt = drop_parts[i];
			IF total = drop_counts[i] + cardinality(kept) AND cardinality(kept) * 10 <= total
			   AND witness._drop_entry_partition(drop_parts[i]::regclass, kept) THEN
				IF cardinality(kept) = 0 THEN
					RAISE NOTICE 'pg_witness: retention dropped partition % of % entries', part_name, total;
				ELSE
					RAISE NOTICE 'pg_witness: retention replaced partition % of % entries by a copy of the % it keeps', part_name, total, cardinality(kept);
				END IF;
				CONTINUE;
			END IF;
			FOR b IN SELECT x.* FROM witness.block x WHERE x.block_no = ANY (drop_blocks) ORDER BY x.block_no LOOP
				SELECT array_agg(s.entry_ctid ORDER BY s.id) AS del_tids, array_agg(s.id ORDER BY s.id) AS del_ids,
				       array_agg(s.part ORDER BY s.id) AS del_parts
				INTO c
				FROM witness._retention_members(b, periods, holds, held_names, checkpoint_run) s
				WHERE s.expired AND NOT s.held AND s.part = drop_parts[i];
				CONTINUE WHEN c.del_ids IS NULL;
				PERFORM witness._begin_internal_ddl();
				PERFORM witness._prune_entries(c.del_tids, c.del_ids, c.del_parts);
				PERFORM witness._end_internal_ddl();
			END LOOP;
		END LOOP;
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.retention_run (run_id, run_by, rules, entries_pruned, held_kept, pruned, archives)
	VALUES (new_run, witness._outer_user(), rules, n_pruned, n_held, pruned, archives);
	PERFORM witness._end_internal_ddl();
	RETURN QUERY SELECT new_run, n_pruned, n_whole, n_partly, n_held, n_bytes;
END
$$;
COMMENT ON FUNCTION witness.apply_retention() IS 'deletes every sealed entry whose retention period has passed and that no legal hold in force covers, keeping the leaf hashes the blocks'' Merkle roots need, and drops a partition of witness.entry whose every entry goes; recorded in witness.retention_run, and so in the trail';

-------------------------------------------------------------------------------
-- Proofs in large blocks (docs/verification.md, "Proofs in large blocks"): the sealer stores, for a
-- block of more than witness.proof_chunk_size members, each chunk's first entry id and subtree root;
-- witness.prove() then reads one chunk of members instead of the whole block
-------------------------------------------------------------------------------

-- Nothing in it is trusted: a proof assembled from it is returned only when it checks against the
-- block's Merkle root, which the chain covers. So it is not a record table (its rows are not entries
-- of the chain), and witness.verify() does not read it.
CREATE TABLE witness.block_chunk (
	block_no bigint NOT NULL,
	chunk_no integer NOT NULL,
	chunk_size integer NOT NULL,
	first_entry_id bigint NOT NULL,
	root bytea NOT NULL,
	CONSTRAINT block_chunk_pkey PRIMARY KEY (block_no, chunk_no)
);
COMMENT ON TABLE witness.block_chunk IS 'pg_witness: per block of more than witness.proof_chunk_size entries, its chunks of chunk_size members in id order, written by the sealer with the block; an index for witness.prove(), not evidence';
COMMENT ON COLUMN witness.block_chunk.chunk_no IS 'the chunk''s position in the block, from 0: it holds the members chunk_no * chunk_size and on';
COMMENT ON COLUMN witness.block_chunk.chunk_size IS 'members per chunk (a power of two; the last chunk may hold fewer)';
COMMENT ON COLUMN witness.block_chunk.first_entry_id IS 'the id of the chunk''s first member';
COMMENT ON COLUMN witness.block_chunk.root IS 'RFC 9162 root of the chunk''s leaf hashes: a node of the block''s Merkle tree';
REVOKE ALL ON witness.block_chunk FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('witness.block_chunk', '');
-- Written like witness.block: by the sealer alone, past these triggers; pg_restore and replication
-- apply workers (session_replication_role = replica) may load rows.
CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.block_chunk
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.block_chunk ENABLE ALWAYS TRIGGER witness_append_only;
CREATE TRIGGER witness_insert_only_by_sealer BEFORE INSERT ON witness.block_chunk
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();

CREATE FUNCTION witness._merkle_chunk_proof(merkle_root bytea, entry_count bigint, chunk_no integer, chunk_size integer,
                                            chunk_roots bytea[], ids bigint[], leaves bytea[], entry_id bigint,
                                            leaf_hash bytea, OUT leaf_index integer, OUT tree_size integer,
                                            OUT audit_path bytea[])
AS 'MODULE_PATHNAME', 'witness_merkle_chunk_proof' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._merkle_chunk_proof(bytea, bigint, integer, integer, bytea[], bigint[], bytea[], bigint, bytea) IS 'internal: the RFC 9162 audit path of an entry from its chunk''s members and the chunk roots, only when it checks against the block''s Merkle root (leaf_index NULL otherwise)';

-- The members of block b with ids from from_id to to_id (a chunk), read at the places their lookup
-- rows remember (witness.entry_lookup.entry_tid): the chunk's own pages, where reading its id range
-- through the BRIN index reads one or two page ranges of about 128 pages. NULL when that cannot give
-- them all: the lookup table does not hold the block yet, retention pruned some of it (kept leaf
-- hashes stand in), or an entry is no longer where its lookup row says (VACUUM FULL moved it). The caller then reads them by id (witness._block_members_in()), as it does when the
-- proof built from these does not check against the block's Merkle root (a lookup row missing or
-- added by hand): a lookup row cannot forge a proof, nor make a sound trail look altered.
CREATE FUNCTION witness._chunk_members_at(b witness.block, from_id bigint, to_id bigint, OUT ids bigint[], OUT leaves bytea[])
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
	want bigint[];
	tids tid[];
	places bigint;
	lo timestamptz;
	hi timestamptz;
BEGIN
	IF NOT witness._lookup_readable() THEN
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT FROM witness.lookup_state s WHERE s.block_no >= b.block_no)
	   OR EXISTS (SELECT FROM witness.pruned_leaf p WHERE p.block_no = b.block_no) THEN
		RETURN;
	END IF;
	SELECT array_agg(k.id ORDER BY k.id), array_agg(k.entry_tid), count(k.entry_tid), min(k.stmt_time), max(k.stmt_time)
	INTO want, tids, places, lo, hi
	FROM witness.entry_lookup k WHERE k.id >= from_id AND k.id <= to_id AND k.block_no = b.block_no;
	IF want IS NULL OR places < cardinality(want) THEN
		RETURN;
	END IF;
	-- Exactly the wanted ids, or none: a row at a place that is not its entry's (another partition's,
	-- or a stale one) makes the lists differ. Compared as lists, not filtered with "= ANY (want)",
	-- which a cached plan runs element by element for each row.
	SELECT array_agg(x.id ORDER BY x.id), array_agg(witness._sealed_leaf(x) ORDER BY x.id) INTO ids, leaves
	FROM witness.entry x
	WHERE x.ctid = ANY (tids) AND x.stmt_time >= lo AND x.stmt_time <= hi AND x.id >= from_id AND x.id <= to_id;
	IF ids IS DISTINCT FROM want THEN
		ids := NULL;
		leaves := NULL;
	END IF;
END
$$;
COMMENT ON FUNCTION witness._chunk_members_at(witness.block, bigint, bigint) IS 'internal: ids and leaf hashes of a block''s entries with ids in a range, in id order, read at the ctids their lookup rows hold; NULL when some are not there';
REVOKE ALL ON FUNCTION witness._chunk_members_at(witness.block, bigint, bigint) FROM PUBLIC;

-- The proof of entry entry_id (leaf hash leaf_hash) in block b read from its chunk: NULL leaf_index
-- when the block has no chunk rows (at most witness.proof_chunk_size members, sealed before version
-- 0.2, or shipped to a collector) or when the proof does not check against the block's root (chunk
-- rows or entries altered: a warning says so, and witness.prove() rebuilds the whole block's tree).
CREATE FUNCTION witness._chunk_proof(b witness.block, entry_id bigint, leaf_hash bytea, OUT leaf_index integer,
                                     OUT tree_size integer, OUT audit_path bytea[])
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	roots bytea[];
	c witness.block_chunk;
	next_first bigint;
	last_id bigint;
	by_id boolean;
	m record;
BEGIN
	SELECT array_agg(x.root ORDER BY x.chunk_no) INTO roots FROM witness.block_chunk x WHERE x.block_no = b.block_no;
	IF roots IS NULL THEN
		RETURN;
	END IF;
	SELECT * INTO c FROM witness.block_chunk x WHERE x.block_no = b.block_no AND x.first_entry_id <= entry_id
	ORDER BY x.first_entry_id DESC, x.chunk_no DESC LIMIT 1;
	IF FOUND THEN
		SELECT x.first_entry_id INTO next_first FROM witness.block_chunk x
		WHERE x.block_no = b.block_no AND x.chunk_no = c.chunk_no + 1;
		last_id := COALESCE(next_first - 1, b.last_entry_id);
		-- The members at their places first; when those give no proof that checks (a place missing, or
		-- a lookup row missing or added by hand), read by id before calling anything altered.
		FOREACH by_id IN ARRAY ARRAY[false, true] LOOP
			IF by_id THEN
				SELECT * INTO m FROM witness._block_members_in(b, c.first_entry_id, last_id);
			ELSE
				SELECT * INTO m FROM witness._chunk_members_at(b, c.first_entry_id, last_id);
			END IF;
			IF m.ids IS NOT NULL THEN
				SELECT * INTO leaf_index, tree_size, audit_path
				FROM witness._merkle_chunk_proof(b.merkle_root, b.entry_count, c.chunk_no, c.chunk_size, roots, m.ids,
				                                 m.leaves, entry_id, leaf_hash);
			END IF;
			EXIT WHEN leaf_index IS NOT NULL;
		END LOOP;
	END IF;
	IF leaf_index IS NULL THEN
		RAISE WARNING 'the proof of entry % from its chunk of block % does not match the block''s Merkle root', entry_id, b.block_no
			USING DETAIL = 'The block''s chunk rows (witness.block_chunk) or its entries were altered; the proof is built from the whole block instead.',
			      HINT = 'Run witness.verify() to see whether the entries were altered.';
		tree_size := NULL;
	END IF;
END
$$;
COMMENT ON FUNCTION witness._chunk_proof(witness.block, bigint, bytea) IS 'internal: an entry''s inclusion proof read from its chunk of a large block (witness.block_chunk), checked against the block''s Merkle root; leaf_index NULL when there is none';

-------------------------------------------------------------------------------
-- Reading the trail (docs/views.md): the view witness.changes, witness.entity_history(),
-- witness.search(), witness.entry_text(), and the lookup table the sealer keeps for them
-------------------------------------------------------------------------------

-- Guard trigger of the tables pg_witness keeps beside the chain (the alert rules' working state, the
-- lookup table, the daily summary): they change only under pg_witness's internal mark, which the
-- functions that keep them set. Arguments: who writes the table, what it holds, and a hint (optional).
CREATE FUNCTION witness._written_by_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF witness._in_internal_ddl() THEN
		RETURN NULL;
	END IF;
	IF TG_NARGS > 2 THEN
		RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege', DETAIL = format('%s is written only by %s.', TG_ARGV[1], TG_ARGV[0]),
			      HINT = TG_ARGV[2];
	END IF;
	RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege', DETAIL = format('%s is written only by %s.', TG_ARGV[1], TG_ARGV[0]);
END
$$;
COMMENT ON FUNCTION witness._written_by_guard() IS 'internal: guard trigger that lets only pg_witness''s own functions write the tables it keeps beside the chain';
REVOKE ALL ON FUNCTION witness._written_by_guard() FROM PUBLIC;

-- Puts _written_by_guard() on table t: updates, deletes and truncation always guarded; inserts too
-- when dumped is false, else from the origin only, so that pg_restore (replica mode) loads the rows of
-- a table pg_dump saves.
CREATE FUNCTION witness._guard_kept_table(t regclass, dumped boolean, who text, what text, hint text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	args text := concat_ws(', ', quote_literal(who), quote_literal(what), quote_literal(hint));
BEGIN
	IF t IS NULL OR dumped IS NULL OR who IS NULL OR what IS NULL THEN
		RAISE EXCEPTION 'table, dumped, who and what must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t) THEN
		RAISE EXCEPTION 'relation with OID % does not exist', t::oid USING ERRCODE = 'undefined_table';
	END IF;
	EXECUTE format('CREATE TRIGGER witness_written_by_pg_witness BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
	               'FOR EACH STATEMENT EXECUTE FUNCTION witness._written_by_guard(%s)', t, args);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER witness_written_by_pg_witness', t);
	EXECUTE format('CREATE TRIGGER witness_inserted_by_pg_witness BEFORE INSERT ON %s '
	               'FOR EACH STATEMENT EXECUTE FUNCTION witness._written_by_guard(%s)', t, args);
	IF NOT dumped THEN
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER witness_inserted_by_pg_witness', t);
	END IF;
	EXECUTE format('COMMENT ON TRIGGER witness_written_by_pg_witness ON %s IS %L', t,
	               format('pg_witness: only %s updates or deletes %s', who, lower(what)));
	EXECUTE format('COMMENT ON TRIGGER witness_inserted_by_pg_witness ON %s IS %L', t,
	               format('pg_witness: only %s%s inserts %s', who, CASE WHEN dumped THEN ' (or a restore)' ELSE '' END, lower(what)));
END
$$;
COMMENT ON FUNCTION witness._guard_kept_table(regclass, boolean, text, text, text) IS 'internal: puts the guard triggers of a table pg_witness keeps beside the chain on it';
REVOKE ALL ON FUNCTION witness._guard_kept_table(regclass, boolean, text, text, text) FROM PUBLIC;

-- What lookups need, kept after commit: the sealer (src/pg/seal/lookup_maintenance.cpp) adds one row
-- per entry of every block it sealed, once the block is committed (the background sealer) or in the
-- transaction of witness.seal(). Capture writes
-- nothing here, so its cost does not grow. Not captured and not saved by pg_dump: derived data, made
-- again from the blocks at the next seal after a restore. The key hash is NULL once an erasure
-- emptied the entry; pruned entries leave it with the retention run that prunes them.
-- Unlogged, with witness.lookup_state: a row and three btree insertions an entry wrote as much WAL
-- as the entry itself, all of it flushed by the writers' commits (docs/performance.md, "An unlogged
-- lookup table"). A crash or a promotion empties both tables together; with no state row, every
-- reader takes the whole trail for its pending tail (witness._lookup_pending_clause()), and the
-- sealer fills the table again from the first block, a bounded number of entries per pass. A
-- standby has neither table's contents and reads the trail instead (witness._lookup_readable()).
CREATE UNLOGGED TABLE witness.entry_lookup (
	id bigint NOT NULL,
	block_no bigint NOT NULL,
	stmt_time timestamptz NOT NULL,
	table_hash bigint NOT NULL,
	key_hash bigint,
	op "char" NOT NULL,
	tags smallint NOT NULL,
	actor text,
	session_user_name text NOT NULL,
	old_key_hash bigint,
	subject_key bigint,
	entry_tid tid,
	CONSTRAINT entry_lookup_pkey PRIMARY KEY (id)
);
CREATE INDEX entry_lookup_key ON witness.entry_lookup (key_hash, id) WHERE key_hash IS NOT NULL;
-- The few UPDATEs that changed a row's key: its history before the change finds them here. Partial,
-- so that the others add no index entry.
CREATE INDEX entry_lookup_old_key ON witness.entry_lookup (old_key_hash, id) WHERE old_key_hash IS NOT NULL;
CREATE INDEX entry_lookup_table ON witness.entry_lookup (table_hash, id);
CREATE INDEX entry_lookup_actor ON witness.entry_lookup (actor, stmt_time) WHERE actor IS NOT NULL;
-- A subject's entries (witness._subject_entries()). Led by the entry's id bucket (id >> 16, 65,536
-- ids each): the key alone would send every row to a random leaf of an index as large as the trail,
-- a full-page image each after every checkpoint; rows now fall into the newest bucket's part, a few
-- hundred pages. A lookup probes every bucket (witness._subject_buckets(): 153 for 10 million
-- entries). Partial: entries without a subject (most of a typical trail) add nothing to it.
CREATE INDEX entry_lookup_subject ON witness.entry_lookup ((id OPERATOR(pg_catalog.>>) 16), subject_key) WHERE subject_key IS NOT NULL;
-- Rows arrive block by block, so in statement-time order but for the spread within a block: a BRIN
-- index narrows time ranges for the cost of a btree insertion every few thousand rows. Every btree
-- here costs the sealer an insertion per entry (docs/performance.md): a search by database user alone
-- walks the primary key backwards from the newest entry (docs/views.md).
CREATE INDEX entry_lookup_time ON witness.entry_lookup USING brin (stmt_time);
REVOKE ALL ON witness.entry_lookup FROM PUBLIC;
COMMENT ON TABLE witness.entry_lookup IS 'pg_witness: one row per sealed entry with what witness.search() and witness.entity_history() look entries up by, kept by the sealer; derived from witness.entry, not part of what is verified (docs/views.md)';
COMMENT ON COLUMN witness.entry_lookup.id IS 'the entry (witness.entry.id)';
COMMENT ON COLUMN witness.entry_lookup.block_no IS 'the block that sealed it';
COMMENT ON COLUMN witness.entry_lookup.stmt_time IS 'the entry''s statement time (the partition key of witness.entry)';
COMMENT ON COLUMN witness.entry_lookup.table_hash IS 'witness._lookup_table_hash() of the entry''s schema and table';
COMMENT ON COLUMN witness.entry_lookup.key_hash IS 'witness._lookup_key_hash() of the entry''s table and row key; NULL for keyless tables, TRUNCATE, encrypted and erased entries';
COMMENT ON COLUMN witness.entry_lookup.op IS 'I insert, U update, D delete, T truncate';
COMMENT ON COLUMN witness.entry_lookup.tags IS 'the entry''s classification bit mask';
COMMENT ON COLUMN witness.entry_lookup.actor IS 'witness.actor as the application set it';
COMMENT ON COLUMN witness.entry_lookup.session_user_name IS 'the database user of the session';
COMMENT ON COLUMN witness.entry_lookup.old_key_hash IS 'for an UPDATE that changed a key column, witness._lookup_key_hash() of the key the row had before (witness._old_row_key()); NULL otherwise, and for encrypted and erased entries';
COMMENT ON COLUMN witness.entry_lookup.entry_tid IS 'where the entry is (its ctid in its partition of witness.entry; an erasure and a rotation update it): a hint that finds it with one page read; VACUUM FULL moves entries without updating it, and a reader then finds them by id (witness._entries_at()); NULL when the rows were written through SQL';
COMMENT ON COLUMN witness.entry_lookup.subject_key IS 'witness._subject_lookup_key() of the entry''s subject or subject pseudonym (negative for a pseudonym); NULL without a subject and once erased';

-- Up to where the sealer has filled witness.entry_lookup: entries of later blocks and pending entries
-- are found in witness.entry itself (the tail of the trail, small: seal lag is seconds).
CREATE UNLOGGED TABLE witness.lookup_state (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	block_no bigint NOT NULL
);
REVOKE ALL ON witness.lookup_state FROM PUBLIC;
COMMENT ON TABLE witness.lookup_state IS 'pg_witness: the last block whose entries witness.entry_lookup holds (one row)';
COMMENT ON COLUMN witness.lookup_state.singleton IS 'always true: one row';
COMMENT ON COLUMN witness.lookup_state.block_no IS 'the last block whose entries were added to witness.entry_lookup';
-- Derived, but what witness.search() shows: a row deleted or changed by hand would hide an entry from
-- it, with no trace. Only the sealer's functions write these tables (docs/security.md).
SELECT witness._guard_kept_table('witness.entry_lookup', false, 'pg_witness''s sealer', 'The lookup table of witness.search() and witness.entity_history()');
SELECT witness._guard_kept_table('witness.lookup_state', false, 'pg_witness''s sealer', 'The lookup table''s position');

-- Whether this server has the lookup table's contents: a hot standby has not (unlogged tables are
-- not replicated, and planning a query on one during recovery is an error), so its readers must not
-- name the table at all, not even in a branch that finds nothing.
CREATE FUNCTION witness._lookup_readable() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT NOT pg_catalog.pg_is_in_recovery() $$;
COMMENT ON FUNCTION witness._lookup_readable() IS 'internal: false on a hot standby, which has no contents of the unlogged witness.entry_lookup and witness.lookup_state';
REVOKE ALL ON FUNCTION witness._lookup_readable() FROM PUBLIC;

-- What a reader's dynamic SQL names as the lookup table: the table, or on a standby a relation of
-- its row type with no rows that opens no table (the trail's pending tail then covers everything).
CREATE FUNCTION witness._lookup_source() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN witness._lookup_readable() THEN 'witness.entry_lookup'
                  ELSE '(SELECT (NULL::witness.entry_lookup).* LIMIT 0)' END $$;
COMMENT ON FUNCTION witness._lookup_source() IS 'internal: witness.entry_lookup, or on a hot standby an empty relation of its row type, for the FROM clause of a lookup';
REVOKE ALL ON FUNCTION witness._lookup_source() FROM PUBLIC;
SELECT witness._guard_kept_table('witness.mutex', false, 'pg_witness''s installation script', 'The table of pg_witness''s locks');

-- Hashes of names and keys, not the names and keys: a btree entry stays small whatever the key, and
-- the table holds no value of a row. Quoted names keep "a.b".c and a."b.c" apart.
CREATE FUNCTION witness._lookup_table_hash(schema_name text, table_name text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.hashtextextended(pg_catalog.quote_ident(schema_name) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(table_name), 0) $$;
COMMENT ON FUNCTION witness._lookup_table_hash(text, text) IS 'internal: the 64-bit hash witness.entry_lookup keeps of a table''s schema and name';
CREATE FUNCTION witness._lookup_key_hash(schema_name text, table_name text, row_key jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.hashtextextended(pg_catalog.quote_ident(schema_name) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(table_name)
                                          OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) row_key::text, 0) $$;
COMMENT ON FUNCTION witness._lookup_key_hash(text, text, jsonb) IS 'internal: the 64-bit hash witness.entry_lookup keeps of a table and a row key (as jsonb); NULL for a NULL key';

CREATE FUNCTION witness._old_row_key(row_key json, old_values json) RETURNS json
AS 'MODULE_PATHNAME', 'witness_old_row_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION witness._old_row_key(json, json) IS 'internal: of an UPDATE''s entry, the key the row had before when the UPDATE changed a key column (row_key with the old values old_values holds), else NULL';
REVOKE ALL ON FUNCTION witness._old_row_key(json, json) FROM PUBLIC;

-- The key of a subject in witness.entry_lookup (src/pg/seal/subject_lookup_key.cpp): of the pseudonym
-- when there is one, with the sign bit set, else of the subject in clear, zero or positive. 64 bits of
-- the pseudonym or of a hash of the subject: a lookup compares the entries it finds with the subject.
CREATE FUNCTION witness._subject_lookup_key(subject text, pseudonym bytea) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_subject_lookup_key' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._subject_lookup_key(text, bytea) IS 'internal: the key witness.entry_lookup.subject_key keeps of an entry''s subject pseudonym (negative) or, without one, of its subject (zero or positive)';
REVOKE ALL ON FUNCTION witness._subject_lookup_key(text, bytea) FROM PUBLIC;

-- The rows of witness.entry_lookup for the members of block b (witness._member_entries());
-- prev_snapshot comes from the caller, read once per block.
CREATE FUNCTION witness._lookup_rows(b witness.block, prev_snapshot pg_snapshot)
RETURNS SETOF witness.entry_lookup
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.id, b.block_no, m.stmt_time, witness._lookup_table_hash(m.schema_name, m.table_name),
	       CASE WHEN m.erasure_id IS NULL THEN witness._lookup_key_hash(m.schema_name, m.table_name, m.row_key::jsonb) END,
	       m.op, m.tags, m.actor, m.session_user_name,
	       CASE WHEN m.op OPERATOR(pg_catalog.=) 'U' AND m.erasure_id IS NULL
	            THEN witness._lookup_key_hash(m.schema_name, m.table_name, witness._old_row_key(m.row_key, m.old_values)::jsonb) END,
	       CASE WHEN m.erasure_id IS NULL THEN witness._subject_lookup_key(m.subject, m.subject_pseudonym) END,
	       NULL::tid -- the rows that function returns cannot carry their ctid; the C writer fills it
	FROM witness._member_entries(b, prev_snapshot, b.first_entry_id, b.last_entry_id) m
$$;
COMMENT ON FUNCTION witness._lookup_rows(witness.block, pg_snapshot) IS 'internal: the rows of witness.entry_lookup for the members of a block';
REVOKE ALL ON FUNCTION witness._lookup_rows(witness.block, pg_snapshot) FROM PUBLIC;

-- The same rows, written by C (src/pg/seal/lookup_rows.cpp): heap multi-inserts, and only the earliest and
-- the latest row of each page range in the stmt_time BRIN index. NULL when witness.entry_lookup has a
-- CHECK constraint, a row trigger, a rule or forced row-level security: the caller inserts through SQL.
CREATE FUNCTION witness._add_lookup_rows(b witness.block, prev_snapshot pg_snapshot) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_add_lookup_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._add_lookup_rows(witness.block, pg_snapshot) IS 'internal: adds the rows of witness.entry_lookup for the members of a block (those witness._lookup_rows() returns) and returns how many; NULL when the table needs the executor (constraint, trigger, rule)';
REVOKE ALL ON FUNCTION witness._add_lookup_rows(witness.block, pg_snapshot) FROM PUBLIC;

-- Whether a subscription in this database is still copying a table of the trail (its initial
-- synchronisation, pg_subscription_rel state other than synchronised or ready). Each table is copied
-- on its own, so witness.block can be ahead of witness.entry until all are in step; the lookup table
-- and the daily summary, derived from a block's entries once, wait until then (docs/central.md).
CREATE FUNCTION witness._trail_syncing() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_class c ON c.oid = r.srrelid
	               WHERE c.relnamespace = 'witness'::pg_catalog.regnamespace AND r.srsubstate NOT IN ('s', 'r'))
$$;
COMMENT ON FUNCTION witness._trail_syncing() IS 'internal: whether a subscription is still copying a table of the trail into this database (its initial synchronisation)';
REVOKE ALL ON FUNCTION witness._trail_syncing() FROM PUBLIC;

-- Called by witness.seal() after it sealed, and by the background sealer after each pass, in a
-- transaction of its own (src/pg/seal/lookup_maintenance.cpp): the entries of every block not yet in
-- witness.entry_lookup, found as witness._block_members() finds them (the block's snapshot minus the
-- previous one's, within its transaction-id era). Planned without sequential scans: a block's members
-- are a narrow range of ids and transaction ids that the BRIN indexes of witness.entry find, but for
-- a partition without statistics yet (a new month's, or before autovacuum's first ANALYZE) the
-- planner scanned the whole partition at every seal, a cost that grew with the trail
-- (docs/performance.md). Without JIT: the
-- penalty enable_seqscan = off puts on the small tables it reads otherwise would start it.
-- At most about max_entries a call (whole blocks, at least one): after a crash emptied the table,
-- filling it again from the first block is spread over the sealer's passes, each a transaction that
-- holds the lock erasures take, instead of one transaction over the whole trail.
CREATE FUNCTION witness._maintain_lookup(max_entries bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
	done bigint;
	b witness.block;
	prev_snapshot pg_snapshot;
	added bigint := 0;
	n bigint;
BEGIN
	IF max_entries IS NULL OR max_entries < 1 THEN
		RAISE EXCEPTION 'max_entries must be 1 or more' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Most passes of the background sealer find nothing to add: they read, and write nothing.
	SELECT s.block_no INTO done FROM witness.lookup_state s;
	IF NOT EXISTS (SELECT FROM witness.block x WHERE x.block_no > COALESCE(done, 0)) OR witness._trail_syncing() THEN
		RETURN 0;
	END IF;
	-- One at a time (witness.seal() and the background sealer): the second waits, then reads what
	-- the first added. Written under pg_witness's mark (the guard triggers of these tables). The
	-- lock (witness.mutex) keeps an erasure's clearing of keys (witness._lookup_forget_keys()) from
	-- running while rows computed before it are not committed yet.
	PERFORM witness._take_mutex('entry_lookup');
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.lookup_state (block_no) VALUES (0) ON CONFLICT DO NOTHING;
	SELECT s.block_no INTO done FROM witness.lookup_state s FOR UPDATE;
	FOR b IN SELECT x.* FROM witness.block x WHERE x.block_no > done ORDER BY x.block_no LOOP
		done := b.block_no;
		CONTINUE WHEN b.entry_count = 0;
		prev_snapshot := witness._previous_snapshot(b.block_no);
		-- Blocks' members are disjoint and the state row serialises the callers, so no row of this block
		-- is there yet, and ON CONFLICT would cost a primary-key probe per entry. Should some be there all
		-- the same (a state row altered by hand), they are skipped.
		IF NOT EXISTS (SELECT FROM witness.entry_lookup k WHERE k.id BETWEEN b.first_entry_id AND b.last_entry_id
		                                                   AND k.block_no = b.block_no) THEN
			n := witness._add_lookup_rows(b, prev_snapshot);
			IF n IS NULL THEN
				INSERT INTO witness.entry_lookup SELECT * FROM witness._lookup_rows(b, prev_snapshot);
				GET DIAGNOSTICS n = ROW_COUNT;
			END IF;
		ELSE
			INSERT INTO witness.entry_lookup SELECT * FROM witness._lookup_rows(b, prev_snapshot)
			ON CONFLICT (id) DO NOTHING;
			GET DIAGNOSTICS n = ROW_COUNT;
		END IF;
		added := added + n;
		EXIT WHEN added >= max_entries;
	END LOOP;
	UPDATE witness.lookup_state SET block_no = done;
	PERFORM witness._end_internal_ddl();
	RETURN added;
END
$$;
COMMENT ON FUNCTION witness._maintain_lookup(bigint) IS 'internal: adds to witness.entry_lookup the entries of the blocks sealed since the last call, in block order, stopping after the block that brings them to max_entries';

CREATE FUNCTION witness._maintain_lookup() RETURNS bigint
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT witness._maintain_lookup(1000000) $$;
COMMENT ON FUNCTION witness._maintain_lookup() IS 'internal: adds the entries of the blocks sealed since the last call to witness.entry_lookup, about a million at most; called by the sealer';

-- witness.entry_lookup is derived data, not covered by the chain; since erasures and subject access
-- find entries through it, a row missing or changed there would hide an entry from them. This
-- derives the rows of each block again (witness._lookup_rows(), what the sealer wrote) and compares.
-- Costs what filling the table cost; verify() does not call it.
CREATE FUNCTION witness.verify_lookup(first_block bigint DEFAULT NULL, last_block bigint DEFAULT NULL)
RETURNS TABLE (block_no bigint, entries bigint, missing bigint, altered bigint, extra bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b witness.block;
	done bigint;
BEGIN PERFORM witness.access_check();
	IF NOT witness._lookup_readable() THEN
		RAISE EXCEPTION 'witness.entry_lookup cannot be checked on a hot standby' USING ERRCODE = 'object_not_in_prerequisite_state',
			DETAIL = 'The lookup table is unlogged: a standby has no copy of it, and its lookups read the trail itself.',
			HINT = 'Run it on the primary.';
	END IF;
	SELECT s.block_no INTO done FROM witness.lookup_state s;
	FOR b IN SELECT x.* FROM witness.block x
	         WHERE x.block_no <= COALESCE(done, 0) AND x.block_no >= COALESCE(first_block, 1)
	           AND x.block_no <= COALESCE(last_block, x.block_no) AND x.entry_count > 0
	         ORDER BY x.block_no LOOP
		RETURN QUERY
		WITH want AS (SELECT * FROM witness._lookup_rows(b, witness._previous_snapshot(b.block_no))),
		     -- entry_tid is a hint, not derived data: entries move (VACUUM FULL), and a
		     -- wrong one costs a read by id, never a wrong answer (witness._entries_at()).
		     have AS (SELECT k.id, k.block_no, k.stmt_time, k.table_hash, k.key_hash, k.op, k.tags, k.actor,
		                     k.session_user_name, k.old_key_hash, k.subject_key, NULL::tid AS entry_tid
		              FROM witness.entry_lookup k
		              WHERE k.id BETWEEN b.first_entry_id AND b.last_entry_id AND k.block_no = b.block_no)
		SELECT b.block_no,
		       (SELECT count(*) FROM want),
		       (SELECT count(*) FROM want w WHERE NOT EXISTS (SELECT FROM have h WHERE h.id = w.id)),
		       (SELECT count(*) FROM want w JOIN have h ON h.id = w.id WHERE h IS DISTINCT FROM w),
		       (SELECT count(*) FROM have h WHERE NOT EXISTS (SELECT FROM want w WHERE w.id = h.id));
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness.verify_lookup(bigint, bigint) IS 'checks witness.entry_lookup (what subject access, erasure and search find entries by) against the blocks it is derived from: per block, its entries and the lookup rows missing, altered and extra';

-- An erasure empties row keys and subjects: their hashes go too (a hash of a key confirms a guessed key).
CREATE FUNCTION witness._forget_lookup_keys(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- Lookup rows a concurrent witness._maintain_lookup() computed before this erasure would keep their
	-- keys, and this UPDATE could not see them before they commit: wait for it (its lock), then a new
	-- statement sees them; a later one sees the erasure and computes no keys.
	PERFORM witness._take_mutex('entry_lookup');
	PERFORM witness._begin_internal_ddl();
	UPDATE witness.entry_lookup k SET key_hash = NULL, old_key_hash = NULL, subject_key = NULL
	WHERE k.id = ANY (ids) AND (k.key_hash IS NOT NULL OR k.old_key_hash IS NOT NULL OR k.subject_key IS NOT NULL);
	PERFORM witness._end_internal_ddl();
END
$$;
COMMENT ON FUNCTION witness._forget_lookup_keys(bigint[]) IS 'internal: erased entries lose their key hashes and subject key in witness.entry_lookup (an erasure here, or one a collector applies)';
REVOKE ALL ON FUNCTION witness._forget_lookup_keys(bigint[]) FROM PUBLIC;

CREATE FUNCTION witness._lookup_forget_keys() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM witness._forget_lookup_keys(NEW.entry_ids);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._lookup_forget_keys() IS 'internal: trigger on witness.erasure: the erased entries lose their key hashes and subject key in witness.entry_lookup';
CREATE TRIGGER witness_lookup_forget_keys AFTER INSERT ON witness.erasure
	FOR EACH ROW EXECUTE FUNCTION witness._lookup_forget_keys();
ALTER TABLE witness.erasure ENABLE ALWAYS TRIGGER witness_lookup_forget_keys;

-- Retention prunes entries block by block and records each block in witness.pruned_leaf: the block's
-- pruned entries leave witness.entry_lookup with it (all of them when the block went whole, also by a
-- partition drop).
CREATE FUNCTION witness._lookup_forget_pruned() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- After the maintainer's rows of these entries are committed, not beside them: refilling the
	-- table after a crash adds rows of old blocks, the ones retention prunes, and a row written by a
	-- transaction this DELETE cannot see would stay behind.
	PERFORM witness._take_mutex('entry_lookup');
	PERFORM witness._begin_internal_ddl();
	IF NEW.whole THEN
		DELETE FROM witness.entry_lookup k USING witness.block b
		WHERE b.block_no = NEW.block_no AND k.id BETWEEN b.first_entry_id AND b.last_entry_id AND k.block_no = NEW.block_no;
	ELSE
		DELETE FROM witness.entry_lookup k WHERE k.id = ANY (NEW.entry_ids);
	END IF;
	PERFORM witness._end_internal_ddl();
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._lookup_forget_pruned() IS 'internal: trigger on witness.pruned_leaf: the entries a retention run pruned from a block leave witness.entry_lookup';
CREATE TRIGGER witness_lookup_forget_pruned AFTER INSERT ON witness.pruned_leaf
	FOR EACH ROW EXECUTE FUNCTION witness._lookup_forget_pruned();
ALTER TABLE witness.pruned_leaf ENABLE ALWAYS TRIGGER witness_lookup_forget_pruned;

-- One row per changed field, read through witness.log: what it masks (classified values for
-- witness_reader), hides (entries outside a time-limited auditor's period) or cannot show (the
-- sealed payloads of encrypted tables, erased payloads) stays so here. An entry with no field
-- (TRUNCATE, encrypted, erased) is one row with field NULL.
CREATE VIEW witness.changes AS
SELECT l.id AS entry_id, l.stmt_time, l.schema_name, l.table_name, l.row_key, l.operation,
       f.field, f.old_value OPERATOR(pg_catalog.#>>) '{}'::text[] AS old_value,
       f.new_value OPERATOR(pg_catalog.#>>) '{}'::text[] AS new_value,
       f.old_value AS old_value_json, f.new_value AS new_value_json,
       l.actor, l.session_user_name, l.current_user_name, l.tags
FROM witness.log l
LEFT JOIN LATERAL (
	SELECT k.field, l.old_values OPERATOR(pg_catalog.->) k.field AS old_value, l.new_values OPERATOR(pg_catalog.->) k.field AS new_value
	FROM (SELECT pg_catalog.jsonb_object_keys(l.old_values) WHERE pg_catalog.jsonb_typeof(l.old_values) OPERATOR(pg_catalog.=) 'object'
	      UNION
	      SELECT pg_catalog.jsonb_object_keys(l.new_values) WHERE pg_catalog.jsonb_typeof(l.new_values) OPERATOR(pg_catalog.=) 'object') k(field)
) f ON true;
COMMENT ON VIEW witness.changes IS 'one row per changed field of every entry of witness.log (one row with field NULL for an entry without fields), with the values masked exactly as witness.log masks them (docs/views.md)';
COMMENT ON COLUMN witness.changes.entry_id IS 'the entry (witness.log.id)';
COMMENT ON COLUMN witness.changes.stmt_time IS 'start time of the statement that made the change';
COMMENT ON COLUMN witness.changes.schema_name IS 'schema of the changed table at capture';
COMMENT ON COLUMN witness.changes.table_name IS 'name of the changed table at capture';
COMMENT ON COLUMN witness.changes.row_key IS 'key columns of the row (masked as in witness.log); NULL for keyless tables, TRUNCATE, encrypted and erased entries';
COMMENT ON COLUMN witness.changes.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE';
COMMENT ON COLUMN witness.changes.field IS 'the column: for UPDATE a changed column, for INSERT and DELETE every captured column; NULL when the entry shows no field';
COMMENT ON COLUMN witness.changes.old_value IS 'the old value as text (UPDATE, DELETE): a JSON string''s text, other JSON as JSON text, NULL for SQL NULL or none; "***" when masked';
COMMENT ON COLUMN witness.changes.new_value IS 'the new value as text (INSERT, UPDATE), as old_value';
COMMENT ON COLUMN witness.changes.old_value_json IS 'the old value as jsonb (JSON null for SQL NULL, NULL for none)';
COMMENT ON COLUMN witness.changes.new_value_json IS 'the new value as jsonb (JSON null for SQL NULL, NULL for none)';
COMMENT ON COLUMN witness.changes.actor IS 'witness.actor as the application set it';
COMMENT ON COLUMN witness.changes.session_user_name IS 'the database user of the session';
COMMENT ON COLUMN witness.changes.current_user_name IS 'the role the change ran as (after SET ROLE or in a SECURITY DEFINER function)';
COMMENT ON COLUMN witness.changes.tags IS 'classification tags of the entry';

-- What witness.search() and witness.entity_history() return: one entry of witness.log, as the caller
-- sees it there, with the fields it shows and a one-line text.
CREATE TYPE witness.found_entry AS (
	entry_id bigint,
	stmt_time timestamptz,
	operation text,
	schema_name text,
	table_name text,
	row_key jsonb,
	actor text,
	session_user_name text,
	current_user_name text,
	tags text[],
	fields text[],
	old_values jsonb,
	new_values jsonb,
	display_text text
);
COMMENT ON TYPE witness.found_entry IS 'an entry as witness.search() and witness.entity_history() return it (docs/views.md)';
COMMENT ON COLUMN witness.found_entry.entry_id IS 'the entry (witness.log.id)';
COMMENT ON COLUMN witness.found_entry.stmt_time IS 'start time of the statement that made the change';
COMMENT ON COLUMN witness.found_entry.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE';
COMMENT ON COLUMN witness.found_entry.schema_name IS 'schema of the changed table at capture';
COMMENT ON COLUMN witness.found_entry.table_name IS 'name of the changed table at capture';
COMMENT ON COLUMN witness.found_entry.row_key IS 'the row key as witness.log shows it to the caller';
COMMENT ON COLUMN witness.found_entry.actor IS 'witness.actor as the application set it';
COMMENT ON COLUMN witness.found_entry.session_user_name IS 'the database user of the session';
COMMENT ON COLUMN witness.found_entry.current_user_name IS 'the role the change ran as';
COMMENT ON COLUMN witness.found_entry.tags IS 'classification tags of the entry';
COMMENT ON COLUMN witness.found_entry.fields IS 'the columns the entry shows (UPDATE: the changed ones), sorted';
COMMENT ON COLUMN witness.found_entry.old_values IS 'old values as witness.log shows them to the caller';
COMMENT ON COLUMN witness.found_entry.new_values IS 'new values as witness.log shows them to the caller';
COMMENT ON COLUMN witness.found_entry.display_text IS 'one line: who did what to which row, as witness.entry_text() says it';

-- The one-line text of an entry, from what witness.log shows: no value of a classified column, even
-- to a caller who sees values (the text is for feeds and screens others look at); column names for
-- updates only, quoted like the table's; one line: control characters (in a column or role name)
-- become spaces, so that no name can forge a line of its own. An SQL expression over a row l of witness.log, written into the callers' queries:
-- a function called per row (with the SET clause every pg_witness function has) cost more than the
-- rest of a feed's query.
CREATE FUNCTION witness._display_text_sql() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT $q$pg_catalog.regexp_replace(pg_catalog.concat_ws(' ', COALESCE(l.actor, l.session_user_name),
	CASE l.operation WHEN 'INSERT' THEN 'inserted' WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted'
	                 WHEN 'TRUNCATE' THEN 'truncated' ELSE pg_catalog.lower(l.operation) END,
	CASE WHEN l.schema_name OPERATOR(pg_catalog.=) 'public' THEN pg_catalog.quote_ident(l.table_name)
	     ELSE pg_catalog.quote_ident(l.schema_name) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(l.table_name) END,
	(CASE WHEN l.tags OPERATOR(pg_catalog.&&) witness.masked_tags() OR witness._table_masked(l.schema_name, l.table_name, l.id)
	      THEN witness._masked_values(l.row_key, l.schema_name, l.table_name, l.id)
	      ELSE l.row_key END)::text)
	OPERATOR(pg_catalog.||) CASE WHEN l.operation OPERATOR(pg_catalog.=) 'UPDATE' AND pg_catalog.jsonb_typeof(l.new_values) OPERATOR(pg_catalog.=) 'object'
	     THEN ': ' OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k), ', ' ORDER BY k) FROM pg_catalog.jsonb_object_keys(l.new_values) k)
	     ELSE '' END, '[[:cntrl:]]', ' ', 'g')$q$ $$;
COMMENT ON FUNCTION witness._display_text_sql() IS 'internal: the SQL expression of the one-line text of an entry, over a row l of witness.log (witness.entry_text())';

-- Entries witness.entry_lookup does not hold yet: those the snapshot of its last block does not see
-- (pending ones, and any of blocks the sealer could not add), and every entry of a transaction-id era
-- begun after that block (a restore into another cluster, witness.era): the new cluster's
-- transaction ids are behind the trail's, and the old snapshot would take them for committed before
-- it. Once that block is of a later era, the entries of earlier eras are all in blocks before it
-- (the block that closes an era seals every entry left of it), so only the era's own entries are
-- looked at: the earlier eras' transaction ids would otherwise look pending to the new snapshot. The
-- BRIN indexes on xid and id keep the scan to the tail of the trail. Parenthesised: callers add their
-- own conditions.
CREATE FUNCTION witness._lookup_pending_clause(alias text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	snap pg_snapshot;
	done bigint;
	era_first bigint;
	era_now bigint;
BEGIN
	IF witness._lookup_readable() THEN
		SELECT b.snapshot, b.block_no INTO snap, done FROM witness.lookup_state s JOIN witness.block b ON b.block_no = s.block_no;
	END IF;
	IF snap IS NULL THEN
		-- Nothing indexed yet (or since a crash, or on a standby): every entry is in the tail.
		RETURN format('(%I.id IS NOT NULL)', alias);
	END IF;
	SELECT min(r.first_entry_id) INTO era_first FROM witness.era r WHERE r.first_block_no > done;
	SELECT max(r.first_entry_id) INTO era_now FROM witness.era r WHERE r.first_block_no <= done;
	RETURN format('(%5$s(%1$I.xid OPERATOR(pg_catalog.>=) %2$L::xid8 AND NOT pg_catalog.pg_visible_in_snapshot(%1$I.xid, %3$L::pg_snapshot))%4$s)',
	              alias, pg_snapshot_xmin(snap), snap,
	              CASE WHEN era_first IS NOT NULL THEN format(' OR %I.id OPERATOR(pg_catalog.>=) %s', alias, era_first) ELSE '' END,
	              CASE WHEN era_now IS NOT NULL THEN format('%I.id OPERATOR(pg_catalog.>=) %s AND ', alias, era_now) ELSE '' END);
END
$$;
COMMENT ON FUNCTION witness._lookup_pending_clause(text) IS 'internal: the condition on witness.entry that finds the entries witness.entry_lookup does not hold yet (not in its last block''s snapshot, or of a later transaction-id era)';

-- The id buckets witness.entry_lookup_subject holds rows of: one index probe per bucket, each for the
-- next bucket up (not every bucket between the first and the last: a jump of the id sequence would
-- make millions). Callers compute it once and look a subject up in every bucket.
CREATE FUNCTION witness._subject_buckets() RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE bucket(n) AS (
		SELECT min(k.id OPERATOR(pg_catalog.>>) 16) FROM witness.entry_lookup k WHERE k.subject_key IS NOT NULL
		UNION ALL
		SELECT (SELECT min(k.id OPERATOR(pg_catalog.>>) 16) FROM witness.entry_lookup k
		        WHERE k.subject_key IS NOT NULL AND (k.id OPERATOR(pg_catalog.>>) 16) OPERATOR(pg_catalog.>) b.n)
		FROM bucket b WHERE b.n IS NOT NULL)
	SELECT ARRAY(SELECT b.n FROM bucket b WHERE b.n IS NOT NULL)
$$;
COMMENT ON FUNCTION witness._subject_buckets() IS 'internal: every id bucket (id >> 16) that witness.entry_lookup_subject holds rows of, for lookups in it';
REVOKE ALL ON FUNCTION witness._subject_buckets() FROM PUBLIC;

-- One entry, not erased, that records its subject as a pseudonym (an encrypted table's: finding it
-- needs the master key), or NULL when there is none: among the sealed entries, one probe per bucket
-- for a negative key (witness._subject_lookup_key()); then the pending tail. Without JIT: the
-- penalty enable_seqscan = off gives the small tables it reads (witness.era) made every call compile
-- its queries, 150 ms.
CREATE FUNCTION witness._an_encrypted_entry() RETURNS witness.entry
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
	one_id bigint;
	one_time timestamptz;
	e witness.entry;
BEGIN
	IF witness._lookup_readable() THEN
		SELECT k.id, k.stmt_time INTO one_id, one_time FROM witness.entry_lookup k
		WHERE (k.id OPERATOR(pg_catalog.>>) 16) = ANY (witness._subject_buckets()) AND k.subject_key < 0 LIMIT 1;
	END IF;
	IF one_id IS NOT NULL THEN
		SELECT x.* INTO e FROM witness.entry x WHERE x.id = one_id AND x.stmt_time = one_time;
	ELSE
		EXECUTE format('SELECT x.* FROM witness.entry x WHERE %s AND x.subject_pseudonym IS NOT NULL AND x.erasure_id IS NULL LIMIT 1',
		               witness._lookup_pending_clause('x'))
		INTO e;
	END IF;
	RETURN e;
END
$$;
COMMENT ON FUNCTION witness._an_encrypted_entry() IS 'internal: one entry, not erased, whose subject is recorded as a pseudonym (finding it needs the master key), or NULL';
REVOKE ALL ON FUNCTION witness._an_encrypted_entry() FROM PUBLIC;

-- The key id of an encrypted entry's sealed payload (its bytes 2 to 9, docs/personal-data.md) when it
-- is not one a lookup can compute pseudonyms with (current, previous, or retired and kept), else
-- NULL. One entry is checked: it catches a configured key the trail was never encrypted under, and an
-- older key configured after a rotation, not every mix of keys swapped by hand.
CREATE FUNCTION witness._unknown_payload_key(e witness.entry) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	payload_key text;
BEGIN
	IF e.sealed_payload IS NULL OR octet_length(e.sealed_payload) < 9 THEN
		RETURN NULL;
	END IF;
	payload_key := encode(substring(e.sealed_payload FROM 2 FOR 8), 'hex');
	-- The payload's key is the key the entry was captured under, or the one a rotation re-encrypted it
	-- to, under which the entries captured since have their pseudonyms: it must be available itself.
	-- (The keys rotations retired are witness._check_subject_readable()'s first check.)
	IF payload_key IN (witness.master_key_id(), witness._previous_master_key_id())
	   OR EXISTS (SELECT 1 FROM witness.retired_pseudonym_key r WHERE r.key_id = payload_key) THEN
		RETURN NULL;
	END IF;
	RETURN payload_key;
END
$$;
COMMENT ON FUNCTION witness._unknown_payload_key(witness.entry) IS 'internal: the key id of an encrypted entry''s sealed payload when it is neither a configured master key nor one a rotation kept (a lookup could miss entries), else NULL';
REVOKE ALL ON FUNCTION witness._unknown_payload_key(witness.entry) FROM PUBLIC;

-- Entries by id, with where each is (ctid within its partition, tableoid), unordered: one BRIN scan
-- per range of ids within 1024 of each other, up to 64 ranges a query, optionally within statement
-- times (partition pruning). The ids are a filter the index must not take ("id + 0"): a BRIN index
-- given "id = ANY (array)" scans itself once per element into one bitmap, which for a subject with
-- 17,000 entries took 15 s and 3 GB, and with 33,000 more memory than the machine had
-- (docs/performance.md, "Subject access on 10 million entries"); as a filter, the array is hashed.
-- Each query gets only the ids of its ranges (a slice of the sorted array, by position): the planner
-- estimates a filter's selectivity element by element. Sequential scans off, as in
-- witness._found_entries(): the trail has BRIN indexes only.
CREATE FUNCTION witness._entries_by_id(ids bigint[], from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS TABLE (entry witness.entry, entry_ctid tid, entry_part oid)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
	sorted bigint[] := ARRAY(SELECT DISTINCT i FROM unnest(ids) AS i WHERE i IS NOT NULL ORDER BY i);
	-- The bounds as parameters, never as text: a time zone abbreviation in the output of DateStyle SQL
	-- or Postgres can read back as another zone (IST).
	times text := concat(CASE WHEN from_time IS NOT NULL THEN ' AND x.stmt_time OPERATOR(pg_catalog.>=) $2' END,
	                     CASE WHEN to_time IS NOT NULL THEN ' AND x.stmt_time OPERATOR(pg_catalog.<=) $3' END);
	ranges text;
	first_pos integer;
	last_pos integer;
BEGIN
	FOR ranges, first_pos, last_pos IN
		SELECT string_agg(format('(x.id OPERATOR(pg_catalog.>=) %s AND x.id OPERATOR(pg_catalog.<=) %s)', q.lo, q.hi), ' OR '),
		       min(q.first_pos), max(q.last_pos)
		FROM (SELECT min(c.i) AS lo, max(c.i) AS hi, min(c.pos) AS first_pos, max(c.pos) AS last_pos,
		             row_number() OVER (ORDER BY min(c.i)) AS n
		      FROM unnest(sorted) WITH ORDINALITY AS c(i, pos) GROUP BY c.i OPERATOR(pg_catalog.>>) 10) q
		GROUP BY (q.n - 1) / 64
	LOOP
		RETURN QUERY EXECUTE format(
			'SELECT x, x.ctid, x.tableoid FROM witness.entry x WHERE (%s)%s AND (x.id OPERATOR(pg_catalog.+) 0) = ANY ($1)',
			ranges, times)
		USING sorted[first_pos:last_pos], from_time, to_time;
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._entries_by_id(bigint[], timestamptz, timestamptz) IS 'internal: the entries with the given ids (within the given statement times, when given), with their ctid and partition, read through the BRIN index on id';
REVOKE ALL ON FUNCTION witness._entries_by_id(bigint[], timestamptz, timestamptz) FROM PUBLIC;

-- Entries by id, found first at the places the lookup rows remember (tids: their ctids, NULLs
-- ignored): a TID scan reads one page an entry, where the BRIN index on id reads a page range of about
-- 128 pages for each (2.5 ms an entry on a trail of a million). A ctid is only a place: the row
-- found there counts when its id is one of ids (a ctid names a row in each partition), and the ids
-- not found there (moved by VACUUM FULL, or without a place) are read by id
-- (witness._entries_by_id()). Same result as witness._entries_by_id(ids, from_time, to_time).
CREATE FUNCTION witness._entries_at(ids bigint[], tids tid[], from_time timestamptz DEFAULT NULL,
                                    to_time timestamptz DEFAULT NULL)
RETURNS TABLE (entry witness.entry, entry_ctid tid, entry_part oid)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
	got bigint[] := '{}';
	missing bigint[];
	r record;
BEGIN
	-- Joined with the arrays unnested, not compared with = ANY: the planner estimated = ANY of an array
	-- given as a constant element by element, and kept what that took until the function returned,
	-- about 1.5 kB an entry (an attack review of the subject export measured its memory growing with
	-- the subject's entries). Each ctid once (entries of two partitions can share one: both are read).
	IF EXISTS (SELECT FROM unnest(tids) AS t WHERE t IS NOT NULL) THEN
		FOR r IN EXECUTE concat('SELECT x, x.ctid AS c, x.tableoid AS p FROM pg_catalog.unnest($1) AS h(t)',
		                        ' JOIN witness.entry x ON x.ctid OPERATOR(pg_catalog.=) h.t WHERE true',
		                        CASE WHEN from_time IS NOT NULL THEN ' AND x.stmt_time OPERATOR(pg_catalog.>=) $3' END,
		                        CASE WHEN to_time IS NOT NULL THEN ' AND x.stmt_time OPERATOR(pg_catalog.<=) $4' END,
		                        ' AND (x.id OPERATOR(pg_catalog.+) 0) IN (SELECT pg_catalog.unnest($2))')
		         USING ARRAY(SELECT DISTINCT t FROM unnest(tids) AS t WHERE t IS NOT NULL ORDER BY t), ids, from_time, to_time LOOP
			got := array_append(got, (r.x).id);
			entry := r.x;
			entry_ctid := r.c;
			entry_part := r.p;
			RETURN NEXT;
		END LOOP;
	END IF;
	missing := ARRAY(SELECT i FROM unnest(ids) AS i WHERE i IS NOT NULL EXCEPT SELECT f FROM unnest(got) AS f);
	IF cardinality(missing) > 0 THEN
		RETURN QUERY SELECT f.entry, f.entry_ctid, f.entry_part FROM witness._entries_by_id(missing, from_time, to_time) f;
	END IF;
END
$$;
COMMENT ON FUNCTION witness._entries_at(bigint[], tid[], timestamptz, timestamptz) IS 'internal: the entries with the given ids (within the given statement times, when given), with their ctid and partition, read first at the ctids given (witness.entry_lookup.entry_tid), the rest by id';
REVOKE ALL ON FUNCTION witness._entries_at(bigint[], tid[], timestamptz, timestamptz) FROM PUBLIC;

-- The entries about one subject, with where each is (ctid within its partition, tableoid), unordered:
-- those witness.entry_lookup holds, by subject key (the subject in clear, or one of its pseudonyms),
-- and those of the pending tail it does not hold yet, compared with the subject itself. The capture
-- adds nothing for this (docs/personal-data.md, "Finding a subject's entries"). Also the UPDATEs that
-- moved one of the subject's rows to another subject or to none, by the key of the subject before
-- (witness.entry.old_subject_key, a partial index of each partition): their old values are the
-- subject's ("A row that moves"); their subject is not the given one. The entries are read
-- by id (witness._entries_by_id()) within the statement times the candidates have, keeping those that
-- are the subject's: a key collision costs a read. Each is read at the place its lookup row remembers
-- (witness._entries_at()).
CREATE FUNCTION witness._subject_entries(for_subject text, pseudonyms bytea[])
RETURNS TABLE (entry witness.entry, entry_ctid tid, entry_part oid)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
	keys bigint[] := ARRAY(SELECT witness._subject_lookup_key(for_subject, NULL)
	                       UNION SELECT witness._subject_lookup_key(NULL, u.pn) FROM unnest(pseudonyms) AS u(pn));
	ids bigint[];
	tids tid[];
	lo timestamptz;
	hi timestamptz;
BEGIN
	EXECUTE format('SELECT array_agg(c.id), array_agg(c.tid), min(c.stmt_time), max(c.stmt_time) FROM ('
	               'SELECT k.id, k.entry_tid AS tid, k.stmt_time FROM %s k'
	               ' WHERE (k.id OPERATOR(pg_catalog.>>) 16) = ANY ($1) AND k.subject_key = ANY ($2)'
	               ' UNION SELECT e.id, e.ctid, e.stmt_time FROM witness.entry e'
	               ' WHERE %s AND (e.subject OPERATOR(pg_catalog.=) $3 OR e.subject_pseudonym = ANY ($4))'
	               ' UNION SELECT e.id, e.ctid, e.stmt_time FROM witness.entry e'
	               ' WHERE e.old_subject_key IS NOT NULL AND e.old_subject_key = ANY ($2)) c',
	               witness._lookup_source(), witness._lookup_pending_clause('e'))
	INTO ids, tids, lo, hi
	USING CASE WHEN witness._lookup_readable() THEN witness._subject_buckets() ELSE '{}' END, keys, for_subject, pseudonyms;
	IF ids IS NULL THEN
		RETURN;
	END IF;
	-- The key of an old subject in clear is a plain hash, which anyone can collide with a subject of
	-- their choosing: such an entry is kept only when its old values hold the subject itself. (An
	-- encrypted entry's key comes from the subject's keyed pseudonym, which only the master key makes.)
	RETURN QUERY SELECT f.entry, f.entry_ctid, f.entry_part FROM witness._entries_at(ids, tids, lo, hi) f
	WHERE (f.entry).subject = for_subject OR (f.entry).subject_pseudonym = ANY (pseudonyms)
	   OR ((f.entry).old_subject_key = ANY (keys)
	       AND ((f.entry).sealed_payload IS NOT NULL
	            OR EXISTS (SELECT FROM pg_catalog.json_each_text(CASE WHEN pg_catalog.json_typeof((f.entry).old_values)
	                                                                      OPERATOR(pg_catalog.=) 'object'
	                                                                 THEN (f.entry).old_values END) o
	                       WHERE o.value OPERATOR(pg_catalog.=) for_subject)));
END
$$;
COMMENT ON FUNCTION witness._subject_entries(text, bytea[]) IS 'internal: the entries whose subject is the given one or whose subject pseudonym is one of those given, and the UPDATEs that moved a row from that subject, with their ctid and partition, found through witness.entry_lookup, the pending tail and witness.entry.old_subject_key';
REVOKE ALL ON FUNCTION witness._subject_entries(text, bytea[]) FROM PUBLIC;

-- The entries behind the candidates of witness.entry_lookup (conditions k_cond on it, alias k) and of
-- the pending tail of witness.entry (e_cond, alias e), in id order, as the caller sees them in
-- witness.log and passing final_filter (alias l), at most max_rows (NULL: all). Candidates are taken
-- in growing chunks from the lookup's btrees; each chunk's entries are read from witness.log by id
-- (BRIN) within the chunk's statement times (partition pruning). Runs as its caller: a SECURITY
-- DEFINER function, for which witness.log masks and hides as for the role that called it
-- (access_check.cpp). args are $1 to $8 of the conditions. Sequential scans off: the trail has BRIN
-- indexes only, whose selectivity the planner underrates on a freshly written partition, and a
-- sequential scan of the trail is what this function exists to avoid; JIT off: compiling costs more
-- than these small queries; no parallel workers: starting them costs more than the query.
CREATE FUNCTION witness._found_entries(k_cond text, e_cond text, final_filter text, descending boolean, max_rows integer,
                                       VARIADIC args text[] DEFAULT '{}') RETURNS SETOF witness.found_entry
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
	pending text := witness._lookup_pending_clause('e');
	source text := witness._lookup_source();
	dir text := CASE WHEN descending THEN 'DESC' ELSE 'ASC' END;
	cmp text := CASE WHEN descending THEN '<' ELSE '>' END;
	chunk integer := greatest(least(COALESCE(max_rows, 1000), 1000), 50);
	returned bigint := 0;
	last_id bigint;
	lo_id bigint;
	hi_id bigint;
	ranges text;
	ids bigint[];
	lo timestamptz;
	hi timestamptz;
	n bigint;
BEGIN
	LOOP
		EXIT WHEN max_rows IS NOT NULL AND returned >= max_rows;
		EXECUTE format('SELECT array_agg(c.id), min(c.stmt_time), max(c.stmt_time) FROM ('
		               'SELECT c.id, c.stmt_time FROM ((SELECT k.id, k.stmt_time FROM %8$s k WHERE %1$s AND %6$s ORDER BY k.id %4$s LIMIT %5$s)'
		               ' UNION ALL (SELECT e.id, e.stmt_time FROM witness.entry e WHERE %2$s AND %3$s AND %7$s ORDER BY e.id %4$s LIMIT %5$s)) c'
		               ' ORDER BY c.id %4$s LIMIT %5$s) c',
		               k_cond, e_cond, pending, dir, chunk,
		               CASE WHEN last_id IS NULL THEN 'true' ELSE format('k.id OPERATOR(pg_catalog.%s) $12', cmp) END,
		               CASE WHEN last_id IS NULL THEN 'true' ELSE format('e.id OPERATOR(pg_catalog.%s) $12', cmp) END,
		               source)
		INTO ids, lo, hi
		USING args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], NULL::bigint[], NULL::timestamptz, NULL::timestamptz, last_id,
		      NULL::bigint, NULL::bigint;
		EXIT WHEN ids IS NULL;
		SELECT min(x), max(x) INTO lo_id, hi_id FROM unnest(ids) x;
		last_id := CASE WHEN descending THEN lo_id ELSE hi_id END;
		-- The ids as ranges of those within 1024 of each other: one scan of the BRIN index per range,
		-- reading only its page ranges (one scan per id, as = ANY does, costs a scan of the whole BRIN
		-- index each). Past 64 ranges, one over all of them.
		SELECT CASE WHEN count(*) <= 64 THEN string_agg(format('(l.id OPERATOR(pg_catalog.>=) %s AND l.id OPERATOR(pg_catalog.<=) %s)', q.lo, q.hi), ' OR ') END
		INTO ranges FROM (SELECT min(x) AS lo, max(x) AS hi FROM unnest(ids) x GROUP BY x OPERATOR(pg_catalog.>>) 10) q;
		ranges := '(' || COALESCE(ranges, 'l.id OPERATOR(pg_catalog.>=) $13 AND l.id OPERATOR(pg_catalog.<=) $14') || ')';
		RETURN QUERY EXECUTE format(
			'SELECT l.id, l.stmt_time, l.operation, l.schema_name, l.table_name, l.row_key, l.actor, l.session_user_name, l.current_user_name, l.tags,'
			'       ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(CASE WHEN l.operation OPERATOR(pg_catalog.=) ''DELETE'' THEN l.old_values ELSE l.new_values END) k ORDER BY k),'
			'       l.old_values, l.new_values,'
			'       %s'
			' FROM (SELECT * FROM witness.log l WHERE %s AND l.stmt_time OPERATOR(pg_catalog.>=) $10 AND l.stmt_time OPERATOR(pg_catalog.<=) $11 OFFSET 0) l'
			' WHERE l.id OPERATOR(pg_catalog.=) ANY ($9) AND %s ORDER BY l.id %s LIMIT %s',
			witness._display_text_sql(),
			ranges,
			final_filter, dir, COALESCE((max_rows - returned)::text, 'ALL'))
		USING args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], ids, lo, hi, last_id, lo_id, hi_id;
		GET DIAGNOSTICS n = ROW_COUNT;
		returned := returned + n;
		EXIT WHEN cardinality(ids) < chunk;
		chunk := least(chunk * 4, 100000);
	END LOOP;
END
$$;
COMMENT ON FUNCTION witness._found_entries(text, text, text, boolean, integer, text[]) IS 'internal: the entries of witness.log behind the candidates of witness.entry_lookup and of the pending tail of witness.entry, in id order, filtered and limited; args are $1..$8 of the conditions';

-- A table name as a DBA writes it, 'orders' or 'sales.orders' (quoted parts kept as written,
-- unquoted ones folded to lower case, as SQL does): {schema or NULL, table}.
CREATE FUNCTION witness._parse_table_name(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	parts text[];
BEGIN
	BEGIN
		parts := parse_ident(name);
	EXCEPTION WHEN invalid_parameter_value THEN
		parts := NULL;
	END;
	IF parts IS NULL OR cardinality(parts) NOT IN (1, 2) THEN
		RAISE EXCEPTION 'invalid table name "%"', name USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Write a table as table or schema.table, e.g. orders or sales.orders.';
	END IF;
	RETURN CASE cardinality(parts) WHEN 1 THEN ARRAY[NULL, parts[1]] ELSE parts END;
END
$$;
COMMENT ON FUNCTION witness._parse_table_name(text) IS 'internal: {schema or NULL, table} of a table name written table or schema.table';
REVOKE ALL ON FUNCTION witness._parse_table_name(text) FROM PUBLIC;

CREATE FUNCTION witness.search(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                               target regclass DEFAULT NULL, actor text DEFAULT NULL, db_user text DEFAULT NULL,
                               operation text DEFAULT NULL, tag text DEFAULT NULL, value_text text DEFAULT NULL,
                               max_rows integer DEFAULT 50, outcome text DEFAULT NULL, table_name text DEFAULT NULL,
                               include_activity boolean DEFAULT false)
RETURNS SETOF witness.found_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text;
	t text;
	named text[];
	hashes bigint[];
	op "char";
	mask smallint;
	k text := 'witness.entry_visible(k.stmt_time)'; -- conditions on witness.entry_lookup k, the caller's period first (a review counted the scans of candidates outside it)
	e text := 'witness.entry_visible(e.stmt_time)'; -- the same on the pending tail, witness.entry e
	f text := 'true';   -- on what witness.log shows the caller
BEGIN
	PERFORM witness.access_check();
	IF max_rows IS NULL THEN
		RAISE EXCEPTION 'max_rows must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Leave it out for the default of 50.';
	END IF;
	IF max_rows < 0 THEN
		RAISE EXCEPTION 'max_rows must be zero or more' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF since IS NOT NULL THEN
		k := k || ' AND k.stmt_time >= $1::timestamptz';
		e := e || ' AND e.stmt_time >= $1::timestamptz';
	END IF;
	IF until IS NOT NULL THEN
		k := k || ' AND k.stmt_time < $2::timestamptz';
		e := e || ' AND e.stmt_time < $2::timestamptz';
	END IF;
	IF target IS NOT NULL AND search.table_name IS NOT NULL THEN
		RAISE EXCEPTION 'target and table_name cannot both be given' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Name the table once: target for a table of this database, table_name for any table the trail names.';
	END IF;
	IF target IS NOT NULL THEN
		SELECT n.nspname, c.relname INTO s, t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
		IF t IS NULL THEN
			RAISE EXCEPTION 'relation with OID % does not exist', target::oid USING ERRCODE = 'undefined_table',
				HINT = 'Name a dropped table with table_name => ''schema.table''.';
		END IF;
		k := k || format(' AND k.table_hash = %s', witness._lookup_table_hash(s, t));
		e := e || format(' AND e.schema_name = %L AND e.table_name = %L', s, t);
		f := f || format(' AND l.schema_name = %L AND l.table_name = %L', s, t);
	ELSIF search.table_name IS NOT NULL THEN
		named := witness._parse_table_name(search.table_name);
		s := named[1];
		t := named[2];
		-- One schema (the usual case) keeps the (table_hash, id) index's order: no sort of the table's rows.
		IF witness._lookup_readable() THEN
			SELECT COALESCE(array_agg(witness._lookup_table_hash(x.n, t)), '{}') INTO hashes FROM witness._schemas_of_table(s, t) x(n);
		ELSE
			hashes := '{}';
		END IF;
		k := k || CASE WHEN cardinality(hashes) = 1 THEN format(' AND k.table_hash = %s', hashes[1])
		               ELSE format(' AND k.table_hash = ANY (%L::bigint[])', hashes) END;
		e := e || format(' AND e.table_name = %L', t) || CASE WHEN s IS NULL THEN '' ELSE format(' AND e.schema_name = %L', s) END;
		f := f || format(' AND l.table_name = %L', t) || CASE WHEN s IS NULL THEN '' ELSE format(' AND l.schema_name = %L', s) END;
	END IF;
	IF search.actor IS NOT NULL THEN
		k := k || ' AND k.actor = $3';
		e := e || ' AND e.actor = $3';
	END IF;
	IF db_user IS NOT NULL THEN
		k := k || ' AND k.session_user_name = $4';
		e := e || ' AND e.session_user_name = $4';
	END IF;
	IF search.operation IS NOT NULL THEN
		op := CASE upper(search.operation) WHEN 'INSERT' THEN 'I' WHEN 'UPDATE' THEN 'U' WHEN 'DELETE' THEN 'D' WHEN 'TRUNCATE' THEN 'T' END;
		IF op IS NULL THEN
			RAISE EXCEPTION 'unknown operation "%"', search.operation USING ERRCODE = 'invalid_parameter_value',
				HINT = 'Use INSERT, UPDATE, DELETE or TRUNCATE.';
		END IF;
		k := k || format(' AND k.op = %L::"char"', op);
		e := e || format(' AND e.op = %L::"char"', op);
	END IF;
	IF tag IS NOT NULL THEN
		IF NOT tag = ANY (witness.classifications()) THEN
			RAISE EXCEPTION 'unknown tag "%"', tag USING ERRCODE = 'invalid_parameter_value',
				HINT = format('Use one of %s.', array_to_string(witness.classifications(), ', '));
		END IF;
		mask := witness.tag_mask(ARRAY[tag]);
		k := k || format(' AND (k.tags::integer & %s) <> 0', mask);
		e := e || format(' AND (e.tags::integer & %s) <> 0', mask);
	END IF;
	IF value_text IS NOT NULL THEN
		-- On the values as the caller sees them: a masked value is "***" here too. The values are read
		-- as JSON text, where a tab, a quote or a backslash is written escaped: the text is looked for
		-- as JSON writes it (a robustness review found 'say "hi"' and 'C:\dir' not found).
		f := f || ' AND strpos(lower(concat(l.row_key::text, l.old_values::text, l.new_values::text)), lower($5)) > 0';
		value_text := substr(to_json(value_text)::text, 2, length(to_json(value_text)::text) - 2);
	END IF;
	IF search.outcome IS NOT NULL THEN
		-- Activity (witness.activity rows, docs/activity.md) carries an outcome; row changes do not.
		IF search.outcome NOT IN ('success', 'denied', 'failed') THEN
			RAISE EXCEPTION 'unknown outcome "%"', search.outcome USING ERRCODE = 'invalid_parameter_value',
				HINT = 'Use success, denied or failed.';
		END IF;
		k := k || format(' AND k.table_hash = %s', witness._lookup_table_hash('witness', 'activity'));
		e := e || ' AND e.schema_name = ''witness'' AND e.table_name = ''activity''';
		f := f || ' AND l.schema_name = ''witness'' AND l.table_name = ''activity'' AND l.new_values ->> ''outcome'' = $6';
	END IF;
	-- pg_witness's own activity records (logins, reads, calls; docs/activity.md) outnumber the changes
	-- on most databases: left out unless asked for, by include_activity, an outcome or the table.
	IF NOT COALESCE(include_activity, false) AND search.outcome IS NULL
	   AND NOT COALESCE(t = 'activity' AND COALESCE(s, 'witness') = 'witness', false) THEN
		k := k || format(' AND k.table_hash <> %s', witness._lookup_table_hash('witness', 'activity'));
		e := e || ' AND NOT (e.schema_name = ''witness'' AND e.table_name = ''activity'')';
	END IF;
	RETURN QUERY SELECT * FROM witness._found_entries(k, e, f, true, max_rows, since::text, until::text, search.actor, db_user, value_text, search.outcome);
END
$$;
COMMENT ON FUNCTION witness.search(timestamptz, timestamptz, regclass, text, text, text, text, text, integer, text, text, boolean) IS 'entries of witness.log newest first, at most max_rows: captured in [since, until), of a table (target, or table_name as ''t'' or ''s.t'': also a dropped table, or a source''s on a collector), by an actor (witness.actor), by a database user (session user), of an operation, with a classification tag, with a text (case-insensitive) in the key or values the caller sees, activity with an outcome (success, denied, failed); pg_witness''s own activity records only with include_activity, an outcome or that table; every argument optional (docs/views.md)';

-- The entries of table schema_name.table_name whose row key the caller sees in witness.log, as a
-- condition on columns id, tags and stmt_time of alias a: within a time-limited auditor's period
-- (else a candidate dropped by witness.log would confirm a key outside it); every such entry for a
-- caller who sees values unmasked;
-- for others, an entry masking does not apply to (not tagged so, and no configuration that has or had
-- the name masks), and an entry newer than names_since of the configuration that describes it when
-- that configuration masks some columns but no key column (witness._masked_columns()).
CREATE FUNCTION witness._visible_key_clause(schema_name text, table_name text, a text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	untagged text := 'false';
	described text := 'false';
	since bigint;
BEGIN
	-- An auditor limited to a period finds only the entries of its period either.
	IF witness.values_unmasked() THEN
		RETURN format('witness.entry_visible(%I.stmt_time)', a);
	END IF;
	IF NOT EXISTS (SELECT FROM witness._masking_names n WHERE n.schema_name = _visible_key_clause.schema_name
	                                                        AND n.table_name = _visible_key_clause.table_name AND n.masks) THEN
		untagged := format('(%1$I.tags::integer OPERATOR(pg_catalog.&) 15) OPERATOR(pg_catalog.=) 0 AND %1$I.id OPERATOR(pg_catalog.>) %2$s',
		                   a, COALESCE((SELECT max(r.until_id) FROM witness.retired_masking r
		                             WHERE r.schema_name = _visible_key_clause.schema_name
		                               AND r.table_name = _visible_key_clause.table_name AND r.masks), -1));
	END IF;
	SELECT t.names_since INTO since FROM witness.tracked_table t
	WHERE t.schema_name = _visible_key_clause.schema_name AND t.table_name = _visible_key_clause.table_name
	  AND NOT t.classification = ANY (witness.masked_tags())
	  AND EXISTS (SELECT FROM jsonb_each(t.column_tags) c WHERE c.value ?| witness.masked_tags())
	  AND NOT EXISTS (SELECT FROM jsonb_each(t.column_tags) c WHERE c.value ?| witness.masked_tags() AND c.key = ANY (t.key_columns));
	IF FOUND THEN
		described := format('%I.id OPERATOR(pg_catalog.>) %s', a, since);
	END IF;
	RETURN format('witness.entry_visible(%I.stmt_time) AND (%s OR %s)', a, untagged, described);
END
$$;
COMMENT ON FUNCTION witness._visible_key_clause(text, text, text) IS 'internal: the condition (on id, tags and stmt_time of an alias) that selects the entries of a table whose row key the caller sees in witness.log, for witness.entity_history()';

-- A table by the name the trail holds, not by a table of this database: one dropped or renamed
-- since, or on a collector (central.md) a source database's.
CREATE FUNCTION witness.entity_history(schema_name text, table_name text, row_key jsonb) RETURNS SETOF witness.found_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text := entity_history.schema_name;
	t text := entity_history.table_name;
BEGIN
	PERFORM witness.access_check();
	IF s IS NULL OR t IS NULL OR row_key IS NULL THEN
		RAISE EXCEPTION 'schema_name, table_name and row_key must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF jsonb_typeof(row_key) <> 'object' THEN
		RAISE EXCEPTION 'row_key must be a JSON object of the key columns' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example {"id": 1}, as witness.log.row_key shows it.';
	END IF;
	-- The key must match as the caller sees it in witness.log: a masked key matches nothing, and is not
	-- even looked for (candidates found by the real key and then dropped would confirm a guess to a
	-- caller counting scans). An UPDATE that gave the row another key is the row's too: found by the
	-- key it had before.
	RETURN QUERY SELECT * FROM witness._found_entries(
		format('(k.key_hash = %1$s OR k.old_key_hash = %1$s) AND %2$s', witness._lookup_key_hash(s, t, row_key), witness._visible_key_clause(s, t, 'k')),
		format('e.schema_name = %L AND e.table_name = %L AND %s AND (e.row_key::jsonb = $1::jsonb'
		       ' OR (e.op = ''U'' AND witness._old_row_key(e.row_key, e.old_values)::jsonb = $1::jsonb))', s, t, witness._visible_key_clause(s, t, 'e')),
		format('l.schema_name = %L AND l.table_name = %L AND (l.row_key = $1::jsonb'
		       ' OR (l.operation = ''UPDATE'' AND witness._old_row_key(l.row_key::json, l.old_values::json)::jsonb = $1::jsonb))', s, t),
		false, NULL, row_key::text);
END
$$;
COMMENT ON FUNCTION witness.entity_history(text, text, jsonb) IS 'every entry of witness.log about one row of the table the trail names schema_name.table_name (also one dropped or renamed since, or a source''s on a collector), its key as jsonb, oldest first; a key the caller sees masked matches nothing (docs/views.md)';

CREATE FUNCTION witness.entity_history(target regclass, row_key jsonb) RETURNS SETOF witness.found_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text;
	t text;
BEGIN
	PERFORM witness.access_check();
	IF target IS NULL OR row_key IS NULL THEN
		RAISE EXCEPTION 'target and row_key must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT n.nspname, c.relname INTO s, t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
	IF t IS NULL THEN
		RAISE EXCEPTION 'relation with OID % does not exist', target::oid USING ERRCODE = 'undefined_table',
			HINT = 'Name a dropped table as witness.entity_history(schema_name, table_name, row_key).';
	END IF;
	RETURN QUERY SELECT * FROM witness.entity_history(s, t, row_key);
END
$$;
COMMENT ON FUNCTION witness.entity_history(regclass, jsonb) IS 'every entry of witness.log about one row of a table of this database (its key as jsonb, e.g. {"id": 1}), oldest first: who changed what; a key the caller sees masked matches nothing (docs/views.md)';

CREATE FUNCTION witness.entry_text(entry_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text;
BEGIN
	PERFORM witness.access_check();
	EXECUTE format('SELECT %s FROM witness.log l WHERE l.id = $1', witness._display_text_sql()) INTO t USING entry_id;
	RETURN t;
END
$$;
COMMENT ON FUNCTION witness.entry_text(bigint) IS 'one line saying who did what to which row, e.g. alice@example.com updated customers {"id": 1}: email, name; no value of a classified column; NULL for an entry the caller cannot see (docs/views.md)';

-------------------------------------------------------------------------------
-- Exports for other systems (docs/exports.md): the trail as CSV, JSON lines or syslog (RFC 5424)
-- lines, filtered, optionally anonymised with keyed pseudonyms, optionally encrypted in the format
-- of `openssl enc`; streamed a batch at a time by src/pg/export/export_lines.cpp
-------------------------------------------------------------------------------

-- The block an entry was sealed in, NULL while it is pending: the previous entry's block when it
-- holds this one too, else a binary search (witness._block_of_xid()). SECURITY DEFINER: a reader may
-- export but not read witness.block; it learns the block number only.
CREATE FUNCTION witness._export_block_no(x xid8, entry_id bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_export_block_no' LANGUAGE C STABLE STRICT SECURITY DEFINER;
COMMENT ON FUNCTION witness._export_block_no(xid8, bigint) IS 'internal: the number of the block an entry was sealed in, NULL while pending, for witness.export()';

-- A keyed pseudonym: "anon:" and the first 16 bytes of HMAC-SHA256(key, value) in hex. The same value
-- under the same key always gives the same pseudonym, so rows stay linkable without the value. The
-- one-byte key '\x00' stands for the key derived from the master key, which only witness.export()
-- holds, while it reads its lines (src/pg/export/export_lines.cpp): STABLE, not IMMUTABLE.
CREATE FUNCTION witness._export_pseudonym(key bytea, value text) RETURNS text
AS 'MODULE_PATHNAME', 'witness_export_pseudonym' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION witness._export_pseudonym(bytea, text) IS 'internal: the keyed pseudonym of a value in an anonymised export (docs/exports.md)';

-- A row key or values of an entry with the values of classified columns replaced by pseudonyms: the
-- columns witness.log masks for a reader (docs/access.md, "Masking"). A value the caller sees masked
-- stays "***". A string is pseudonymised as its text (so a subject and its column give one
-- pseudonym), anything else as its JSON text; null stays null. SECURITY DEFINER: reads
-- witness.tracked_table.
CREATE FUNCTION witness._export_anonymised(v jsonb, schema_name text, table_name text, id bigint, key bytea) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text[];
	subject_columns text[];
	unmasked boolean := witness.values_unmasked();
BEGIN
	IF v IS NULL OR jsonb_typeof(v) <> 'object' THEN
		RETURN v;
	END IF;
	cols := witness._masked_columns(_export_anonymised.schema_name, _export_anonymised.table_name, _export_anonymised.id);
	-- Some columns only: the subject column's too (a review tagged another column, and the subject's
	-- address stayed in clear beside its pseudonym); every column when that one is not known.
	IF cardinality(cols) > 0 THEN
		subject_columns := witness._export_subject_column(_export_anonymised.schema_name, _export_anonymised.table_name,
		                                                  _export_anonymised.id);
		cols := CASE WHEN subject_columns IS NULL THEN cols WHEN cardinality(subject_columns) = 0 THEN NULL
		             ELSE cols || subject_columns END;
	END IF;
	RETURN COALESCE((SELECT jsonb_object_agg(x.key,
	                    CASE WHEN (cardinality(cols) = 0 OR cols IS NULL OR x.key = ANY (cols))
	                          AND jsonb_typeof(x.value) <> 'null' AND (unmasked OR x.value <> '"***"')
	                         THEN to_jsonb(witness._export_pseudonym(_export_anonymised.key, CASE jsonb_typeof(x.value) WHEN 'string' THEN x.value #>> '{}'
	                                                                                             ELSE x.value::text END))
	                         ELSE x.value END)
	                 FROM jsonb_each(v) x), '{}');
END
$$;
COMMENT ON FUNCTION witness._export_anonymised(jsonb, text, text, bigint, bytea) IS 'internal: a row key or values of an entry with the values of classified columns replaced by keyed pseudonyms, for an anonymised witness.export()';

-- v with the value of field f replaced by its keyed pseudonym (as witness._export_anonymised() makes
-- them: a string by its text, anything else by its JSON text); null, absent or "***" stays. f NULL:
-- every field.
CREATE FUNCTION witness._export_pseudonymised_field(v jsonb, f text, key bytea) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN v IS NULL OR pg_catalog.jsonb_typeof(v) <> 'object' THEN v
                  WHEN f IS NULL THEN COALESCE((SELECT pg_catalog.jsonb_object_agg(x.key,
                           CASE WHEN pg_catalog.jsonb_typeof(x.value) = 'null' OR x.value = '"***"'::jsonb THEN x.value
                                ELSE pg_catalog.to_jsonb(witness._export_pseudonym($3, CASE pg_catalog.jsonb_typeof(x.value)
                                         WHEN 'string' THEN x.value #>> '{}' ELSE x.value::text END)) END)
                       FROM pg_catalog.jsonb_each(v) x), '{}')
                  WHEN NOT v ? f OR pg_catalog.jsonb_typeof(v -> f) = 'null' OR v -> f = '"***"'::jsonb THEN v
                  ELSE pg_catalog.jsonb_set(v, ARRAY[f], pg_catalog.to_jsonb(witness._export_pseudonym(key,
                           CASE pg_catalog.jsonb_typeof(v -> f) WHEN 'string' THEN v ->> f ELSE (v -> f)::text END))) END $$;
COMMENT ON FUNCTION witness._export_pseudonymised_field(jsonb, text, bytea) IS 'internal: a row key or values with one field''s value (f NULL: every field''s) replaced by its keyed pseudonym, for an anonymised witness.export()';

-- The fields that hold the subject in entry id, for an anonymised export of a table that is not
-- masked (classified internal, its subject column untagged): its value is the subject, which the
-- export pseudonymises, and stayed in clear in the values (an attack review). ARRAY[column] when the
-- table's configuration describes the entry; '{}' (every field) when it does not but names a subject
-- column: the entry is older than a rename of the table or of a column, whose name then is not kept
-- (a review renamed the subject column and back, and every older entry showed the subject's address
-- beside its pseudonym); NULL when no subject column is known. SECURITY DEFINER: reads
-- witness.tracked_table.
CREATE FUNCTION witness._export_subject_column(schema_name text, table_name text, id bigint) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t witness.tracked_table;
BEGIN
	SELECT * INTO t FROM witness.tracked_table x
	WHERE x.schema_name = _export_subject_column.schema_name AND x.table_name = _export_subject_column.table_name;
	IF FOUND AND t.names_since < id THEN
		RETURN CASE WHEN t.subject_column IS NOT NULL THEN ARRAY[t.subject_column] END;
	END IF;
	IF (FOUND AND t.subject_column IS NOT NULL)
	   OR EXISTS (SELECT FROM witness.tracked_table x WHERE x.subject_column IS NOT NULL
	              AND x.former_names @> jsonb_build_array(jsonb_build_array(_export_subject_column.schema_name, _export_subject_column.table_name))) THEN
		RETURN '{}';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._export_subject_column(text, text, bigint) IS 'internal: the fields of an entry whose values an anonymised witness.export() pseudonymises as its subject''s, in every table: the configuration''s subject column, every field (empty array) when the configuration does not describe the entry, NULL when none is known';

-- An SD-PARAM value of RFC 5424: '"', '\' and ']' escaped with a backslash.
CREATE FUNCTION witness._syslog_param(v text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$ SELECT replace(replace(replace(v, '\', '\\'), '"', '\"'), ']', '\]') $$;
COMMENT ON FUNCTION witness._syslog_param(text) IS 'internal: a value of RFC 5424 structured data, escaped';

-- One line of an export of one witness.log row (docs/exports.md has each format's fields). key: the
-- pseudonym key of an anonymised export, NULL otherwise. Runs as the caller of witness.export(), on
-- the row witness.log shows it: masked values stay masked, encrypted values are NULL.
CREATE FUNCTION witness._export_line(format text, l witness.log, block_no bigint, key bytea) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	row_key jsonb := l.row_key;
	subject text := l.subject;
	old_values jsonb := l.old_values;
	new_values jsonb := l.new_values;
	subject_columns text[];
	doc json;
BEGIN
	IF key IS NOT NULL THEN
		IF subject IS NOT NULL AND (subject <> '***' OR witness.values_unmasked()) THEN
			subject := witness._export_pseudonym(key, subject);
		END IF;
		IF l.tags && witness.masked_tags() OR witness._table_masked(l.schema_name, l.table_name, l.id) THEN
			row_key := witness._export_anonymised(row_key, l.schema_name, l.table_name, l.id, key);
			old_values := witness._export_anonymised(old_values, l.schema_name, l.table_name, l.id, key);
			new_values := witness._export_anonymised(new_values, l.schema_name, l.table_name, l.id, key);
		ELSE
			-- Not masked: only the subject column's value, as the subject itself (same pseudonym); every
			-- value of an entry with a subject whose column is not known (NULL: every field).
			subject_columns := witness._export_subject_column(l.schema_name, l.table_name, l.id);
			IF subject_columns IS NULL AND l.subject IS NOT NULL THEN
				subject_columns := '{}';
			END IF;
			IF subject_columns IS NOT NULL THEN
				row_key := witness._export_pseudonymised_field(row_key, subject_columns[1], key);
				old_values := witness._export_pseudonymised_field(old_values, subject_columns[1], key);
				new_values := witness._export_pseudonymised_field(new_values, subject_columns[1], key);
			END IF;
		END IF;
	END IF;
	IF format = 'csv' THEN
		RETURN witness._csv_line(ARRAY[l.id::text, witness._utc(l.stmt_time), l.schema_name, l.table_name, l.operation,
		                               row_key::text, subject, array_to_json(l.tags)::text, old_values::text, new_values::text,
		                               l.actor, l.session_user_name, l.current_user_name, l.application_name,
		                               host(l.client_addr), l.reason, block_no::text, encode(l.leaf_hash, 'hex')]);
	END IF;
	doc := json_build_object('entry_id', l.id, 'time', witness._utc(l.stmt_time), 'schema_name', l.schema_name,
	                         'table_name', l.table_name, 'operation', l.operation, 'row_key', row_key, 'subject', subject,
	                         'tags', l.tags, 'old_values', old_values, 'new_values', new_values, 'actor', l.actor,
	                         'session_user', l.session_user_name, 'current_user', l.current_user_name,
	                         'application_name', l.application_name, 'client_addr', host(l.client_addr),
	                         'reason', l.reason, 'block_no', block_no, 'leaf_hash', encode(l.leaf_hash, 'hex'));
	IF format = 'jsonl' THEN
		RETURN doc::text;
	END IF;
	-- syslog (RFC 5424): facility 13 (log audit); severity 4 (warning) for DELETE and TRUNCATE, 5
	-- (notice) otherwise; no host name (the NILVALUE); app-name pg_witness; procid the backend pid of
	-- the change; msgid the operation; structured data witness@32473 (the example enterprise number
	-- of RFC 5612); the message the JSON line, which holds no line break.
	RETURN pg_catalog.format('<%s>1 %s - pg_witness %s %s [witness@32473 entry_id="%s"%s leaf_hash="%s" db="%s" table="%s"] %s',
	                         CASE WHEN l.operation IN ('DELETE', 'TRUNCATE') THEN 108 ELSE 109 END,
	                         witness._utc(l.stmt_time), COALESCE(l.backend_pid::text, '-'), COALESCE(l.operation, '-'), l.id,
	                         CASE WHEN block_no IS NOT NULL THEN pg_catalog.format(' block="%s"', block_no) ELSE '' END,
	                         encode(l.leaf_hash, 'hex'), witness._syslog_param(current_database()),
	                         witness._syslog_param(pg_catalog.format('%I.%I', l.schema_name, l.table_name)), doc::text);
END
$$;
COMMENT ON FUNCTION witness._export_line(text, witness.log, bigint, bytea) IS 'internal: one csv, jsonl or syslog line of witness.export() for one row of witness.log';

CREATE FUNCTION witness.export(format text, since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                               table_name text DEFAULT NULL, actor text DEFAULT NULL, db_user text DEFAULT NULL,
                               operation text DEFAULT NULL, tag text DEFAULT NULL, anonymise boolean DEFAULT false,
                               pseudonym_key bytea DEFAULT NULL)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'witness_export' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness.export(text, timestamptz, timestamptz, text, text, text, text, text, boolean, bytea) IS 'the entries of witness.log in [since, until), filtered, in id order, as csv (RFC 4180, a header first), jsonl or syslog (RFC 5424) lines, streamed; anonymise replaces subjects and classified values with keyed pseudonyms (docs/exports.md)';

CREATE FUNCTION witness.export_encrypted(passphrase text, format text, since timestamptz DEFAULT NULL,
                                         until timestamptz DEFAULT NULL, table_name text DEFAULT NULL,
                                         actor text DEFAULT NULL, db_user text DEFAULT NULL, operation text DEFAULT NULL,
                                         tag text DEFAULT NULL, anonymise boolean DEFAULT false,
                                         pseudonym_key bytea DEFAULT NULL, iterations integer DEFAULT 100000)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'witness_export_encrypted' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness.export_encrypted(text, text, timestamptz, timestamptz, text, text, text, text, text, boolean, bytea, integer) IS 'witness.export() encrypted with a passphrase: base64 lines of 64 characters that `openssl enc -d -a -aes-256-cbc -pbkdf2 -iter N -md sha256` decrypts (docs/exports.md)';

-------------------------------------------------------------------------------
-- The signed audit report (docs/report.md): counts, verification, erasures, holds, retention runs,
-- alerts, personal data and security of a period, as HTML signed with the digest keys; built by
-- the same code as witness-verify report, over the lines of witness.export_trail()
-------------------------------------------------------------------------------

-- Runs with the caller's rights: it reads the trail through witness.verify() and
-- witness.export_trail(), so a period-restricted auditor's report holds the entries of its period only.
CREATE FUNCTION witness.audit_report(since timestamptz, until timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'witness_audit_report' LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION witness.audit_report(timestamptz, timestamptz) IS 'the audit report of the entries captured in [since, until) (NULL: open) as HTML: counts by table, actor, operation and classification, verification, erasures, holds, retention runs, alerts, personal data and security; signed with HMAC-SHA256 and Ed25519 under witness.hmac_key_file and witness.ed25519_key_file (docs/report.md)';
REVOKE ALL ON FUNCTION witness.audit_report(timestamptz, timestamptz) FROM PUBLIC;
-- Archive instead of delete (docs/retention.md, "Archive instead of delete"): a retention rule may
-- archive its expired entries; witness.apply_retention() then writes them, with their blocks and the
-- blocks' leaf lists, to a gzip file per month in witness.archive_directory, made durable before
-- anything is pruned, and names each file with its SHA-256 in the run's record
-------------------------------------------------------------------------------

-- Per tag mask (index mask + 1, masks 0 to 31): whether the rule of one of its tags (untagged for
-- mask 0) archives. An entry under two rules is archived when either says so: never delete what one
-- of them wants kept in a file.
CREATE FUNCTION witness._retention_archived() RETURNS boolean[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.array_agg(CASE WHEN mask OPERATOR(pg_catalog.=) 0 THEN COALESCE((SELECT r.archive FROM witness.retention_rules r WHERE r.classification OPERATOR(pg_catalog.=) 'untagged'), false)
	            ELSE EXISTS (SELECT FROM pg_catalog.unnest(witness.retention_classes()) WITH ORDINALITY u(c, n)
	                         JOIN witness.retention_rules r ON r.classification OPERATOR(pg_catalog.=) u.c
	                         WHERE u.n OPERATOR(pg_catalog.<=) 5 AND r.archive
	                           AND (mask OPERATOR(pg_catalog.>>) (u.n::integer OPERATOR(pg_catalog.-) 1)) OPERATOR(pg_catalog.&) 1 OPERATOR(pg_catalog.=) 1) END
	            ORDER BY mask)
	FROM pg_catalog.generate_series(0, 31) AS mask
$$;
COMMENT ON FUNCTION witness._retention_archived() IS 'internal: for each tag mask 0 to 31 (at index mask + 1), whether a rule of one of its tags archives expired entries';
REVOKE ALL ON FUNCTION witness._retention_archived() FROM PUBLIC;

-- Refuses a run that would have to archive with nowhere to write: nothing is pruned then, also not
-- under the other rules, so that the run's failure is seen rather than half done.
CREATE FUNCTION witness._check_archive_directory() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	classes text;
BEGIN
	SELECT string_agg(r.classification, ', ' ORDER BY r.classification) INTO classes
	FROM witness.retention_rules r WHERE r.archive AND r.keep IS NOT NULL;
	IF classes IS NOT NULL AND COALESCE(current_setting('witness.archive_directory', true), '') = '' THEN
		RAISE EXCEPTION 'cannot apply retention: witness.archive_directory is not set'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('The rules of %s archive expired entries before pruning them; nothing was pruned.', classes),
			      HINT = 'A superuser sets witness.archive_directory in postgresql.conf to an absolute path the server can write, and reloads.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_archive_directory() IS 'internal: refuses (55000) when a retention rule in force archives and witness.archive_directory is not set';
REVOKE ALL ON FUNCTION witness._check_archive_directory() FROM PUBLIC;

-- Writes the archive file (src/pg/retention/write_archive.cpp): header, block lines, leaf lists and
-- entry lines, gzip, to a temporary name, fsync, rename without replacing, fsync of the directory.
CREATE FUNCTION witness._write_archive_file(file_name text, header text, block_nos bigint[], entry_ids bigint[]) RETURNS text
AS 'MODULE_PATHNAME', 'witness_write_archive_file' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._write_archive_file(text, text, bigint[], bigint[]) IS 'internal: writes an archive file of the given blocks and entries into witness.archive_directory, durably, and returns its SHA-256 in hex';
REVOKE ALL ON FUNCTION witness._write_archive_file(text, text, bigint[], bigint[]) FROM PUBLIC;

-- One archive file: its name says database, month and run; the result is what the run's record says of it.
CREATE FUNCTION witness._write_archive(run_id bigint, month text, block_nos bigint[], entry_ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	file_name text := format('%s%s-run%s.jsonl.gz',
	                         witness._archive_file_prefix(), month, run_id);
	header text := json_build_object('type', 'archive', 'format', 1, 'database', witness.database_id(),
	                                 'run_id', run_id, 'month', month, 'entries', cardinality(entry_ids))::text;
	sha text;
BEGIN
	sha := witness._write_archive_file(file_name, header, block_nos, entry_ids);
	RETURN jsonb_build_object('file', file_name, 'month', month, 'entries', cardinality(entry_ids),
	                          'blocks', cardinality(block_nos), 'sha256', sha);
END
$$;
COMMENT ON FUNCTION witness._write_archive(bigint, text, bigint[], bigint[]) IS 'internal: writes the archive file of one month of a retention run and returns its file name, month, counts and SHA-256';
REVOKE ALL ON FUNCTION witness._write_archive(bigint, text, bigint[], bigint[]) FROM PUBLIC;

-- How this database's archive file names start: one spelling for the files written and those looked for.
CREATE FUNCTION witness._archive_file_prefix() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'pg_witness-' || regexp_replace(witness.database_id(), '[^A-Za-z0-9_.-]', '_', 'g') || '-' $$;
COMMENT ON FUNCTION witness._archive_file_prefix() IS 'internal: pg_witness-<witness.database_id(), other characters than letters, digits, "_", "." and "-" as "_">-, the start of this database''s archive file names';
REVOKE ALL ON FUNCTION witness._archive_file_prefix() FROM PUBLIC;

-- Lists witness.archive_directory (src/pg/retention/archive_orphans.cpp): only the server reads it.
CREATE FUNCTION witness._archive_directory_files(prefix text) RETURNS text[]
AS 'MODULE_PATHNAME', 'witness_archive_directory_files' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION witness._archive_directory_files(text) IS 'internal: the names in witness.archive_directory that start with prefix (NULL when none, or the directory is not set; a WARNING when it cannot be read)';
REVOKE ALL ON FUNCTION witness._archive_directory_files(text) FROM PUBLIC;

-- A run that rolls back removes its files (src/pg/retention/archive_rollback.cpp); a server crash
-- leaves them, under a name no committed run has, or with .tmp appended (docs/retention.md, "A run
-- that does not commit"). Only names of this database's pattern count.
CREATE FUNCTION witness._orphan_archive_files() RETURNS text[]
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT array_agg(f ORDER BY f)
	FROM witness._archive_file_prefix() p, unnest(witness._archive_directory_files(p)) f
	WHERE substr(f, length(p) + 1) ~ '^[0-9]{4}-[0-9]{2}-run[0-9]+\.jsonl\.gz(\.tmp)?$'
	  AND (f LIKE '%.tmp' OR NOT EXISTS (SELECT FROM witness.retention_run r, jsonb_array_elements(r.archives) a
	                                     WHERE a ->> 'file' = f))
$$;
COMMENT ON FUNCTION witness._orphan_archive_files() IS 'internal: this database''s archive files in witness.archive_directory that no committed retention run names, and temporary ones, in name order (NULL when none)';
REVOKE ALL ON FUNCTION witness._orphan_archive_files() FROM PUBLIC;

-- erase_subject() cannot reach into such a file: it says so, naming the files, since they keep the
-- entries in clear and nothing else tells that they are there.
CREATE FUNCTION witness._warn_orphan_archives() RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	files text[] := witness._orphan_archive_files();
	n integer := cardinality(files);
BEGIN
	IF files IS NULL THEN
		RETURN;
	END IF;
	RAISE WARNING 'witness.archive_directory holds % archive % of no committed retention run', n, CASE WHEN n = 1 THEN 'file' ELSE 'files' END
		USING ERRCODE = '01000',
		      DETAIL = format('A retention run that did not commit (the server stopped before it did) left %s; it keeps entries of this trail, in clear for tables not encrypted at rest, which this erasure does not reach.',
		                      array_to_string(files[1:5], ', ') || CASE WHEN n > 5 THEN format(' and %s more', n - 5) ELSE '' END),
		      HINT = 'Remove these files: the run pruned nothing, so their entries are still in the trail or in a later run''s file (docs/retention.md, "A run that does not commit").';
END
$$;
COMMENT ON FUNCTION witness._warn_orphan_archives() IS 'internal: a WARNING naming the archive files of this database that no committed retention run names (called by witness.erase_subject())';
REVOKE ALL ON FUNCTION witness._warn_orphan_archives() FROM PUBLIC;
-- Daily summaries, actor activity and monitoring (docs/monitoring.md): counts per UTC day, table,
-- actor, database user and operation, kept up to date from sealed blocks by the background sealer
-- (and witness.refresh_summary()), never by the capture; and witness.stats for monitoring
-------------------------------------------------------------------------------

-- The aggregate behind witness.daily_summary and witness.actor_activity. Derived data, not evidence:
-- not captured, not append-only (a count grows as blocks are summarized); the chain is the proof.
-- Saved by pg_dump with its cursor (witness.summary_state), so that a restored trail keeps the counts
-- of entries retention pruned before the dump, and goes on from the block it had reached.
CREATE TABLE witness.daily_count (
	day date NOT NULL,
	schema_name text NOT NULL,
	table_name text NOT NULL,
	operation text NOT NULL,
	actor text,
	db_user text NOT NULL,
	outcome text,
	entries bigint NOT NULL,
	first_at timestamptz NOT NULL,
	last_at timestamptz NOT NULL,
	CONSTRAINT daily_count_key UNIQUE NULLS NOT DISTINCT (day, schema_name, table_name, operation, actor, db_user, outcome)
);
-- The schemas a table name was counted in (witness.search(table_name => ...)), without reading the
-- whole table.
CREATE INDEX daily_count_table ON witness.daily_count (table_name, schema_name);
COMMENT ON TABLE witness.daily_count IS 'pg_witness: entries counted per UTC day, table, operation, actor, database user and outcome, from sealed blocks (docs/monitoring.md); read it through witness.daily_summary';
COMMENT ON COLUMN witness.daily_count.day IS 'UTC day of the entries'' stmt_time';
COMMENT ON COLUMN witness.daily_count.schema_name IS 'schema of the table changed (witness for pg_witness''s own records)';
COMMENT ON COLUMN witness.daily_count.table_name IS 'table changed';
COMMENT ON COLUMN witness.daily_count.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE; for witness.activity the kind of activity (read, trail read, login, denied, call, lost)';
COMMENT ON COLUMN witness.daily_count.actor IS 'witness.actor of the change (NULL when the application set none)';
COMMENT ON COLUMN witness.daily_count.db_user IS 'the database role that logged in (session user); for witness.activity the session user the activity row names';
COMMENT ON COLUMN witness.daily_count.outcome IS 'for witness.activity: success, denied or failed; NULL for row changes (they exist because their transaction committed)';
COMMENT ON COLUMN witness.daily_count.entries IS 'how many entries';
COMMENT ON COLUMN witness.daily_count.first_at IS 'stmt_time of the first of them';
COMMENT ON COLUMN witness.daily_count.last_at IS 'stmt_time of the last of them';
REVOKE ALL ON witness.daily_count FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('witness.daily_count', '');

-- The schemas whose table of this name has rows in witness.entry_lookup, when no schema is named: of
-- the schemas where a relation of that name exists, where pg_witness recorded DDL on one (a table
-- dropped with its schema), where a tracked table of that name is, or where the daily summary counted
-- entries of one (a table renamed since), those where one probe of the (table_hash, id) index finds
-- a row. The pending tail is matched by name, not through this.
CREATE FUNCTION witness._schemas_of_table(schema_name text, table_name text) RETURNS SETOF text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT x.s FROM (
		SELECT schema_name WHERE schema_name IS NOT NULL
		UNION
		SELECT y.s FROM (
			SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = _schemas_of_table.table_name
			UNION SELECT d.schema_name FROM witness.ddl_event d WHERE d.table_name = _schemas_of_table.table_name
			UNION SELECT t.schema_name FROM witness.tracked_table t WHERE t.table_name = _schemas_of_table.table_name
			UNION SELECT c.schema_name FROM witness.daily_count c WHERE c.table_name = _schemas_of_table.table_name
		) y(s) WHERE schema_name IS NULL
	) x(s)
	WHERE EXISTS (SELECT FROM witness.entry_lookup k WHERE k.table_hash = witness._lookup_table_hash(x.s, _schemas_of_table.table_name))
$$;
COMMENT ON FUNCTION witness._schemas_of_table(text, text) IS 'internal: the schema given, or every schema where pg_witness knows of a table of that name, whose table of that name has rows in witness.entry_lookup';
REVOKE ALL ON FUNCTION witness._schemas_of_table(text, text) FROM PUBLIC;

-- How far witness.daily_count has got: at most one row (none before the first block is summarized).
CREATE TABLE witness.summary_state (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_block_no bigint NOT NULL,
	entries bigint NOT NULL,
	updated_at timestamptz NOT NULL
);
COMMENT ON TABLE witness.summary_state IS 'pg_witness: the newest block witness.daily_count counts the entries of (docs/monitoring.md)';
COMMENT ON COLUMN witness.summary_state.one IS 'true: the table has one row at most';
COMMENT ON COLUMN witness.summary_state.last_block_no IS 'every block up to this one is counted in witness.daily_count';
COMMENT ON COLUMN witness.summary_state.entries IS 'entries counted since the summary started';
COMMENT ON COLUMN witness.summary_state.updated_at IS 'when the last block was counted';
SELECT witness._guard_kept_table('witness.daily_count', true, 'pg_witness''s sealer and witness.refresh_summary()', 'The daily summary');
SELECT witness._guard_kept_table('witness.summary_state', true, 'pg_witness''s sealer and witness.refresh_summary()', 'The daily summary''s position');
REVOKE ALL ON witness.summary_state FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('witness.summary_state', '');

-- Counts the entries of the blocks sealed since the last call into witness.daily_count, block by
-- block, oldest first, until max_entries are counted (NULL: all); returns the entries counted. One
-- at a time (a lock on witness.summary_state): a block is never counted twice. wait false (the
-- sealer): returns 0 at once when another call holds the lock. A block's members are found as
-- witness._block_members() finds them; entries retention pruned before their block was counted are
-- not counted. Planned without sequential scans and JIT, as witness._maintain_lookup() is.
CREATE FUNCTION witness._refresh_summary(wait boolean, max_entries bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
	b witness.block;
	prev_snapshot pg_snapshot;
	last_no bigint;
	counted bigint := 0;
	n bigint;
BEGIN
	IF wait THEN
		LOCK TABLE witness.summary_state IN SHARE ROW EXCLUSIVE MODE;
	ELSE
		BEGIN
			LOCK TABLE witness.summary_state IN SHARE ROW EXCLUSIVE MODE NOWAIT;
		EXCEPTION WHEN lock_not_available THEN
			RETURN 0;
		END;
	END IF;
	-- Prepared, the transaction would stop every later summary until COMMIT PREPARED (a review).
	PERFORM witness._refuse_prepare_holding('summary_state');
	IF witness._trail_syncing() THEN
		RETURN 0;
	END IF;
	-- Read after the lock (a new snapshot per statement): what the previous holder committed. Written
	-- under pg_witness's mark (the guard triggers of these tables).
	PERFORM witness._begin_internal_ddl();
	SELECT s.last_block_no INTO last_no FROM witness.summary_state s;
	last_no := COALESCE(last_no, 0);
	FOR b IN SELECT * FROM witness.block k WHERE k.block_no > last_no ORDER BY k.block_no LOOP
		EXIT WHEN max_entries IS NOT NULL AND counted >= max_entries;
		n := 0;
		IF b.entry_count > 0 THEN
			prev_snapshot := witness._previous_snapshot(b.block_no);
			WITH members AS (
				SELECT m.stmt_time, m.schema_name, m.table_name, m.op, m.actor, m.session_user_name, m.new_values,
				       m.schema_name = 'witness' AND m.table_name = 'activity' AS is_activity
				FROM witness._member_entries(b, prev_snapshot, b.first_entry_id, b.last_entry_id) m
			), counts AS (
				SELECT (x.stmt_time AT TIME ZONE 'UTC')::date AS day, x.schema_name, x.table_name,
				       CASE WHEN x.is_activity THEN COALESCE(x.new_values ->> 'kind', 'INSERT')
				            ELSE CASE x.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' WHEN 'T' THEN 'TRUNCATE' END
				       END AS operation,
				       CASE WHEN x.is_activity THEN x.new_values ->> 'actor' ELSE x.actor END AS actor,
				       CASE WHEN x.is_activity THEN COALESCE(x.new_values ->> 'session_user_name', x.session_user_name)
				            ELSE x.session_user_name END AS db_user,
				       CASE WHEN x.is_activity THEN x.new_values ->> 'outcome' END AS outcome,
				       count(*) AS entries, min(x.stmt_time) AS first_at, max(x.stmt_time) AS last_at
				FROM members x GROUP BY 1, 2, 3, 4, 5, 6, 7
			), written AS (
				INSERT INTO witness.daily_count AS d (day, schema_name, table_name, operation, actor, db_user, outcome, entries, first_at, last_at)
				SELECT c.day, c.schema_name, c.table_name, c.operation, c.actor, c.db_user, c.outcome, c.entries, c.first_at, c.last_at
				FROM counts c
				ON CONFLICT ON CONSTRAINT daily_count_key DO UPDATE
				SET entries = d.entries + excluded.entries, first_at = least(d.first_at, excluded.first_at),
				    last_at = greatest(d.last_at, excluded.last_at)
				RETURNING 1
			)
			SELECT COALESCE(sum(c.entries), 0) INTO n FROM counts c;
		END IF;
		counted := counted + n;
		INSERT INTO witness.summary_state AS s (last_block_no, entries, updated_at) VALUES (b.block_no, n, clock_timestamp())
		ON CONFLICT (one) DO UPDATE SET last_block_no = excluded.last_block_no, entries = s.entries + excluded.entries,
		                                updated_at = excluded.updated_at;
	END LOOP;
	PERFORM witness._end_internal_ddl();
	RETURN counted;
END
$$;
COMMENT ON FUNCTION witness._refresh_summary(boolean, bigint) IS 'internal: counts the entries of blocks sealed since the last call into witness.daily_count (the sealer calls it after each pass); returns the entries counted';
REVOKE ALL ON FUNCTION witness._refresh_summary(boolean, bigint) FROM PUBLIC;

CREATE FUNCTION witness.refresh_summary() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM witness.access_check();
	RETURN witness._refresh_summary(true, NULL);
END
$$;
COMMENT ON FUNCTION witness.refresh_summary() IS 'counts the entries of every block sealed since the last refresh into witness.daily_summary now (the background sealer does it after each pass); waits for a refresh under way; returns the entries counted';

-- A summary row covers a whole UTC day: a time-limited auditor sees the days wholly inside its period.
-- Called once per query (a one-row function in FROM), not once per row.
CREATE FUNCTION witness._visible_days(OUT first_day date, OUT end_day date)
AS 'MODULE_PATHNAME', 'witness_visible_days' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION witness._visible_days() IS 'internal: the UTC days [first_day, end_day) whose entries the calling role may all see (infinite but for a time-limited auditor); error 42501 once an auditor''s grant expired';

CREATE VIEW witness.daily_summary WITH (security_barrier) AS
SELECT d.day, d.schema_name, d.table_name, d.operation, d.actor, d.db_user, d.outcome, d.entries, d.first_at, d.last_at
FROM witness.daily_count d, witness._visible_days() v
WHERE d.day >= v.first_day AND d.day < v.end_day;
COMMENT ON VIEW witness.daily_summary IS 'entries per UTC day, table, operation, actor, database user and outcome, counted from sealed blocks by the background sealer (docs/monitoring.md): an entry appears once its block is sealed and counted, by the sealer right after its seal (or by witness.refresh_summary()); entries pruned by retention stay counted';
COMMENT ON COLUMN witness.daily_summary.day IS 'UTC day of the entries'' stmt_time';
COMMENT ON COLUMN witness.daily_summary.schema_name IS 'schema of the table changed (witness for pg_witness''s own records)';
COMMENT ON COLUMN witness.daily_summary.table_name IS 'table changed';
COMMENT ON COLUMN witness.daily_summary.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE; for witness.activity the kind of activity (read, trail read, login, denied, call, lost)';
COMMENT ON COLUMN witness.daily_summary.actor IS 'witness.actor of the change (NULL when the application set none)';
COMMENT ON COLUMN witness.daily_summary.db_user IS 'the database role that logged in (session user)';
COMMENT ON COLUMN witness.daily_summary.outcome IS 'for witness.activity: success, denied or failed; NULL for row changes';
COMMENT ON COLUMN witness.daily_summary.entries IS 'how many entries';
COMMENT ON COLUMN witness.daily_summary.first_at IS 'stmt_time of the first of them';
COMMENT ON COLUMN witness.daily_summary.last_at IS 'stmt_time of the last of them';

CREATE VIEW witness.actor_activity WITH (security_barrier) AS
SELECT d.day, d.actor, d.db_user, pg_catalog.format('%I.%I', d.schema_name, d.table_name) AS table_name,
       d.operation, d.entries AS changes, d.first_at, d.last_at
FROM witness.daily_count d, witness._visible_days() v
WHERE NOT (d.schema_name = 'witness' AND d.table_name = 'activity') AND d.day >= v.first_day AND d.day < v.end_day;
COMMENT ON VIEW witness.actor_activity IS 'row changes per UTC day, actor and database user, by table and operation (witness.daily_summary without reads, logins, refusals and calls)';
COMMENT ON COLUMN witness.actor_activity.day IS 'UTC day of the changes';
COMMENT ON COLUMN witness.actor_activity.actor IS 'witness.actor of the changes (NULL when the application set none)';
COMMENT ON COLUMN witness.actor_activity.db_user IS 'the database role that logged in (session user)';
COMMENT ON COLUMN witness.actor_activity.table_name IS 'the table changed, schema-qualified and quoted as needed';
COMMENT ON COLUMN witness.actor_activity.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE';
COMMENT ON COLUMN witness.actor_activity.changes IS 'how many rows changed (entries)';
COMMENT ON COLUMN witness.actor_activity.first_at IS 'stmt_time of the first of them';
COMMENT ON COLUMN witness.actor_activity.last_at IS 'stmt_time of the last of them';

-- One row for monitoring, without reading the trail: the newest blocks (by block number), the
-- planner's estimates and the sizes of the partitions, the summary's cursor, seal_status and the
-- newest recorded verification.
CREATE VIEW witness.stats AS
SELECT (SELECT COALESCE(sum(b.entry_count), 0) / 300.0
        FROM (SELECT k.entry_count, k.sealed_at FROM witness.block k ORDER BY k.block_no DESC LIMIT 1000) b
        WHERE b.sealed_at > pg_catalog.now() - interval '5 minutes')::numeric(20, 2) AS entries_per_second,
       s.entries_pending, s.oldest_pending_age AS seal_lag, s.last_block_no, s.last_sealed_at,
       s.background AS background_sealing, s.last_pass_at, s.last_pass_result,
       v.finished_at AS last_verified_at, v.status AS last_verification_status, v.problems AS last_verification_problems,
       (SELECT pg_catalog.sum(GREATEST(c.reltuples, 0))::bigint FROM pg_catalog.pg_class c
        WHERE c.oid OPERATOR(pg_catalog.=) ANY (SELECT t.relid FROM pg_catalog.pg_partition_tree('witness.entry'::pg_catalog.regclass) t
                                             WHERE t.isleaf)) AS entries_estimate,
       (SELECT pg_catalog.sum(pg_catalog.pg_total_relation_size(t.relid))::bigint
        FROM pg_catalog.pg_partition_tree('witness.entry'::pg_catalog.regclass) t WHERE t.isleaf) AS trail_bytes,
       u.entries AS entries_summarized, u.last_block_no AS summary_block_no, u.updated_at AS summary_updated_at
FROM witness._seal_status() s
LEFT JOIN LATERAL (SELECT r.finished_at, r.status, r.problems FROM witness.verification_run r
                   ORDER BY r.run_id DESC LIMIT 1) v ON true
LEFT JOIN witness.summary_state u ON true
CROSS JOIN witness._visible_days() access_check; -- raises 42501 for an expired auditor
COMMENT ON VIEW witness.stats IS 'pg_witness at a glance, for monitoring (docs/monitoring.md); cheap: reads no entry';
COMMENT ON COLUMN witness.stats.entries_per_second IS 'entries sealed in the blocks of the last 5 minutes, per second (the capture rate, one seal interval late; 0 while nothing is sealed)';
COMMENT ON COLUMN witness.stats.entries_pending IS 'committed entries in no block yet (witness.seal_status)';
COMMENT ON COLUMN witness.stats.seal_lag IS 'how long the oldest pending entry has waited (NULL when none is pending)';
COMMENT ON COLUMN witness.stats.last_block_no IS 'the newest block';
COMMENT ON COLUMN witness.stats.last_sealed_at IS 'when the newest block was sealed';
COMMENT ON COLUMN witness.stats.background_sealing IS 'background sealing: on, off (witness.seal_interval = 0), not loaded, not running, or standby';
COMMENT ON COLUMN witness.stats.last_pass_at IS 'when the background sealer last finished a pass in this database (since the server started)';
COMMENT ON COLUMN witness.stats.last_pass_result IS 'how that pass ended: sealed, nothing to seal, busy, not installed, failed or lost';
COMMENT ON COLUMN witness.stats.last_verified_at IS 'when the newest recorded verification (witness.verification_run: scheduled, or witness.verify_and_checkpoint()) ended; NULL when none is recorded';
COMMENT ON COLUMN witness.stats.last_verification_status IS 'its result: valid or tampered';
COMMENT ON COLUMN witness.stats.last_verification_problems IS 'how many problems it found';
COMMENT ON COLUMN witness.stats.entries_estimate IS 'entries stored in the trail, as the planner estimates them (pg_class.reltuples of the partitions, as of their last VACUUM or ANALYZE)';
COMMENT ON COLUMN witness.stats.trail_bytes IS 'size of the trail on disk: the partitions of witness.entry with their indexes and TOAST';
COMMENT ON COLUMN witness.stats.entries_summarized IS 'entries counted in witness.daily_summary, pruned ones included (NULL before the first block is counted)';
COMMENT ON COLUMN witness.stats.summary_block_no IS 'the newest block counted in witness.daily_summary: last_block_no minus this is how far the summary is behind';
COMMENT ON COLUMN witness.stats.summary_updated_at IS 'when the summary last counted a block';

-------------------------------------------------------------------------------
-- Anomaly alerts (docs/alerts.md): rules evaluated after commit over what the sealer sealed (the
-- background worker after each pass, witness.check_alerts() on demand), never during capture. Each
-- alert is a row of witness.alert, captured into the chain, and a NOTIFY on channel witness_alert.
-------------------------------------------------------------------------------

-- One row per alert raised, captured into the trail. cause names what raised it (a transaction and
-- table, a role and day, a DDL event, ...): the same rule never raises twice for one cause.
CREATE TABLE witness.alert (
	alert_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	raised_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	rule text NOT NULL,
	severity text NOT NULL CHECK (severity IN ('info', 'notice', 'warning', 'error', 'critical')),
	summary text NOT NULL,
	detail jsonb NOT NULL DEFAULT '{}',
	cause text NOT NULL
);
CREATE UNIQUE INDEX alert_rule_cause ON witness.alert (rule, cause);
COMMENT ON INDEX witness.alert_rule_cause IS 'pg_witness: one alert per rule and cause';
COMMENT ON TABLE witness.alert IS 'pg_witness: one row per anomaly alert raised by witness.check_alerts() or the background sealer (docs/alerts.md); each row is captured into the trail and sent with NOTIFY witness_alert';
COMMENT ON COLUMN witness.alert.alert_id IS 'order in which the alerts were raised';
COMMENT ON COLUMN witness.alert.raised_at IS 'when the alert was raised (after the commit of what caused it)';
COMMENT ON COLUMN witness.alert.rule IS 'the rule that raised it: mass_change, off_hours, new_client_address, capture_off, permission_escalation, verification_failed, denied_spike, mass_export, alert_rule_changed';
COMMENT ON COLUMN witness.alert.severity IS 'info, notice, warning, error or critical: the rule''s severity when it was raised';
COMMENT ON COLUMN witness.alert.summary IS 'one human-readable line: who did what to which table (names of roles and tables, never row values)';
COMMENT ON COLUMN witness.alert.detail IS 'what the rule saw: counts, threshold, entry or event ids, role, table';
COMMENT ON COLUMN witness.alert.cause IS 'what raised it, unique per rule: the same cause never raises a second alert';
COMMENT ON SEQUENCE witness.alert_alert_id_seq IS 'pg_witness alert ids';
SELECT witness._make_record_table('witness.alert', 'alert_id');

-- One row per call of witness.set_alert_rule(), captured into the trail: who changed which rule how.
CREATE TABLE witness.alert_rule (
	change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	rule text NOT NULL,
	enabled boolean NOT NULL,
	severity text NOT NULL,
	threshold bigint,
	params jsonb NOT NULL,
	set_by text NOT NULL,
	set_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.alert_rule IS 'pg_witness: one row per witness.set_alert_rule() call, the whole rule as it stands after it; the newest row of a rule is in force; each row is captured into the trail';
COMMENT ON COLUMN witness.alert_rule.rule IS 'the rule changed (witness.alert_rules lists them)';
COMMENT ON COLUMN witness.alert_rule.enabled IS 'whether the rule raises alerts';
COMMENT ON COLUMN witness.alert_rule.severity IS 'severity of the alerts it raises';
COMMENT ON COLUMN witness.alert_rule.threshold IS 'the count above which it raises (see docs/alerts.md per rule); NULL for rules without one';
COMMENT ON COLUMN witness.alert_rule.params IS 'further settings of the rule (off_hours: from, to, days, time_zone; mass_export: entries)';
COMMENT ON COLUMN witness.alert_rule.set_by IS 'the role that changed the rule (after SET ROLE)';
COMMENT ON COLUMN witness.alert_rule.set_at IS 'when';
COMMENT ON SEQUENCE witness.alert_rule_change_id_seq IS 'pg_witness alert rule change ids';
SELECT witness._make_record_table('witness.alert_rule', 'change_id');

-- Where evaluation stands, and what rules count across passes. Not captured (the chain holds every
-- entry they are computed from; a row per pass would seal a block per pass); written by
-- witness.check_alerts() alone (guard triggers), saved by pg_dump.
-- alert_state has one row, but a restore adds the dumped row to the one CREATE EXTENSION made: the
-- greatest counts, and the next evaluation leaves one row again.
CREATE TABLE witness.alert_state (
	last_block bigint NOT NULL,
	last_run bigint NOT NULL
);
COMMENT ON TABLE witness.alert_state IS 'pg_witness: the last block and verification run whose entries the alert rules have seen (the greatest, if a restore left two rows)';
COMMENT ON COLUMN witness.alert_state.last_block IS 'blocks up to this one were evaluated';
COMMENT ON COLUMN witness.alert_state.last_run IS 'witness.verification_run rows up to this run_id were evaluated';
CREATE TABLE witness.alert_counter (
	rule text NOT NULL,
	bucket text NOT NULL,
	count bigint NOT NULL,
	counted_at timestamptz NOT NULL,
	PRIMARY KEY (rule, bucket)
);
COMMENT ON TABLE witness.alert_counter IS 'pg_witness: counts of rules that add up over an hour or a day (denied_spike, mass_export: subjects and rows of the trail read); kept 8 days';
COMMENT ON COLUMN witness.alert_counter.rule IS 'the rule that counts';
COMMENT ON COLUMN witness.alert_counter.bucket IS 'what is counted: the hour, or the role and day';
COMMENT ON COLUMN witness.alert_counter.count IS 'how many so far';
COMMENT ON COLUMN witness.alert_counter.counted_at IS 'when the bucket last grew';
CREATE TABLE witness.alert_address (
	role_name text NOT NULL,
	client_addr text NOT NULL,
	first_seen timestamptz NOT NULL,
	PRIMARY KEY (role_name, client_addr)
);
COMMENT ON TABLE witness.alert_address IS 'pg_witness: the client addresses each role (the session user) was seen from, for the rule new_client_address';
COMMENT ON COLUMN witness.alert_address.role_name IS 'the session user of the entry (for a login: the role that logged in)';
COMMENT ON COLUMN witness.alert_address.client_addr IS 'the address, or local for a Unix-socket connection';
COMMENT ON COLUMN witness.alert_address.first_seen IS 'statement time of the first entry or login seen from it';
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['alert_state', 'alert_counter', 'alert_address'] LOOP
		EXECUTE format('REVOKE ALL ON witness.%I FROM PUBLIC', t);
		PERFORM pg_catalog.pg_extension_config_dump(format('witness.%I', t)::regclass, '');
		PERFORM witness._guard_kept_table(format('witness.%I', t)::regclass, true, 'witness.check_alerts()',
		                                  'The working state of the alert rules', 'Use witness.set_alert_rule() to change a rule.');
	END LOOP;
END
$$;
-- Alerts are about what happens from now on: an updated trail's past is not evaluated.
SELECT witness._begin_internal_ddl();
INSERT INTO witness.alert_state (last_block, last_run)
VALUES ((SELECT COALESCE(max(block_no), 0) FROM witness.block), (SELECT COALESCE(max(run_id), 0) FROM witness.verification_run));
SELECT witness._end_internal_ddl();

-- The rules, their defaults and what each threshold means (docs/alerts.md).
CREATE FUNCTION witness._alert_rule_defaults(OUT rule text, OUT enabled boolean, OUT severity text,
	OUT threshold bigint, OUT params jsonb, OUT description text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN PERFORM witness.access_check(); -- an expired auditor reads no rule (witness.alert_rules)
	RETURN QUERY VALUES ('mass_change', true, 'warning', 1000::bigint, '{}'::jsonb,
	        'more than threshold rows of one table updated or deleted by one transaction, or a TRUNCATE'),
	       ('off_hours', false, 'notice', NULL, '{"from": "08:00", "to": "18:00", "days": [1, 2, 3, 4, 5], "time_zone": "UTC"}',
	        'rows of tracked tables changed outside business hours (params: from, to, ISO days 1 = Monday, time_zone); once per role and day'),
	       ('new_client_address', true, 'warning', NULL, '{}',
	        'an actor (witness.actor, else the session user) changed rows or logged in from a client address never seen for it; its first address is learned silently'),
	       ('capture_off', true, 'error', NULL, '{}',
	        'a table untracked or dropped, rows that left a tracked table or cannot be captured, witness.record_activity, seal_interval, verify_interval or shared_preload_libraries changed, capture control activity (a capture or guard trigger, an event trigger or an object of pg_witness changed where pg_witness could not refuse it, a system catalog written directly)'),
	       ('permission_escalation', true, 'critical', NULL, '{}',
	        'a role given superuser, bypassrls, createrole or replication; membership in witness_admin, witness_auditor or a pg_ role granted; privileges granted on a tracked or pg_witness table'),
	       ('verification_failed', true, 'critical', 0, '{}',
	        'a recorded verification (scheduled, or witness.verify_and_checkpoint()) that found more than threshold problems, or a scheduled one that could not finish'),
	       ('denied_spike', true, 'warning', 20, '{}',
	        'more than threshold refused attempts (denied activity) and failed logins in one hour'),
	       ('mass_export', true, 'warning', 50, '{"entries": 100000}',
	        'more than threshold data subjects exported (witness.subject_export()), or more than params.entries rows of the trail read (witness.log, witness.entry, COPY), by one role in one day (UTC)'),
	       ('alert_rule_changed', true, 'notice', NULL, '{}',
	        'an alert rule was changed with witness.set_alert_rule(); cannot be disabled'),
	       ('evaluation_failed', true, 'error', NULL, '{}',
	        'blocks that the alert rules, or one of them, could not be evaluated over (entries too large to read, an entry a rule cannot read): named, then passed; cannot be disabled');
END
$$;
COMMENT ON FUNCTION witness._alert_rule_defaults() IS 'internal: every alert rule with its default setting and what it watches';
REVOKE ALL ON FUNCTION witness._alert_rule_defaults() FROM PUBLIC;

CREATE VIEW witness.alert_rules AS
SELECT d.rule, COALESCE(r.enabled, d.enabled) AS enabled, COALESCE(r.severity, d.severity) AS severity,
       CASE WHEN r.change_id IS NULL THEN d.threshold ELSE r.threshold END AS threshold,
       COALESCE(r.params, d.params) AS params, d.description, r.set_by, r.set_at, r.change_id
FROM witness._alert_rule_defaults() d
LEFT JOIN LATERAL (SELECT x.* FROM witness.alert_rule x WHERE x.rule OPERATOR(pg_catalog.=) d.rule
                   ORDER BY x.change_id DESC LIMIT 1) r ON true;
COMMENT ON VIEW witness.alert_rules IS 'every alert rule as in force: its default until witness.set_alert_rule() changed it, then its newest row of witness.alert_rule (who set it and when)';
REVOKE ALL ON witness.alert_rules FROM PUBLIC;

-- Rule changes and evaluations one at a time: an evaluation reads the rules once.
CREATE FUNCTION witness._alert_lock() RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT witness._take_mutex('alerts') $$;
COMMENT ON FUNCTION witness._alert_lock() IS 'internal: takes the lock (witness.mutex) under which alert rules change and alerts are evaluated';
REVOKE ALL ON FUNCTION witness._alert_lock() FROM PUBLIC;

CREATE FUNCTION witness.set_alert_rule(rule text, enabled boolean DEFAULT NULL, threshold bigint DEFAULT NULL,
	severity text DEFAULT NULL, params jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur witness.alert_rules;
	id bigint;
	p jsonb;
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	PERFORM witness._alert_lock();
	SELECT * INTO cur FROM witness.alert_rules r WHERE r.rule = set_alert_rule.rule;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown alert rule: %', COALESCE(quote_literal(set_alert_rule.rule), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'SELECT rule FROM witness.alert_rules lists them.';
	END IF;
	IF set_alert_rule.rule IN ('alert_rule_changed', 'evaluation_failed') AND enabled IS NOT NULL AND NOT enabled THEN
		RAISE EXCEPTION 'alert rule % cannot be disabled', set_alert_rule.rule
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = CASE WHEN set_alert_rule.rule = 'alert_rule_changed' THEN 'Every change of an alert rule raises an alert, so that switching a rule off is noticed.' ELSE 'Blocks the rules were not evaluated over must be named, or an attacker who can make an evaluation fail silences every rule.' END;
	END IF;
	IF severity IS NOT NULL AND NOT severity IN ('info', 'notice', 'warning', 'error', 'critical') THEN
		RAISE EXCEPTION 'invalid alert severity: %', quote_literal(severity)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Valid severities are: info, notice, warning, error, critical.';
	END IF;
	IF threshold IS NOT NULL AND (cur.threshold IS NULL OR threshold < 0) THEN
		RAISE EXCEPTION 'invalid threshold % for alert rule %', threshold, set_alert_rule.rule
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = CASE WHEN cur.threshold IS NULL THEN 'This rule has no threshold.' ELSE 'A threshold is a count, 0 or more.' END;
	END IF;
	IF params IS NOT NULL THEN
		IF set_alert_rule.rule NOT IN ('off_hours', 'mass_export') OR jsonb_typeof(params) <> 'object'
		   OR EXISTS (SELECT FROM jsonb_object_keys(params) k
		              WHERE k <> ALL (CASE WHEN set_alert_rule.rule = 'off_hours' THEN ARRAY['from', 'to', 'days', 'time_zone'] ELSE ARRAY['entries'] END)) THEN
			RAISE EXCEPTION 'invalid params for alert rule %: %', set_alert_rule.rule, params
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'off_hours takes from, to (HH:MM), days (ISO day numbers, 1 = Monday) and time_zone; mass_export takes entries.';
		END IF;
	END IF;
	p := cur.params || COALESCE(params, '{}');
	IF params IS NOT NULL THEN
		BEGIN
			IF set_alert_rule.rule = 'off_hours' THEN
				-- Each part is checked, not only parsed (a robustness review got days 0, 8 and -1 and a zone
				-- 99 hours off accepted, and an alert for every change). No day at all is allowed: every
				-- hour is then outside business hours. from = to, from 24:00 and a day twice are refused (a review).
				IF (p ->> 'from')::time IS NULL OR (p ->> 'to')::time IS NULL OR (p ->> 'from')::time >= '24:00' OR (p ->> 'from')::time = (p ->> 'to')::time
				   OR abs(extract(epoch FROM (now() AT TIME ZONE (p ->> 'time_zone')) - (now() AT TIME ZONE 'UTC'))) > 15 * 3600
				   OR jsonb_typeof(p -> 'days') IS DISTINCT FROM 'array'
				   OR NOT (SELECT bool_and(jsonb_typeof(d) = 'number' AND d::text::int BETWEEN 1 AND 7) AND count(DISTINCT d) = count(*) FROM jsonb_array_elements(p -> 'days') d) THEN
					RAISE EXCEPTION 'invalid';
				END IF;
			ELSIF (p ->> 'entries')::bigint IS NULL OR (p ->> 'entries')::bigint < 0 THEN
				RAISE EXCEPTION 'negative';
			END IF;
		EXCEPTION WHEN others THEN
			RAISE EXCEPTION 'invalid params for alert rule %: %', set_alert_rule.rule, params
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'For example {"from": "08:00", "to": "18:00", "days": [1, 2, 3, 4, 5], "time_zone": "Europe/Berlin"}, or {"entries": 100000}.';
		END;
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.alert_rule (rule, enabled, severity, threshold, params, set_by)
	VALUES (set_alert_rule.rule, COALESCE(enabled, cur.enabled), COALESCE(severity, cur.severity),
	        COALESCE(threshold, cur.threshold), p, witness._outer_user())
	RETURNING change_id INTO id;
	PERFORM witness._end_internal_ddl();
	RETURN id;
END
$$;
COMMENT ON FUNCTION witness.set_alert_rule(text, boolean, bigint, text, jsonb) IS 'changes an alert rule (arguments left NULL keep their value); recorded in witness.alert_rule, and so in the trail, and raises an alert_rule_changed alert; returns the change id';

-- Raises one alert unless its rule already raised one for this cause: a row of witness.alert (so an
-- entry of the chain) and a NOTIFY witness_alert, sent when the transaction commits.
CREATE FUNCTION witness._raise_alert(r witness.alert_rules, cause text, summary text, detail jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF NOT r.enabled OR EXISTS (SELECT FROM witness.alert a WHERE a.rule = r.rule AND a.cause = _raise_alert.cause) THEN
		RETURN NULL;
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.alert (rule, severity, summary, detail, cause)
	VALUES (r.rule, r.severity, summary, COALESCE(detail, '{}'), cause)
	RETURNING alert_id INTO id;
	PERFORM witness._end_internal_ddl();
	PERFORM pg_notify('witness_alert', jsonb_build_object('alert_id', id, 'rule', r.rule, 'severity', r.severity,
	                                                      'summary', left(summary, 4000))::text);
	RETURN id;
END
$$;
COMMENT ON FUNCTION witness._raise_alert(witness.alert_rules, text, text, jsonb) IS 'internal: records an alert and notifies witness_alert, once per rule and cause';
REVOKE ALL ON FUNCTION witness._raise_alert(witness.alert_rules, text, text, jsonb) FROM PUBLIC;

-- Adds n to a counter and returns the new count.
CREATE FUNCTION witness._alert_count(rule text, bucket text, n bigint) RETURNS bigint
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO witness.alert_counter AS c (rule, bucket, count, counted_at) VALUES (rule, bucket, n, clock_timestamp())
	ON CONFLICT ON CONSTRAINT alert_counter_pkey DO UPDATE SET count = c.count + excluded.count, counted_at = excluded.counted_at
	RETURNING count
$$;
COMMENT ON FUNCTION witness._alert_count(text, text, bigint) IS 'internal: adds to a counter of witness.alert_counter, returns the new count';
REVOKE ALL ON FUNCTION witness._alert_count(text, text, bigint) FROM PUBLIC;

-- What the alert rules read of an entry of a user table: who, where, when and which row operation,
-- never its values.
CREATE TYPE witness._alert_entry AS (
	id bigint,
	xid xid8,
	schema_name text,
	table_name text,
	op "char",
	current_user_name text,
	session_user_name text,
	actor text,
	client_addr inet,
	stmt_time timestamptz
);
COMMENT ON TYPE witness._alert_entry IS 'internal: the columns of an entry of a user table that the alert rules read';

-- A value of one of pg_witness's own entries as the alert rules read it: a value over 2 kB with each
-- string cut to 1,000 characters and each array to 100 elements, six levels deep (a setting change's detail nests its values four deep). A statement
-- text (witness.ddl_event, witness.activity) is the client's whole query string, and a setting's
-- value is any text: an attack sent five ALTER TABLE commands in one query of 220 MB, the window's
-- own entries passed 1 GB, and no rule was evaluated again. No rule reads a long text or array. Cut as
-- json, never as jsonb, whose strings end at 256 MB (the review of the fix sent one of 280 MB); and
-- from 2 kB on, so that a window of 131,072 entries stays far below 1 GB.
CREATE FUNCTION witness._alert_trim(v json, depth integer) RETURNS json
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN depth <= 0 OR v IS NULL THEN v
	            WHEN json_typeof(v) = 'string' AND length(v #>> '{}') > 1000 THEN to_json(left(v #>> '{}', 1000) || '…')
	            WHEN json_typeof(v) = 'array' THEN (SELECT COALESCE(json_agg(witness._alert_trim(a.e, depth - 1) ORDER BY a.i), '[]')
	                                                FROM json_array_elements(v) WITH ORDINALITY a(e, i) WHERE a.i <= 100)
	            WHEN json_typeof(v) = 'object' THEN (SELECT COALESCE(json_object_agg(o.key, witness._alert_trim(o.value, depth - 1)), '{}')
	                                                 FROM json_each(v) o)
	            ELSE v END
$$;
COMMENT ON FUNCTION witness._alert_trim(json, integer) IS 'internal: a value with strings cut to 1,000 characters and arrays to 100 elements, depth levels deep, as the alert rules read a large value';
REVOKE ALL ON FUNCTION witness._alert_trim(json, integer) FROM PUBLIC;

CREATE FUNCTION witness._alert_own(e witness.entry) RETURNS witness.entry
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF octet_length(e.new_values::text) > 2048 THEN
		e.new_values := witness._alert_trim(e.new_values, 6);
	END IF;
	IF octet_length(e.old_values::text) > 2048 THEN
		e.old_values := witness._alert_trim(e.old_values, 6);
	END IF;
	RETURN e;
END
$$;
COMMENT ON FUNCTION witness._alert_own(witness.entry) IS 'internal: one of pg_witness''s own entries as the alert rules read it, its values over 2 kB trimmed (witness._alert_trim())';
REVOKE ALL ON FUNCTION witness._alert_own(witness.entry) FROM PUBLIC;

-- The members of block b with ids from from_id to to_id (NULL: no bound) for the alert rules
-- (witness._member_entries()), read in one scan: pg_witness's own entries (schema witness, few) whole
-- in own, every other entry as its witness._alert_entry columns only in entry (own NULL). Reading
-- whole rows of every entry into arrays cost the sealer more than capture itself
-- (docs/performance.md). Planned without sequential scans and JIT, as witness._maintain_lookup() is.
CREATE FUNCTION witness._alert_members(b witness.block, from_id bigint, to_id bigint, OUT entry witness._alert_entry,
                                       OUT own witness.entry) RETURNS SETOF record
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
DECLARE
	prev_snapshot pg_snapshot := witness._previous_snapshot(b.block_no); -- NULL at an era's first block
BEGIN
	IF b.entry_count = 0 THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT CASE WHEN m.schema_name <> 'witness'
	            THEN ROW(m.id, m.xid, m.schema_name, m.table_name, m.op, m.current_user_name, m.session_user_name,
	                     m.actor, m.client_addr, m.stmt_time)::witness._alert_entry END,
	       CASE WHEN m.schema_name = 'witness' THEN witness._alert_own(m) END
	FROM witness._member_entries(b, prev_snapshot, COALESCE(from_id, b.first_entry_id), COALESCE(to_id, b.last_entry_id)) m
	-- Of pg_witness's own entries, those a rule reads, and no others: a review renamed a table 4,200
	-- times in one transaction, each rename's witness.tracked_table entry carried the table's former
	-- names, the window's own entries passed 1 GB, and no rule was evaluated again.
	WHERE m.schema_name <> 'witness'
	   OR (m.table_name IN ('ddl_event', 'activity', 'alert_rule', 'subject_access') AND m.op = 'I')
	   OR (m.table_name = 'tracked_table' AND m.op = 'D');
END
$$;
COMMENT ON FUNCTION witness._alert_members(witness.block, bigint, bigint) IS 'internal: the entries of a block with ids in a range (NULL: unbounded) the alert rules read: pg_witness''s own whole, the others by the columns of witness._alert_entry';
REVOKE ALL ON FUNCTION witness._alert_members(witness.block, bigint, bigint) FROM PUBLIC;

-- The windows the alert rules read the blocks after after_block up to to_block in, each of at most
-- about window_entries entries, so that the rules' arrays stay bounded however large a block is (a
-- bulk statement of a hundred million rows, or months of changes sealed at once): runs of whole
-- blocks (from_id and to_id NULL), and a block of more entries cut into slices of consecutive ids
-- (sliced): at the first ids of its witness.block_chunk rows (chunks of members in id order), or,
-- without chunk rows, every window_entries ids. Always at least one window, empty when there are
-- no blocks, so that the rules that read no entries run.
CREATE FUNCTION witness._alert_windows(after_block bigint, to_block bigint, window_entries bigint,
                                       OUT first_block bigint, OUT last_block bigint, OUT from_id bigint,
                                       OUT to_id bigint, OUT sliced boolean) RETURNS SETOF record
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b record;
	run_entries bigint := 0;
	cut bigint;
	returned boolean := false;
BEGIN
	-- A window of no entries would never advance (a robustness review's call looped until cancelled).
	IF window_entries IS NULL OR window_entries < 1 THEN
		RAISE EXCEPTION 'window_entries must be at least 1, not %', coalesce(window_entries::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	sliced := false;
	FOR b IN SELECT x.block_no, x.entry_count, x.first_entry_id, x.last_entry_id FROM witness.block x
	         WHERE x.block_no > after_block AND x.block_no <= to_block ORDER BY x.block_no LOOP
		IF first_block IS NOT NULL AND (b.entry_count > window_entries OR run_entries + b.entry_count > window_entries) THEN
			RETURN NEXT; -- the run of whole blocks so far
			returned := true;
			first_block := NULL;
			run_entries := 0;
		END IF;
		IF b.entry_count <= window_entries OR b.first_entry_id IS NULL THEN
			first_block := COALESCE(first_block, b.block_no);
			last_block := b.block_no;
			run_entries := run_entries + b.entry_count;
			CONTINUE;
		END IF;
		first_block := b.block_no;
		last_block := b.block_no;
		sliced := true;
		from_id := b.first_entry_id;
		FOR cut IN SELECT c.first_entry_id FROM witness.block_chunk c
		           WHERE c.block_no = b.block_no AND c.chunk_size > 0
		             AND c.chunk_no % GREATEST(window_entries / c.chunk_size, 1) = 0
		           ORDER BY c.chunk_no LOOP
			CONTINUE WHEN cut <= from_id OR cut > b.last_entry_id;
			to_id := cut - 1;
			RETURN NEXT;
			from_id := cut;
		END LOOP;
		IF from_id = b.first_entry_id THEN -- no chunk rows: slices of window_entries ids
			WHILE from_id <= b.last_entry_id - window_entries LOOP
				to_id := from_id + window_entries - 1;
				RETURN NEXT;
				from_id := from_id + window_entries;
			END LOOP;
		END IF;
		to_id := b.last_entry_id;
		RETURN NEXT;
		returned := true;
		first_block := NULL;
		from_id := NULL;
		to_id := NULL;
		sliced := false;
	END LOOP;
	IF first_block IS NOT NULL OR NOT returned THEN
		first_block := COALESCE(first_block, after_block + 1);
		last_block := COALESCE(last_block, after_block);
		RETURN NEXT;
	END IF;
END
$$;
COMMENT ON FUNCTION witness._alert_windows(bigint, bigint, bigint) IS 'internal: the windows of at most about window_entries entries that witness.check_alerts() reads the new blocks in: runs of whole blocks, and slices of consecutive ids of a larger block';
REVOKE ALL ON FUNCTION witness._alert_windows(bigint, bigint, bigint) FROM PUBLIC;

-- The rules that count per transaction (mass_change) need all of a transaction's entries at once,
-- and a slice of a block may hold part of them: for a sliced block they read the whole block in one
-- query instead, streamed into their GROUP BY (which spills past work_mem), once, at its first slice.
-- Other windows: nothing.
CREATE FUNCTION witness._alert_block_once(sliced boolean, block_no bigint, from_id bigint, OUT entry witness._alert_entry,
                                           OUT own witness.entry) RETURNS SETOF record
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.entry, m.own FROM witness.block b CROSS JOIN LATERAL witness._alert_members(b, NULL, NULL) m
	WHERE sliced AND b.block_no = _alert_block_once.block_no AND b.first_entry_id = from_id
$$;
COMMENT ON FUNCTION witness._alert_block_once(boolean, bigint, bigint) IS 'internal: all the entries of a block cut into slices, for the alert rules that count per transaction, at its first slice; nothing for other windows';
REVOKE ALL ON FUNCTION witness._alert_block_once(boolean, bigint, bigint) FROM PUBLIC;

-- A window of blocks, or one rule over it, that could not be evaluated: a WARNING and an
-- evaluation_failed alert naming the blocks, and the evaluation goes on past them. Before, a window
-- that failed as a whole was read again at every pass and failed again: an attack made its own
-- entries pass 1 GB, and no rule raised anything from then on. A rule that failed was only a WARNING.
CREATE FUNCTION witness._alert_failed(rules jsonb, first_block bigint, last_block bigint, from_id bigint, to_id bigint,
                                      rule text, state text, message text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rl witness.alert_rules := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'evaluation_failed');
	what text := CASE WHEN rule IS NULL THEN 'the alert rules' ELSE 'alert rule ' || rule END;
	span text := format('blocks %s to %s', first_block, last_block)
	             || CASE WHEN from_id IS NULL THEN '' ELSE format(' (entries %s to %s)', from_id, to_id) END;
BEGIN
	RAISE WARNING 'pg_witness: % could not be evaluated over %: %', what, span, message;
	rl.rule := 'evaluation_failed';
	rl.enabled := true;
	rl.severity := COALESCE(rl.severity, 'error');
	PERFORM witness._raise_alert(rl, format('%s:%s:%s:%s', COALESCE(rule, '*'), first_block, last_block, COALESCE(from_id::text, '-')),
	        format('%s could not be evaluated over %s: %s (%s)', what, span, left(message, 500), state),
	        jsonb_build_object('rule', rule, 'first_block', first_block, 'last_block', last_block, 'from_id', from_id,
	                           'to_id', to_id, 'sqlstate', state, 'message', left(message, 2000)));
END
$$;
COMMENT ON FUNCTION witness._alert_failed(jsonb, bigint, bigint, bigint, bigint, text, text, text) IS 'internal: reports blocks the alert rules (rule NULL) or one rule could not be evaluated over, as a WARNING and an evaluation_failed alert';
REVOKE ALL ON FUNCTION witness._alert_failed(jsonb, bigint, bigint, bigint, bigint, text, text, text) FROM PUBLIC;

-- The evaluation: the entries of the blocks sealed since the last one (a transaction's entries are
-- all in one block, so each is seen once, after its commit), verification runs recorded since the
-- last, and the last scheduled verification's status. Returns the alerts raised. Called by the
-- sealer worker after each pass (src/pg/alerts/alert_pass.cpp) and on demand; does nothing in a
-- collector (its entries are the source's, evaluated there).
CREATE FUNCTION witness._check_alerts(window_entries bigint) RETURNS SETOF witness.alert
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	st witness.alert_state;
	to_block bigint;
	es witness.entry[];
	us witness._alert_entry[];
	rules jsonb;
	r record;
	rl witness.alert_rules;
	w record;
	n bigint;
	vs record;
	first_alert bigint := (SELECT COALESCE(max(alert_id), 0) FROM witness.alert);
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	IF EXISTS (SELECT FROM witness.collector) THEN
		RETURN;
	END IF;
	PERFORM witness._alert_lock();
	SELECT COALESCE(max(x.last_block), 0), COALESCE(max(x.last_run), 0) INTO st.last_block, st.last_run FROM witness.alert_state x;
	-- At most 1000 blocks a call: a long backlog is worked off pass by pass.
	SELECT max(b.block_no) INTO to_block FROM (SELECT block_no FROM witness.block WHERE block_no > st.last_block
	                                          ORDER BY block_no LIMIT 1000) b;
	to_block := COALESCE(to_block, st.last_block);
	SELECT jsonb_object_agg(x.rule, to_jsonb(x)) INTO rules FROM witness.alert_rules x;
	-- Window by window (witness._alert_windows()): every rule scans these rows, pg_witness's own
	-- entries (es) whole, the others (us) by the columns the rules need, read once per window.
	FOR w IN SELECT * FROM witness._alert_windows(st.last_block, to_block, window_entries) LOOP
		us := NULL;
		es := NULL;
		BEGIN
			SELECT array_agg(m.entry) FILTER (WHERE (m.entry).id IS NOT NULL), array_agg(m.own ORDER BY (m.own).id) FILTER (WHERE (m.own).id IS NOT NULL)
			INTO us, es
			FROM witness.block b CROSS JOIN LATERAL witness._alert_members(b, w.from_id, w.to_id) m
			WHERE b.block_no >= w.first_block AND b.block_no <= w.last_block;
		EXCEPTION WHEN others THEN
			-- A failure that may pass (a lock, a deadlock, the server shutting down, a full disk) fails the
			-- pass, and the next one reads the window again; any other is named and passed.
			IF SQLSTATE LIKE '40%' OR SQLSTATE LIKE '57%' OR SQLSTATE IN ('55P03', '53100', '53300') THEN
				RAISE;
			END IF;
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, NULL, SQLSTATE, SQLERRM);
			CONTINUE;
		END;

		-- mass_change: updates and deletes of one table by one transaction; a TRUNCATE.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'mass_change');
			IF rl.enabled THEN
				-- One table under several names is one table: a table renamed or moved to another schema
				-- within the transaction has entries under each name (an attack review split a mass deletion
				-- in two so, and no alert was raised). Names are joined through the transaction's own
				-- "renamed" DDL events, which are in the same block: not through the catalog as it is at
				-- evaluation (the review of the first fix silenced it by giving the old name to another
				-- table, and merged two tables renamed after the transaction). A name another table takes
				-- within the same transaction joins the two: that errs on the side of alerting.
				-- A sliced block is read once for both: its entries and its rename events.
				FOR r IN WITH once AS MATERIALIZED (
				             SELECT m.entry, m.own FROM witness._alert_block_once(w.sliced, w.first_block, w.from_id) m
				         ), ch AS (
				             SELECT u.* FROM unnest(us) u WHERE NOT w.sliced
				             UNION ALL
				             SELECT (m.entry).* FROM once m WHERE (m.entry).id IS NOT NULL
				         ), ren AS (
				             SELECT o.xid, o.v -> 'detail' ->> 'old_name' AS a, o.v -> 'detail' ->> 'new_name' AS b
				             FROM (SELECT x.xid, x.new_values::jsonb AS v FROM unnest(es) x
				                   WHERE NOT w.sliced AND x.table_name = 'ddl_event' AND x.schema_name = 'witness' AND x.op = 'I'
				                   UNION ALL
				                   SELECT (m.own).xid, (m.own).new_values::jsonb FROM once m
				                   WHERE (m.own).table_name = 'ddl_event' AND (m.own).schema_name = 'witness' AND (m.own).op = 'I') o
				             WHERE o.v ->> 'action' = 'renamed'
						         ), many AS (
				             -- A transaction of over 100 renames counts all its tables as one (erring on the side of
				             -- alerting): the walk below grows with the square of its renames (the review of this rule).
				             SELECT g.xid FROM ren g GROUP BY g.xid HAVING count(*) > 100
				         ), edge AS (
				             SELECT g.xid, g.a, g.b FROM ren g WHERE g.xid NOT IN (SELECT y.xid FROM many y)
				             UNION SELECT g.xid, g.b, g.a FROM ren g WHERE g.xid NOT IN (SELECT y.xid FROM many y)
				         ), reach AS MATERIALIZED (
				             -- Every name joined to each renamed name (a walk over a transaction's few renames).
				             WITH RECURSIVE walk(xid, name, other) AS (
				                 SELECT g.xid, g.a, g.b FROM edge g
				                 UNION
				                 SELECT k.xid, k.name, g.b FROM walk k JOIN edge g ON g.xid = k.xid AND g.a = k.other
				             )
				             SELECT k.xid, k.name, least(k.name, min(k.other)) AS ident FROM walk k GROUP BY k.xid, k.name
				         ), per_name AS (
				             SELECT c.xid, c.schema_name, c.table_name, count(*) FILTER (WHERE c.op = 'U') AS updated,
				                    count(*) FILTER (WHERE c.op = 'D') AS deleted, bool_or(c.op = 'T') AS truncated,
				                    min(c.current_user_name) AS who, min(c.stmt_time) AS at, min(c.id) AS first_id, max(c.id) AS last_id
				             FROM ch c WHERE c.op IN ('U', 'D', 'T') AND c.schema_name <> 'witness'
				             GROUP BY c.xid, c.schema_name, c.table_name
				         ), named AS (
				             SELECT p.*, CASE WHEN p.xid IN (SELECT y.xid FROM many y) THEN 'every table of the transaction'
				                              ELSE COALESCE(k.ident, format('%I.%I', p.schema_name, p.table_name)) END AS ident
				             FROM per_name p LEFT JOIN reach k ON k.xid = p.xid AND k.name = format('%I.%I', p.schema_name, p.table_name)
				         )
				         SELECT p.xid, (array_agg(p.schema_name ORDER BY p.first_id))[1] AS schema_name, (array_agg(p.table_name ORDER BY p.first_id))[1] AS table_name,
				                array_agg(format('%I.%I', p.schema_name, p.table_name) ORDER BY p.first_id) AS names,
				                sum(p.updated) AS updated, sum(p.deleted) AS deleted, bool_or(p.truncated) AS truncated,
				                min(p.who) AS who, min(p.at) AS at, min(p.first_id) AS first_id, max(p.last_id) AS last_id
				         FROM named p
				         GROUP BY p.xid, p.ident
				         HAVING sum(p.updated + p.deleted) > rl.threshold OR bool_or(p.truncated)
				         ORDER BY min(p.first_id) LOOP
					-- A transaction id names one transaction within its era only: a trail restored into a cluster
					-- whose ids are behind (a new era) sees them again, and a mass change there under an id of
					-- the old cluster's was taken for the one alerted before (an attack review). Past the first
					-- era, the cause names the era by its first entry id.
					PERFORM witness._raise_alert(rl, format('%s%s:%s.%s', witness._era_cause_prefix(r.first_id), r.xid, r.schema_name, r.table_name),
					        CASE WHEN r.truncated THEN format('%s truncated %I.%I', r.who, r.schema_name, r.table_name)
					             ELSE format('%s changed %s rows of %I.%I%s in one transaction (%s updated, %s deleted; threshold %s)',
					                         r.who, r.updated + r.deleted, r.schema_name, r.table_name,
					                         CASE WHEN cardinality(r.names) > 1 THEN format(' (renamed within it: %s%s)', array_to_string(r.names[1:5], ', '),
					                                                                     CASE WHEN cardinality(r.names) > 5 THEN format(' and %s more', cardinality(r.names) - 5) ELSE '' END) ELSE '' END,
					                         r.updated, r.deleted, rl.threshold) END,
					        jsonb_build_object('xid', r.xid::text, 'table', format('%I.%I', r.schema_name, r.table_name), 'role', r.who,
					                           'updated', r.updated, 'deleted', r.deleted, 'truncated', r.truncated, 'threshold', rl.threshold,
					                           'stmt_time', r.at, 'first_entry_id', r.first_id, 'last_entry_id', r.last_id)
					        || CASE WHEN cardinality(r.names) > 1 THEN jsonb_build_object('names', to_jsonb(r.names[1:100])) ELSE '{}' END);
				END LOOP;
			END IF;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'mass_change', SQLSTATE, SQLERRM);
		END;
		-- ... and DDL that removed or rewrote a captured relation's rows without a row trigger firing: a
		-- partition or child dropped (with its tracked table, capture_off's), every row rewritten. One
		-- alert per transaction, tracked table and kind, above the threshold in estimated rows; rows the
		-- planner never counted (no ANALYZE yet) are unknown, and raise it too.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'mass_change');
			IF rl.enabled THEN
				FOR r IN SELECT e.xid, n.v ->> 'action' AS action,
				                COALESCE(n.v ->> 'tracked_table', n.v -> 'detail' ->> 'part_of', '?') AS tracked,
				                min(n.v ->> 'role_name') AS who, count(*) AS tables,
				                sum((n.v -> 'detail' ->> 'rows_estimate')::bigint) AS known_rows,
				                count(*) FILTER (WHERE n.v -> 'detail' ->> 'rows_estimate' IS NULL) AS uncounted,
				                (array_agg(format('%I.%I', n.v ->> 'schema_name', n.v ->> 'table_name') ORDER BY e.id))[1:5] AS names,
				                min(e.id) AS first_id, max(e.id) AS last_id
				         FROM (SELECT o.* FROM unnest(es) o WHERE NOT w.sliced
				               UNION ALL
				               SELECT (m.own).* FROM witness._alert_block_once(w.sliced, w.first_block, w.from_id) m WHERE (m.own).id IS NOT NULL) e
				         CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) n
				         WHERE e.schema_name = 'witness' AND e.table_name = 'ddl_event' AND e.op = 'I'
				           AND ((n.v ->> 'action' = 'dropped' AND n.v -> 'detail' ? 'part_of' AND NOT n.v -> 'detail' ? 'with_tracked_table')
				                OR n.v ->> 'action' = 'rewritten')
				         GROUP BY e.xid, 2, 3
				         HAVING count(*) FILTER (WHERE n.v -> 'detail' ->> 'rows_estimate' IS NULL) > 0
				             OR sum((n.v -> 'detail' ->> 'rows_estimate')::bigint) > rl.threshold
				         ORDER BY min(e.id) LOOP
					PERFORM witness._raise_alert(rl, format('%s%s:%s:%s', witness._era_cause_prefix(r.first_id), r.xid, r.action, r.tracked),
					        format('%s %s %s of tracked %s (%s%s): %s, with no row entries', r.who,
					               CASE WHEN r.action = 'dropped' THEN 'dropped' ELSE 'rewrote every row of' END,
					               CASE WHEN r.tables = 1 THEN '1 table' ELSE r.tables || ' tables' END, r.tracked,
					               array_to_string(r.names, ', '), CASE WHEN r.tables > 5 THEN format(' and %s more', r.tables - 5) ELSE '' END,
					               concat_ws(' and ', CASE WHEN r.tables > r.uncounted THEN format('about %s rows', COALESCE(r.known_rows, 0)) END,
					                         CASE WHEN r.uncounted > 0 THEN format('rows of %s not counted yet', CASE WHEN r.uncounted = 1 THEN '1 table' ELSE r.uncounted || ' tables' END) END)),
					        jsonb_build_object('xid', r.xid::text, 'action', r.action, 'tracked_table', r.tracked, 'role', r.who,
					                           'tables', r.tables, 'rows_estimate', r.known_rows, 'tables_not_counted', r.uncounted,
					                           'threshold', rl.threshold, 'first_entry_id', r.first_id, 'last_entry_id', r.last_id));
				END LOOP;
			END IF;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'mass_change', SQLSTATE, SQLERRM);
		END;

		-- off_hours: row changes of tracked tables outside the business hours, once per role and local day.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'off_hours');
			IF rl.enabled THEN
				FOR r IN SELECT e.current_user_name AS who, to_char(e.stmt_time AT TIME ZONE (rl.params ->> 'time_zone'), 'YYYY-MM-DD') AS day,
				                count(*) AS changes, min(e.stmt_time) AS first_at, min(e.id) AS first_id
				         FROM unnest(us) e
				         CROSS JOIN LATERAL (SELECT e.stmt_time AT TIME ZONE (rl.params ->> 'time_zone') AS t) l
				         WHERE e.schema_name <> 'witness'
				           AND NOT (extract(isodow FROM l.t)::int IN (SELECT d::int FROM jsonb_array_elements_text(rl.params -> 'days') d)
				                    AND l.t::time >= (rl.params ->> 'from')::time AND l.t::time < (rl.params ->> 'to')::time)
				         GROUP BY 1, 2 ORDER BY min(e.id) LOOP
					PERFORM witness._raise_alert(rl, format('%s:%s', r.who, r.day),
					        format('%s changed rows of tracked tables outside business hours on %s (%s changes seen first)', r.who, r.day, r.changes),
					        jsonb_build_object('role', r.who, 'day', r.day, 'changes', r.changes, 'first_stmt_time', r.first_at,
					                           'first_entry_id', r.first_id, 'business_hours', rl.params));
				END LOOP;
			END IF;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'off_hours', SQLSTATE, SQLERRM);
		END;

		-- new_client_address: row changes and logins, by session user (the role that authenticated:
		-- witness.actor is anyone's to set, and an attack review raised alerts naming another actor with
		-- it, and went unseen under a fresh actor name); the first address of a role is learned.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'new_client_address');
			PERFORM witness._begin_internal_ddl();
			FOR r IN SELECT s.role_name, s.addr, min(s.at) AS at, min(s.id) AS first_id,
			                (array_agg(s.actor ORDER BY s.id))[1] AS actor
			         FROM (SELECT e.session_user_name AS role_name, COALESCE(host(e.client_addr), 'local') AS addr,
			                      e.stmt_time AS at, e.id, e.actor
			               FROM unnest(us) e
			               UNION ALL
			               SELECT v ->> 'session_user_name', COALESCE(v ->> 'client_addr', 'local'),
			                      (v ->> 'happened_at')::timestamptz, e.id, NULL
			               FROM unnest(es) e CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) j
			               WHERE e.schema_name = 'witness' AND e.table_name = 'activity' AND e.op = 'I'
			                 AND v ->> 'kind' = 'login' AND v ->> 'outcome' = 'success') s
			         WHERE s.role_name IS NOT NULL
			         GROUP BY 1, 2 ORDER BY min(s.id) LOOP
				CONTINUE WHEN EXISTS (SELECT FROM witness.alert_address a WHERE a.role_name = r.role_name AND a.client_addr = r.addr);
				IF EXISTS (SELECT FROM witness.alert_address a WHERE a.role_name = r.role_name) THEN
					PERFORM witness._raise_alert(rl, format('%s@%s', r.role_name, r.addr),
					        format('role %s came from client address %s, never seen for it before', r.role_name, r.addr),
					        jsonb_build_object('role_name', r.role_name, 'actor', r.actor, 'client_addr', r.addr, 'at', r.at, 'first_entry_id', r.first_id,
					                           'known_addresses', (SELECT jsonb_agg(a.client_addr ORDER BY a.first_seen) FROM witness.alert_address a
					                                               WHERE a.role_name = r.role_name)));
				END IF;
				INSERT INTO witness.alert_address (role_name, client_addr, first_seen) VALUES (r.role_name, r.addr, r.at);
			END LOOP;
			PERFORM witness._end_internal_ddl();
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'new_client_address', SQLSTATE, SQLERRM);
		END;

		-- capture_off: tables untracked or dropped (their configuration row deleted), rows that left a
		-- tracked table or cannot be captured, changes of the settings that stop recording or sealing,
		-- and capture control activity: capture or guard triggers, pg_witness's event triggers or
		-- objects changed where pg_witness could not refuse it, system catalogs written directly.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'capture_off');
			IF rl.enabled THEN
				FOR r IN SELECT e.id, e.session_user_name AS who, e.table_name AS t, o.v AS old_row, n.v AS new_row
				         FROM unnest(es) e
				         CROSS JOIN LATERAL (SELECT e.old_values::jsonb AS v) o CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) n
				         WHERE e.schema_name = 'witness'
				           AND ((e.table_name = 'tracked_table' AND e.op = 'D')
				                OR (e.table_name = 'ddl_event' AND e.op = 'I'
				                    AND (n.v ->> 'action' IN ('left', 'uncaptured')
				                         OR (n.v ->> 'action' = 'setting changed'
				                             -- RESET ALL names no setting and resets them all (a review of the list).
				                             AND (n.v -> 'detail' ->> 'operation' = 'reset all' OR n.v -> 'detail' ->> 'setting' IN ('witness.record_activity', 'witness.seal_interval', 'witness.verify_interval', 'shared_preload_libraries',
				                                                                             'witness.full_verify_interval', 'witness.digest_interval', 'witness.digest_file', 'witness.hmac_key_file', 'witness.ed25519_key_file', 'session_replication_role')))))
				                OR (e.table_name = 'activity' AND e.op = 'I'
				                    AND (n.v ->> 'kind' = 'catalog write' OR (n.v ->> 'kind' = 'capture control' AND (n.v ->> 'message' NOT LIKE 'created%' OR n.v ->> 'object_name' LIKE 'a column of table %'))
				                         -- A restart that lost the queue: a record of capture switched
				                         -- off may have been in it (an attack review crashed the server
				                         -- right after, and nothing showed).
				                         OR (n.v ->> 'kind' = 'lost' AND n.v ->> 'message' LIKE 'events lost: the server restarted %'))))
				         ORDER BY e.id LOOP
					PERFORM witness._raise_alert(rl, format('entry:%s', r.id),
					        CASE WHEN r.t = 'activity' AND r.new_row ->> 'kind' = 'catalog write'
					             THEN format('%s wrote the system catalog %s directly (%s rows)', r.new_row ->> 'session_user_name',
					                         r.new_row ->> 'object_name', COALESCE(r.new_row ->> 'row_count', '?'))
					             WHEN r.t = 'activity' AND r.new_row ->> 'kind' = 'lost'
					             THEN format('the server restarted at %s without saving the activity queue: what was queued before, a switch of capture included, is not recorded',
					                         r.new_row ->> 'happened_at')
					             WHEN r.t = 'activity'
					             THEN format('%s changed %s outside pg_witness (%s)', r.new_row ->> 'session_user_name',
					                         r.new_row ->> 'object_name', r.new_row ->> 'message')
					             WHEN r.t = 'tracked_table'
					             THEN format('%s.%s is no longer tracked (untracked or dropped by %s)', quote_ident(COALESCE(r.old_row ->> 'schema_name', '?')), quote_ident(COALESCE(r.old_row ->> 'table_name', '?')), r.who)
					             WHEN r.new_row ->> 'action' = 'setting changed'
					             THEN format('%s changed %s (%s)', r.new_row ->> 'role_name', COALESCE(r.new_row -> 'detail' ->> 'setting', 'every setting (RESET ALL)'), r.new_row ->> 'command_tag')
					             ELSE format('rows of %s.%s are no longer captured (%s by %s)', quote_ident(COALESCE(r.new_row ->> 'schema_name', '?')), quote_ident(COALESCE(r.new_row ->> 'table_name', '?')),
					                         r.new_row ->> 'action', r.new_row ->> 'role_name') END,
					        jsonb_build_object('entry_id', r.id, 'role', CASE WHEN r.t = 'activity' THEN r.new_row ->> 'session_user_name' ELSE r.who END)
					        || CASE WHEN r.t = 'tracked_table' THEN jsonb_build_object('table', format('%s.%s', quote_ident(COALESCE(r.old_row ->> 'schema_name', '?')), quote_ident(COALESCE(r.old_row ->> 'table_name', '?'))))
					                WHEN r.t = 'activity' THEN jsonb_build_object('activity', r.new_row - 'statement')
					                ELSE jsonb_build_object('ddl_event', r.new_row - 'statement') END);
				END LOOP;
				-- A captured relation without its capture triggers exactly as pg_witness installs them
				-- (witness._sync_capture_triggers() makes them, at DDL only), however it came to be so:
				-- a restore without its post-data section makes none and runs no command that could be
				-- recorded (an attack review); one restored with a WHEN clause captures nothing (the
				-- review of the check). Once a day while it lasts.
				-- A partition's clone of its parent's is checked as any (a review disabled one).
				FOR r IN SELECT cw.relid, cw.root, string_agg(cw.tgname, ', ' ORDER BY cw.tgname) AS missing
				         FROM witness._wanted_capture_triggers() cw
				         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = cw.relid AND tg.tgname = cw.tgname
				                           AND witness._is_capture_trigger(tg))
				         GROUP BY cw.relid, cw.root ORDER BY cw.relid LOOP
					PERFORM witness._raise_alert(rl, format('no capture trigger:%s:%s', r.relid, current_date),
					        format('capture triggers missing or altered on %s (tracked as %s): %s; its changes are not captured',
					               r.relid::regclass, r.root::regclass, r.missing),
					        jsonb_build_object('table', r.relid::regclass::text, 'tracked_table', r.root::regclass::text, 'missing', r.missing));
				END LOOP;
			END IF;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'capture_off', SQLSTATE, SQLERRM);
		END;

		-- permission_escalation, from the permission events of witness.ddl_event.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'permission_escalation');
			IF rl.enabled THEN
				FOR r IN SELECT e.id, n.v AS ev,
				                ARRAY(SELECT p FROM unnest(ARRAY['superuser', 'bypassrls', 'createrole', 'replication']) p
				                      WHERE n.v -> 'detail' -> 'changes' -> p -> 'new' = 'true') AS given
				         FROM unnest(es) e CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) n
				         WHERE e.schema_name = 'witness' AND e.table_name = 'ddl_event' AND e.op = 'I'
				           AND n.v ->> 'action' IN ('role created', 'role altered', 'role renamed', 'membership granted', 'privileges granted')
				         ORDER BY e.id LOOP
					IF r.ev ->> 'action' LIKE 'role %' AND cardinality(r.given) > 0 THEN
						PERFORM witness._raise_alert(rl, format('ddl_event:%s', r.ev ->> 'event_id'),
						        format('%s gave role %s %s', r.ev ->> 'role_name', r.ev -> 'detail' ->> 'role', array_to_string(r.given, ', ')),
						        jsonb_build_object('ddl_event', r.ev - 'statement', 'entry_id', r.id, 'given', to_jsonb(r.given)));
					ELSIF r.ev ->> 'action' = 'membership granted'
					      AND (r.ev -> 'detail' ->> 'role' IN ('witness_admin', 'witness_auditor') OR r.ev -> 'detail' ->> 'role' LIKE 'pg\_%') THEN
						PERFORM witness._raise_alert(rl, format('ddl_event:%s', r.ev ->> 'event_id'),
						        format('%s made %s a member of %s', r.ev ->> 'role_name', r.ev -> 'detail' ->> 'member', r.ev -> 'detail' ->> 'role'),
						        jsonb_build_object('ddl_event', r.ev - 'statement', 'entry_id', r.id));
					ELSIF r.ev ->> 'action' = 'privileges granted' AND r.ev ->> 'table_name' IS NOT NULL THEN
						PERFORM witness._raise_alert(rl, format('ddl_event:%s', r.ev ->> 'event_id'),
						        format('%s granted privileges on %s.%s to %s', r.ev ->> 'role_name', quote_ident(COALESCE(r.ev ->> 'schema_name', '?')), quote_ident(r.ev ->> 'table_name'),
						               (SELECT string_agg(g, ', ') FROM jsonb_array_elements_text(r.ev -> 'detail' -> 'grantees') g)),
						        jsonb_build_object('ddl_event', r.ev - 'statement', 'entry_id', r.id));
					END IF;
				END LOOP;
			END IF;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'permission_escalation', SQLSTATE, SQLERRM);
		END;

		-- verification_failed: recorded runs with problems; a scheduled run that could not finish.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'verification_failed');
			FOR r IN SELECT v.* FROM witness.verification_run v WHERE v.run_id > st.last_run ORDER BY v.run_id LOOP
				IF r.status <> 'valid' AND r.problems > rl.threshold THEN
					-- Once per finding: the runs after it that find the same raise nothing more.
					PERFORM witness._raise_alert(rl, format('%s:%s:%s', r.status, r.problems, md5(COALESCE(r.first_problem, ''))),
					        format('verification run %s found the trail %s: %s problem(s); the first: %s', r.run_id, r.status, r.problems,
					               COALESCE(r.first_problem, '')),
					        jsonb_build_object('run_id', r.run_id, 'status', r.status, 'problems', r.problems,
					                           'first_problem', r.first_problem, 'finished_at', r.finished_at, 'threshold', rl.threshold));
				END IF;
				st.last_run := r.run_id;
			END LOOP;
			SELECT * INTO vs FROM witness._verification_status();
			IF vs.last_status = 'error' THEN
				PERFORM witness._raise_alert(rl, format('error:%s', md5(COALESCE(vs.first_problem, ''))),
				        format('the scheduled verification started at %s UTC could not finish: %s',
				               to_char(vs.last_started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), COALESCE(vs.first_problem, '')),
				        jsonb_build_object('status', 'error', 'started_at', vs.last_started_at, 'error', vs.first_problem));
			END IF;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'verification_failed', SQLSTATE, SQLERRM);
		END;

		-- denied_spike: refused attempts and failed logins per hour of happened_at, added up over passes;
		-- once per hour and threshold (a threshold lowered within the hour can raise again).
		BEGIN
			PERFORM witness._begin_internal_ddl();
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'denied_spike');
			FOR r IN SELECT date_trunc('hour', (v ->> 'happened_at')::timestamptz, 'UTC') AS hour,
			                sum((v ->> 'statement_count')::bigint)::bigint AS n, count(DISTINCT v ->> 'session_user_name') AS roles
			         FROM unnest(es) e CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) j
			         WHERE e.schema_name = 'witness' AND e.table_name = 'activity' AND e.op = 'I'
			           AND (v ->> 'kind' = 'denied' OR (v ->> 'kind' = 'login' AND v ->> 'outcome' <> 'success'))
			         GROUP BY 1 ORDER BY 1 LOOP
				n := witness._alert_count('denied_spike', r.hour::text, r.n);
				IF rl.enabled AND n > rl.threshold THEN
					PERFORM witness._raise_alert(rl, format('hour:%s:above:%s', to_char(r.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":00Z"'), rl.threshold),
					        format('%s refused attempts and failed logins in the hour from %s UTC (threshold %s)', n,
					               to_char(r.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00'), rl.threshold),
					        jsonb_build_object('hour', r.hour, 'count', n, 'threshold', rl.threshold, 'roles_in_these_blocks', r.roles));
				END IF;
			END LOOP;
			PERFORM witness._end_internal_ddl();
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'denied_spike', SQLSTATE, SQLERRM);
		END;

		-- mass_export: subjects exported per role and UTC day, added up over passes (my_trail reads are a
		-- bound role reading its own subject: not counted).
		BEGIN
			PERFORM witness._begin_internal_ddl();
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'mass_export');
			FOR r IN SELECT v ->> 'role_name' AS who, to_char((v ->> 'accessed_at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n
			         FROM unnest(es) e CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) j
			         WHERE e.schema_name = 'witness' AND e.table_name = 'subject_access' AND e.op = 'I'
			           AND v ->> 'format' <> 'my_trail'
			         GROUP BY 1, 2 ORDER BY 2, 1 LOOP
				n := witness._alert_count('mass_export', format('%s:%s', r.who, r.day), r.n);
				IF rl.enabled AND n > rl.threshold THEN
					PERFORM witness._raise_alert(rl, format('%s:%s:above:%s', r.who, r.day, rl.threshold),
					        format('%s exported %s data subjects on %s (threshold %s)', r.who, n, r.day, rl.threshold),
					        jsonb_build_object('role', r.who, 'day', r.day, 'subjects', n, 'threshold', rl.threshold));
				END IF;
			END LOOP;
			-- Rows of the trail a role read (returned to it) in a day: witness.log, witness.entry, COPY TO.
			FOR r IN SELECT v ->> 'current_user_name' AS who, to_char((v ->> 'happened_at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
			                sum((v ->> 'row_count')::bigint)::bigint AS n
			         FROM unnest(es) e CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) j
			         WHERE e.schema_name = 'witness' AND e.table_name = 'activity' AND e.op = 'I'
			           AND v ->> 'kind' = 'trail read' AND v ->> 'outcome' = 'success' AND (v ->> 'row_count')::bigint > 0
			         GROUP BY 1, 2 ORDER BY 2, 1 LOOP
				n := witness._alert_count('mass_export', format('entries:%s:%s', r.who, r.day), r.n);
				IF rl.enabled AND n > (rl.params ->> 'entries')::bigint THEN
					PERFORM witness._raise_alert(rl, format('entries:%s:%s:above:%s', r.who, r.day, rl.params ->> 'entries'),
					        format('%s read %s rows of the trail on %s (threshold %s)', r.who, n, r.day, rl.params ->> 'entries'),
					        jsonb_build_object('role', r.who, 'day', r.day, 'rows', n, 'threshold', (rl.params ->> 'entries')::bigint));
				END IF;
			END LOOP;
			DELETE FROM witness.alert_counter c WHERE c.counted_at < clock_timestamp() - interval '8 days';
			PERFORM witness._end_internal_ddl();
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'mass_export', SQLSTATE, SQLERRM);
		END;

		-- alert_rule_changed: always raised.
		BEGIN
			rl := jsonb_populate_record(NULL::witness.alert_rules, rules -> 'alert_rule_changed');
			rl.enabled := true;
			FOR r IN SELECT e.id, n.v
			         FROM unnest(es) e CROSS JOIN LATERAL (SELECT e.new_values::jsonb AS v) n
			         WHERE e.schema_name = 'witness' AND e.table_name = 'alert_rule' AND e.op = 'I'
			         ORDER BY e.id LOOP
				PERFORM witness._raise_alert(rl, format('change:%s', r.v ->> 'change_id'),
				        format('%s set alert rule %s: %s, severity %s, threshold %s%s', r.v ->> 'set_by', r.v ->> 'rule',
				               CASE WHEN (r.v ->> 'enabled')::boolean THEN 'enabled' ELSE 'disabled' END, r.v ->> 'severity',
				               COALESCE(r.v ->> 'threshold', 'none'), CASE WHEN jsonb_typeof(r.v -> 'params') = 'object' AND r.v -> 'params' <> '{}' THEN ', params ' || (r.v -> 'params')::text ELSE '' END),
				        jsonb_build_object('alert_rule', r.v, 'entry_id', r.id));
			END LOOP;
		EXCEPTION WHEN others THEN
			PERFORM witness._alert_failed(rules, w.first_block, w.last_block, w.from_id, w.to_id, 'alert_rule_changed', SQLSTATE, SQLERRM);
		END;

	END LOOP;

	PERFORM witness._begin_internal_ddl();
	IF (SELECT count(*) <> 1 OR bool_or((x.last_block, x.last_run) IS DISTINCT FROM (to_block, st.last_run)) FROM witness.alert_state x) THEN
		DELETE FROM witness.alert_state;
		INSERT INTO witness.alert_state (last_block, last_run) VALUES (to_block, st.last_run);
	END IF;
	PERFORM witness._end_internal_ddl();
	RETURN QUERY SELECT a.* FROM witness.alert a WHERE a.alert_id > first_alert ORDER BY a.alert_id;
END
$$;
COMMENT ON FUNCTION witness._check_alerts(bigint) IS 'internal: witness.check_alerts() reading the new blocks in windows of at most about window_entries entries';
REVOKE ALL ON FUNCTION witness._check_alerts(bigint) FROM PUBLIC;

-- The evaluation in windows of 131,072 entries: about 20 MB of arrays at most.
CREATE FUNCTION witness.check_alerts() RETURNS SETOF witness.alert
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM witness._check_alerts(131072)
$$;
COMMENT ON FUNCTION witness.check_alerts() IS 'evaluates the alert rules over the blocks sealed and the verifications recorded since the last evaluation (the background sealer does it after each pass); returns the alerts raised, each recorded in witness.alert and sent with NOTIFY witness_alert';

-- The capture configuration in replica mode. witness.tracked_table's changes are entries of the chain
-- through its capture trigger, which fires on origin only: a restore loads configuration rows in
-- replica mode and must not record them a second time. An UPDATE or DELETE there would change how
-- tables are captured (a column excluded, a subject column dropped) with no entry: refused, but for
-- pg_witness under its internal mark (become_collector()). An INSERT in replica mode, which a
-- restore makes, is recorded as a catalog write (src/pg/activity/capture_control.cpp).
CREATE FUNCTION witness._config_replica_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF current_setting('session_replication_role') = 'replica' AND NOT witness._in_internal_ddl() THEN
		RAISE EXCEPTION 'cannot % witness.tracked_table while session_replication_role is replica', lower(TG_OP)
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Changes of the capture configuration are entries of the chain, and its capture trigger does not fire in replica mode.',
			      HINT = 'Call witness.track() or witness.untrack() with session_replication_role = origin.';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._config_replica_guard() IS 'internal: guard trigger of witness.tracked_table that refuses UPDATE and DELETE in replica mode, where its capture trigger does not fire';
REVOKE ALL ON FUNCTION witness._config_replica_guard() FROM PUBLIC;
CREATE TRIGGER witness_not_in_replica_mode BEFORE UPDATE OR DELETE ON witness.tracked_table
	FOR EACH STATEMENT EXECUTE FUNCTION witness._config_replica_guard();
ALTER TABLE witness.tracked_table ENABLE ALWAYS TRIGGER witness_not_in_replica_mode;
COMMENT ON TRIGGER witness_not_in_replica_mode ON witness.tracked_table IS 'pg_witness: no UPDATE or DELETE of the capture configuration in replica mode, where it would not be captured (docs/capture.md)';

-------------------------------------------------------------------------------
-- A comment on every column (what \d+ and BI tools show): those the earlier sections left without one
-------------------------------------------------------------------------------

COMMENT ON COLUMN witness.entry.id IS 'entry id, from witness.entry_id_seq: the order of capture, and the order of the leaves of a block';
COMMENT ON COLUMN witness.entry.backend_pid IS 'process id of the backend that made the change';
COMMENT ON COLUMN witness.entry.client_port IS 'client''s port of the session; NULL for a Unix-socket connection';
COMMENT ON COLUMN witness.entry.schema_name IS 'schema of the changed table at capture';
COMMENT ON COLUMN witness.entry.table_name IS 'name of the changed table at capture';
COMMENT ON COLUMN witness.entry.subject IS 'value of the table''s subject column (the data subject the row is about); NULL without one, for encrypted tables (sealed in sealed_payload) and once erased';
COMMENT ON COLUMN witness.entry.session_user_name IS 'the database user of the session (who logged in)';
COMMENT ON COLUMN witness.entry.current_user_name IS 'the role the change ran as (after SET ROLE, or inside a SECURITY DEFINER function)';
COMMENT ON COLUMN witness.entry.application_name IS 'application_name of the session';
COMMENT ON COLUMN witness.entry.client_addr IS 'client''s address of the session; NULL for a Unix-socket connection';
COMMENT ON COLUMN witness.entry.actor IS 'witness.actor as the application set it: its own user, in its words';
COMMENT ON COLUMN witness.entry.reason IS 'witness.reason as the application set it';

COMMENT ON COLUMN witness.log.id IS 'entry id (witness.entry.id): the order of capture';
COMMENT ON COLUMN witness.log.xid IS 'top-level transaction id of the change';
COMMENT ON COLUMN witness.log.stmt_time IS 'start time of the statement that made the change';
COMMENT ON COLUMN witness.log.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE';
COMMENT ON COLUMN witness.log.schema_name IS 'schema of the changed table at capture';
COMMENT ON COLUMN witness.log.table_name IS 'name of the changed table at capture';
COMMENT ON COLUMN witness.log.row_key IS 'key columns of the row; NULL for keyless tables, TRUNCATE, encrypted and erased entries; masked ("***") where the caller may not see classified values';
COMMENT ON COLUMN witness.log.subject IS 'the data subject the row is about; NULL without a subject column, for encrypted and erased entries; *** where masked';
COMMENT ON COLUMN witness.log.tags IS 'classification tags of the entry (pii, financial, confidential, restricted, internal)';
COMMENT ON COLUMN witness.log.old_values IS 'UPDATE: old values of the changed columns; DELETE: the old row; classified values masked for the caller';
COMMENT ON COLUMN witness.log.new_values IS 'UPDATE: new values of the changed columns; INSERT: the new row; classified values masked for the caller';
COMMENT ON COLUMN witness.log.session_user_name IS 'the database user of the session (who logged in)';
COMMENT ON COLUMN witness.log.current_user_name IS 'the role the change ran as (after SET ROLE, or inside a SECURITY DEFINER function)';
COMMENT ON COLUMN witness.log.application_name IS 'application_name of the session';
COMMENT ON COLUMN witness.log.client_addr IS 'client''s address; NULL for a Unix-socket connection';
COMMENT ON COLUMN witness.log.client_port IS 'client''s port; NULL for a Unix-socket connection';
COMMENT ON COLUMN witness.log.backend_pid IS 'process id of the backend that made the change';
COMMENT ON COLUMN witness.log.actor IS 'witness.actor as the application set it: its own user, in its words';
COMMENT ON COLUMN witness.log.reason IS 'witness.reason as the application set it';
COMMENT ON COLUMN witness.log.context IS 'witness.context as the application set it';
COMMENT ON COLUMN witness.log.leaf_hash IS 'the entry''s leaf hash (docs/hashing.md): what its block''s Merkle root covers';
COMMENT ON COLUMN witness.log.format IS 'canonical format the leaf hash was computed with: 1 (version 0.1) or 2 (docs/hashing.md)';
COMMENT ON COLUMN witness.log.erasure_id IS 'the erasure that emptied the entry''s payload (witness.erasure), NULL if none';

COMMENT ON COLUMN witness.tracked_table.relid IS 'the tracked table (the root of a partitioned table or of an inheritance tree)';
COMMENT ON COLUMN witness.tracked_table.classification IS 'tag of every entry of the table';
COMMENT ON COLUMN witness.tracked_table.column_tags IS 'extra tags of entries that hold a column: {"column": ["tag", ...]}';
COMMENT ON COLUMN witness.tracked_table.exclude_columns IS 'columns never written to the trail';
COMMENT ON COLUMN witness.tracked_table.subject_column IS 'the column naming the data subject a row is about; NULL: none';
COMMENT ON COLUMN witness.tracked_table.tracked_at IS 'when witness.track() last configured the table';
COMMENT ON COLUMN witness.tracked_table.tracked_by IS 'the session user that called witness.track()';

COMMENT ON COLUMN witness.tracked_tables.table_name IS 'the tracked table';
COMMENT ON COLUMN witness.tracked_tables.classification IS 'tag of every entry of the table';
COMMENT ON COLUMN witness.tracked_tables.column_tags IS 'extra tags of entries that hold a column: {"column": ["tag", ...]}';
COMMENT ON COLUMN witness.tracked_tables.exclude_columns IS 'columns never written to the trail';
COMMENT ON COLUMN witness.tracked_tables.subject_column IS 'the column naming the data subject a row is about; NULL: none';
COMMENT ON COLUMN witness.tracked_tables.key_columns IS 'the row key, fixed when the table was tracked';
COMMENT ON COLUMN witness.tracked_tables.key_is_primary_key IS 'true when the row key was taken from the primary key';
COMMENT ON COLUMN witness.tracked_tables.tracked_at IS 'when witness.track() last configured the table';
COMMENT ON COLUMN witness.tracked_tables.tracked_by IS 'the session user that called witness.track()';
COMMENT ON COLUMN witness.tracked_tables.encrypt IS 'whether the payloads of the table''s entries are stored encrypted';
COMMENT ON COLUMN witness.tracked_tables.capture_reads IS 'whether every statement that reads the table is recorded in witness.activity';

COMMENT ON COLUMN witness.block.block_no IS 'block number: 1, 2, 3, ... in the order of sealing';
COMMENT ON COLUMN witness.block.entry_count IS 'how many entries the block seals';
COMMENT ON COLUMN witness.block.first_entry_id IS 'smallest id among its entries; NULL for an empty block';
COMMENT ON COLUMN witness.block.last_entry_id IS 'largest id among its entries; NULL for an empty block';
COMMENT ON COLUMN witness.block.sealed_at IS 'when the sealer sealed it';
COMMENT ON COLUMN witness.block_chunk.block_no IS 'the block the chunk''s subtree root belongs to';
COMMENT ON COLUMN witness.pruned_leaf.block_no IS 'the block whose entries a retention run pruned';
COMMENT ON COLUMN witness.pruned_leaf.run_id IS 'the retention run that pruned them (witness.retention_run)';

COMMENT ON COLUMN witness.alert_rule.change_id IS 'id of this change of a rule; the newest per rule is in force';
COMMENT ON COLUMN witness.ddl_event.event_id IS 'id of the event';
COMMENT ON COLUMN witness.ddl_event.happened_at IS 'when the command ran';
COMMENT ON COLUMN witness.erasure.erasure_id IS 'id of the erasure, named by the erasure_id of the entries it emptied';
COMMENT ON COLUMN witness.key_rotation.rotation_id IS 'id of the event';
COMMENT ON COLUMN witness.legal_hold.hold_event_id IS 'id of the event; a hold is named by the id of its held row (witness.holds.hold_id)';
COMMENT ON COLUMN witness.retention_rule.rule_id IS 'id of this change of a rule; the newest per classification is in force';
COMMENT ON COLUMN witness.retention_run.run_id IS 'id of the retention run';
COMMENT ON COLUMN witness.subject_access.access_id IS 'id of the subject access request';
COMMENT ON COLUMN witness.subject_binding.binding_id IS 'id of the binding or unbinding';

COMMENT ON COLUMN witness.alert_rules.rule IS 'the rule (docs/alerts.md)';
COMMENT ON COLUMN witness.alert_rules.enabled IS 'whether the rule raises alerts';
COMMENT ON COLUMN witness.alert_rules.severity IS 'severity of the alerts it raises: info, notice, warning, error or critical';
COMMENT ON COLUMN witness.alert_rules.threshold IS 'the count above which it raises; NULL for rules without one';
COMMENT ON COLUMN witness.alert_rules.params IS 'further settings (off_hours: from, to, days, time_zone; mass_export: entries)';
COMMENT ON COLUMN witness.alert_rules.description IS 'what the rule watches';
COMMENT ON COLUMN witness.alert_rules.set_by IS 'the role that last changed the rule; NULL while it has its default';
COMMENT ON COLUMN witness.alert_rules.set_at IS 'when it was last changed; NULL while it has its default';
COMMENT ON COLUMN witness.alert_rules.change_id IS 'the witness.alert_rule row in force; NULL while the rule has its default';

COMMENT ON COLUMN witness.retention_rules.classification IS 'pii, financial, confidential, restricted, internal, or untagged';
COMMENT ON COLUMN witness.retention_rules.keep IS 'how long entries of the classification are kept after their statement time; NULL: forever';
COMMENT ON COLUMN witness.retention_rules.forever IS 'true when its entries are never pruned';
COMMENT ON COLUMN witness.retention_rules.set_by IS 'the role that set the rule in force; NULL when none was ever set';
COMMENT ON COLUMN witness.retention_rules.set_at IS 'when it was set';
COMMENT ON COLUMN witness.retention_rules.rule_id IS 'the witness.retention_rule row in force';
COMMENT ON COLUMN witness.retention_rules.archive IS 'whether expired entries are archived to a file before they are pruned';

COMMENT ON COLUMN witness.holds.hold_id IS 'the hold (the id of its held row in witness.legal_hold)';
COMMENT ON COLUMN witness.holds.name IS 'the hold''s name, unique among the holds in force';
COMMENT ON COLUMN witness.holds.in_force IS 'true until the hold is released';
COMMENT ON COLUMN witness.holds.reason IS 'why the hold was placed';
COMMENT ON COLUMN witness.holds.subject_scoped IS 'whether the hold is limited to one data subject (kept only as a salted digest)';
COMMENT ON COLUMN witness.holds.table_name IS 'the table the hold is limited to, schema-qualified; NULL: every table';
COMMENT ON COLUMN witness.holds.row_key IS 'the rows the hold is limited to (entries whose row key contains it); NULL: every row';
COMMENT ON COLUMN witness.holds.since IS 'the entries captured at or after this time; NULL: no lower bound';
COMMENT ON COLUMN witness.holds.until IS 'the entries captured before this time; NULL: no upper bound';
COMMENT ON COLUMN witness.holds.held_by IS 'the role that placed the hold';
COMMENT ON COLUMN witness.holds.held_at IS 'when it was placed';
COMMENT ON COLUMN witness.holds.release_reason IS 'why it was released; NULL while in force';
COMMENT ON COLUMN witness.holds.released_by IS 'the role that released it; NULL while in force';
COMMENT ON COLUMN witness.holds.released_at IS 'when it was released; NULL while in force';

COMMENT ON COLUMN witness.my_trail.entry_id IS 'the entry';
COMMENT ON COLUMN witness.my_trail."time" IS 'start time of the statement that made the change';
COMMENT ON COLUMN witness.my_trail.table_name IS 'the table, schema-qualified';
COMMENT ON COLUMN witness.my_trail.operation IS 'INSERT, UPDATE or DELETE';
COMMENT ON COLUMN witness.my_trail.row_key IS 'the row''s key';
COMMENT ON COLUMN witness.my_trail.changes IS 'array of {"field", "old", "new"} as the operation has them';
COMMENT ON COLUMN witness.my_trail.actor IS 'witness.actor as the application set it';
COMMENT ON COLUMN witness.my_trail.reason IS 'witness.reason as the application set it';
COMMENT ON COLUMN witness.my_trail.status IS 'sealed, pending or erased';
COMMENT ON COLUMN witness.my_trail.block_no IS 'the block it is sealed in; NULL while pending';
COMMENT ON COLUMN witness.my_trail.verified IS 'whether the entry is what the trail committed to';
COMMENT ON COLUMN witness.my_trail.problem IS 'why not, when verified is false';
COMMENT ON COLUMN witness.my_trail.erasure IS 'for an erased entry, {"erasure_id", "erased_at"}';
COMMENT ON COLUMN witness.my_trail.proof IS 'the entry''s inclusion proof (witness.prove()), when sealed';
COMMENT ON COLUMN witness.my_trail.subject IS 'which of the role''s subjects the entry is about';

COMMENT ON COLUMN witness.partitions.partition IS 'a partition of witness.entry';
COMMENT ON COLUMN witness.partitions.is_default IS 'true for the default partition (entries outside every monthly range)';
COMMENT ON COLUMN witness.partitions.range_start IS 'first stmt_time of its range (UTC month); NULL for the default partition';
COMMENT ON COLUMN witness.partitions.range_end IS 'end of its range (exclusive); NULL for the default partition';
COMMENT ON COLUMN witness.partitions.entries_estimate IS 'entries in it, as the planner''s statistics estimate them; NULL before the first ANALYZE';
COMMENT ON COLUMN witness.partitions.total_bytes IS 'its size on disk with its indexes and TOAST';

COMMENT ON TYPE witness._alert_entry IS 'internal: the columns of an entry the alert rules read (witness._alert_members())';
COMMENT ON COLUMN witness._alert_entry.id IS 'the entry';
COMMENT ON COLUMN witness._alert_entry.xid IS 'its transaction';
COMMENT ON COLUMN witness._alert_entry.schema_name IS 'schema of the changed table';
COMMENT ON COLUMN witness._alert_entry.table_name IS 'the changed table';
COMMENT ON COLUMN witness._alert_entry.op IS 'I, U, D or T';
COMMENT ON COLUMN witness._alert_entry.current_user_name IS 'the role the change ran as';
COMMENT ON COLUMN witness._alert_entry.session_user_name IS 'the database user of the session';
COMMENT ON COLUMN witness._alert_entry.actor IS 'witness.actor';
COMMENT ON COLUMN witness._alert_entry.client_addr IS 'client''s address';
COMMENT ON COLUMN witness._alert_entry.stmt_time IS 'start time of the statement';

-------------------------------------------------------------------------------
-- Who may see what (docs/access.md): the roles witness_admin, witness_auditor and witness_reader,
-- time-limited auditors (witness.grant_auditor()), masking of classified values, and the grants of
-- every function, view and table of schema witness
--
-- Keep this section last: it revokes from PUBLIC every function created before it and grants the
-- roles theirs, and makes prove() and verify_digest() SECURITY DEFINER; a function created or
-- replaced after it would miss both. New objects belong in the matrix of docs/access.md.
-------------------------------------------------------------------------------

-- Roles are cluster-wide: a second database reuses them, DROP EXTENSION leaves them. Any role with
-- CREATEROLE could have made one before a superuser installed pg_witness, with LOGIN and a password it
-- knows, or as a member of a role whose privileges it would then pass on: such a role is refused, and
-- so is one with an attribute (SUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB, REPLICATION) that SET ROLE
-- would hand to every member.
DO $$
DECLARE
	r record;
	n text;
	why text;
BEGIN
	FOREACH n IN ARRAY ARRAY['witness_admin', 'witness_auditor', 'witness_reader'] LOOP
		SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) n;
		IF NOT FOUND THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', n);
			EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', n, CASE n
				WHEN 'witness_admin' THEN 'pg_witness: tracks and untracks tables, erases subjects, grants time-limited auditors (docs/access.md)'
				WHEN 'witness_auditor' THEN 'pg_witness: verifies the trail, takes digests and proofs, exports, reads decrypted values (docs/access.md)'
				ELSE 'pg_witness: reads the views, with the values of classified columns masked (docs/access.md)' END);
			CONTINUE;
		END IF;
		why := pg_catalog.concat_ws(', ', CASE WHEN r.rolcanlogin THEN 'can log in' END,
		                            CASE WHEN r.rolsuper THEN 'is a superuser' END,
		                            CASE WHEN r.rolbypassrls THEN 'bypasses row-level security' END,
		                            CASE WHEN r.rolcreaterole THEN 'has CREATEROLE' END,
		                            CASE WHEN r.rolcreatedb THEN 'has CREATEDB' END,
		                            CASE WHEN r.rolreplication THEN 'has REPLICATION' END,
		                            CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.member OPERATOR(pg_catalog.=) r.oid)
		                                 THEN 'is a member of ' || (SELECT pg_catalog.string_agg(m.roleid::pg_catalog.regrole::text, ', ')
		                                                             FROM pg_catalog.pg_auth_members m WHERE m.member OPERATOR(pg_catalog.=) r.oid) END);
		IF why OPERATOR(pg_catalog.<>) '' THEN
			RAISE EXCEPTION 'role % exists already and %', n, why
				USING ERRCODE = 'insufficient_privilege',
				      DETAIL = 'pg_witness grants its privileges to the NOLOGIN roles witness_admin, witness_auditor and witness_reader; a role of that name made by someone else would pass them on.',
				      HINT = pg_catalog.format('Check who made role %s and why; drop it (or ALTER ROLE %s NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOREPLICATION and revoke its memberships), then try again.', n, n);
		END IF;
	END LOOP;
END
$$;

-- The single check every entry point makes (src/pg/common/access_check.cpp): C functions call it
-- directly, SQL functions and views through these.
CREATE FUNCTION witness.access_check() RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_access_check' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION witness.access_check() IS 'true, or error 42501 when the calling role is an auditor whose witness.grant_auditor() grant has expired; every pg_witness function and view calls it';
CREATE FUNCTION witness.entry_visible(stmt_time timestamptz) RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_entry_visible' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION witness.entry_visible(timestamptz) IS 'whether the calling role may see an entry captured at stmt_time: false outside the period of a period-restricted auditor; error 42501 once its grant expired';
-- An entry of witness.activity is captured when a drain writes it, after the event: a
-- period-restricted auditor sees it by the event's time (happened_at), as it sees the row in
-- witness.activity (src/pg/common/access_check.cpp). By capture time an attack review read, through
-- witness.log, a refused statement naming a social security number made just before its period began.
CREATE FUNCTION witness._activity_visible(schema_name text, table_name text, new_values json) RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_activity_visible' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION witness._activity_visible(text, text, json) IS 'internal: whether the calling role may see an entry of witness.activity by the time of its event (true for entries of other tables)';
CREATE FUNCTION witness.values_unmasked() RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_values_unmasked' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION witness.values_unmasked() IS 'whether the calling role sees the values of classified columns in the views unmasked: superusers, witness_admin and witness_auditor do, everyone else sees them masked';

-- The classification tags whose values witness_reader does not see: pii, financial, confidential and
-- restricted (bits 1, 2, 4, 8 of witness.entry.tags).
CREATE FUNCTION witness.masked_tags() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{pii,financial,confidential,restricted}'::pg_catalog.text[] $$;
COMMENT ON FUNCTION witness.masked_tags() IS 'the classification tags whose values the views mask for roles that are not auditors or admins';

-- The columns masked in entry id of table schema_name.table_name, once masking applies to it: those
-- tagged with a masked tag by the configuration that describes the entry (tracked under this name,
-- and the entry newer than names_since: its column names are the present ones). NULL (every column)
-- when no configuration describes it (the table renamed, replaced, untracked or dropped since, or a
-- configured column renamed or dropped) or the table itself is classified so; an empty array means
-- every column too. The subject column is masked with the tagged ones: witness.log masks the subject
-- of such an entry, and an attack review read it in clear beside "***" in an untagged subject column.
-- SECURITY DEFINER: the caller needs no access to witness.tracked_table.
CREATE FUNCTION witness._masked_columns(schema_name text, table_name text, id bigint) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN cardinality(m.cols) = 0 OR t.subject_column IS NULL THEN m.cols
                  ELSE m.cols || t.subject_column::text END
      FROM witness.tracked_table t,
           LATERAL (SELECT ARRAY(SELECT c.key FROM jsonb_each(t.column_tags) c WHERE c.value ?| witness.masked_tags()) AS cols) m
      WHERE t.schema_name = _masked_columns.schema_name AND t.table_name = _masked_columns.table_name
        AND t.names_since < _masked_columns.id AND NOT t.classification = ANY (witness.masked_tags()) $$;
COMMENT ON FUNCTION witness._masked_columns(text, text, bigint) IS 'internal: the columns witness.log masks in an entry that masking applies to (NULL or empty: every column), from the configuration that describes the entry';

-- Masks the values of classified columns in a row key or a set of values of entry id: those
-- witness._masked_columns() names, every value when it names none. Internal: called by witness.log,
-- once per masked value, as the reading role.
CREATE FUNCTION witness._masked_values(v jsonb, schema_name text, table_name text, id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text[];
BEGIN
	PERFORM witness.access_check();
	IF v IS NULL OR jsonb_typeof(v) <> 'object' THEN
		RETURN v;
	END IF;
	cols := witness._masked_columns(_masked_values.schema_name, _masked_values.table_name, _masked_values.id);
	RETURN COALESCE((SELECT jsonb_object_agg(x.key, CASE WHEN cardinality(cols) = 0 OR cols IS NULL OR x.key = ANY (cols)
	                                                      THEN '"***"'::jsonb ELSE x.value END)
	                 FROM jsonb_each(v) x), '{}');
END
$$;
COMMENT ON FUNCTION witness._masked_values(jsonb, text, text, bigint) IS 'internal: a row key or values of an entry with the values of classified columns replaced by "***", as witness_reader sees them in witness.log';

-- Whether a table's current configuration masks anything for a reader: the table classified so, or
-- one of its columns tagged so. An entry is masked when its own tags say so or when this says so of
-- its table now: an UPDATE that changed only unclassified columns still carries a classified row key
-- (or subject), and a column tagged after the entry was captured is masked in it too.
CREATE FUNCTION witness._config_masks(t witness.tracked_table) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT t.classification OPERATOR(pg_catalog.=) ANY (witness.masked_tags())
          OR EXISTS (SELECT FROM pg_catalog.jsonb_each(t.column_tags) c WHERE c.value OPERATOR(pg_catalog.?|) witness.masked_tags()) $$;
COMMENT ON FUNCTION witness._config_masks(witness.tracked_table) IS 'internal: whether a tracked table''s current configuration classifies the table, or one of its columns, with a tag witness.log masks';
-- ... and of the subject: whenever it masks anything of a table with a subject column. The subject
-- column is masked with the tagged columns (witness._masked_columns()), so the subject is too: a
-- review read the subject in clear beside its masked column, in an UPDATE that touched no tagged one.
CREATE FUNCTION witness._config_masks_subject(t witness.tracked_table) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT t.subject_column IS NOT NULL AND witness._config_masks(t) $$;
COMMENT ON FUNCTION witness._config_masks_subject(witness.tracked_table) IS 'internal: whether a tracked table''s current configuration masks its subject: it has a subject column and classifies the table, or one of its columns, with a tag witness.log masks';
-- Masking a configuration no longer has: when a table is untracked or dropped, or its configuration
-- stops describing older entries while it masked something (a classified column dropped or renamed,
-- track() again with fewer names), each of its names, present and former, keeps masking the entries
-- captured under it up to until_id. Else an entry captured before one of its columns was tagged would
-- show that column again once the tag is gone (found by a review: dropping every classified column).
-- One row per name and event; saved by pg_dump.
CREATE TABLE witness.retired_masking (
	schema_name text NOT NULL,
	table_name text NOT NULL,
	masks boolean NOT NULL,
	masks_subject boolean NOT NULL,
	until_id bigint NOT NULL,
	retired_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX retired_masking_name ON witness.retired_masking (schema_name, table_name);
REVOKE ALL ON witness.retired_masking FROM PUBLIC;
COMMENT ON TABLE witness.retired_masking IS 'pg_witness: names under which entries up to until_id stay masked although no configuration masks them any more (a table untracked or dropped, classified columns dropped or renamed): witness.log keeps masking them (docs/access.md)';
COMMENT ON COLUMN witness.retired_masking.schema_name IS 'schema of the table, then or before a rename';
COMMENT ON COLUMN witness.retired_masking.table_name IS 'name of the table, then or before a rename';
COMMENT ON COLUMN witness.retired_masking.masks IS 'whether the configuration masked values (witness._config_masks())';
COMMENT ON COLUMN witness.retired_masking.masks_subject IS 'whether the configuration masked the subject (witness._config_masks_subject())';
COMMENT ON COLUMN witness.retired_masking.until_id IS 'the last entry id the masking covers: entries after it are described by the configuration that followed, if any';
COMMENT ON COLUMN witness.retired_masking.retired_at IS 'when the configuration was removed or stopped describing older entries';
SELECT pg_catalog.pg_extension_config_dump('witness.retired_masking', '');
SELECT witness._guard_kept_table('witness.retired_masking', true, 'pg_witness''s configuration triggers', 'The masking of configurations no longer in force');

-- Every name a deleted configuration had (untracked, or its table dropped), when it had more than one:
-- a legal hold names a table by one of its names, and the entries filed under the others must stay
-- held once the configuration that linked them is gone (an attack review: a table renamed after a
-- hold, changed and dropped, lost every later entry to retention).
CREATE TABLE witness.retired_names (
	names jsonb NOT NULL,
	retired_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX retired_names_names ON witness.retired_names USING gin (names jsonb_path_ops);
REVOKE ALL ON witness.retired_names FROM PUBLIC;
COMMENT ON TABLE witness.retired_names IS 'pg_witness: every name, present and former, of a tracked table whose configuration was deleted (untracked or dropped), when it had more than one: legal holds on the table go on covering its entries under each of them (docs/retention.md)';
COMMENT ON COLUMN witness.retired_names.names IS 'the [schema, table] pairs of the configuration, as witness.tracked_table.former_names holds them, its last name included';
COMMENT ON COLUMN witness.retired_names.retired_at IS 'when the configuration was deleted';
SELECT pg_catalog.pg_extension_config_dump('witness.retired_names', '');
SELECT witness._guard_kept_table('witness.retired_names', true, 'pg_witness''s configuration triggers', 'The names of configurations no longer in force');

-- Keeps the masking of configuration cfg for the entries up to until_id under each of its names.
CREATE FUNCTION witness._keep_masking(cfg witness.tracked_table, until_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	masks boolean := witness._config_masks(cfg);
	masks_subject boolean := witness._config_masks_subject(cfg);
BEGIN
	IF masks OR masks_subject THEN
		PERFORM witness._begin_internal_ddl();
		INSERT INTO witness.retired_masking (schema_name, table_name, masks, masks_subject, until_id)
		SELECT n.s, n.t, masks, masks_subject, until_id
		FROM (SELECT cfg.schema_name AS s, cfg.table_name AS t
		      UNION SELECT f.value ->> 0, f.value ->> 1 FROM jsonb_array_elements(cfg.former_names) f) n
		WHERE n.s IS NOT NULL AND n.t IS NOT NULL;
		PERFORM witness._end_internal_ddl();
	END IF;
END
$$;
COMMENT ON FUNCTION witness._keep_masking(witness.tracked_table, bigint) IS 'internal: keeps a configuration''s masking in witness.retired_masking for the entries up to until_id under its names';
REVOKE ALL ON FUNCTION witness._keep_masking(witness.tracked_table, bigint) FROM PUBLIC;

-- Keeps a configuration's masking when its row leaves witness.tracked_table (untrack(), a dropped
-- table). Fires on origin only, as the delete it follows.
CREATE FUNCTION witness._retire_masking() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM witness._keep_masking(OLD, witness._last_entry_id());
	IF pg_catalog.jsonb_array_length(OLD.former_names) > 0 THEN
		PERFORM witness._begin_internal_ddl();
		INSERT INTO witness.retired_names (names)
		VALUES (OLD.former_names OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(OLD.schema_name, OLD.table_name)));
		PERFORM witness._end_internal_ddl();
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION witness._retire_masking() IS 'internal: trigger on witness.tracked_table: keeps the masking of a configuration that is deleted, in witness.retired_masking, and its names, in witness.retired_names';
REVOKE ALL ON FUNCTION witness._retire_masking() FROM PUBLIC;
CREATE TRIGGER witness_retire_masking AFTER DELETE ON witness.tracked_table
	FOR EACH ROW EXECUTE FUNCTION witness._retire_masking();
COMMENT ON TRIGGER witness_retire_masking ON witness.tracked_table IS 'pg_witness: keeps the masking of untracked and dropped tables (docs/access.md)';

-- Every set of names one table went by: a configuration's present name with its former ones, and
-- those of each configuration deleted since (witness.retired_names). A legal hold on a table covers
-- the entries filed under any name of its set (witness._hold_table_matches, witness._held_names).
CREATE VIEW witness._table_name_sets AS
SELECT t.former_names OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(t.schema_name, t.table_name)) AS names
FROM witness.tracked_table t
UNION ALL
SELECT r.names FROM witness.retired_names r;
REVOKE ALL ON witness._table_name_sets FROM PUBLIC;
COMMENT ON VIEW witness._table_name_sets IS 'internal: the names, present and former, of each tracked table and of each table whose configuration was deleted, one set per table, for legal holds';
COMMENT ON COLUMN witness._table_name_sets.names IS 'the [schema, table] pairs one table went by';

-- Every name a configuration may find entries under, its present one and its former ones, with whether
-- it masks values and the subject: an entry is masked when its own tags say so, when a configuration
-- that has or had its table's name does (a table renamed, or another one tracked under its old name),
-- or when witness.retired_masking keeps masking for its name and id.
CREATE VIEW witness._masking_names AS
SELECT n.schema_name, n.table_name, witness._config_masks(t) AS masks, witness._config_masks_subject(t) AS masks_subject
FROM witness.tracked_table t
CROSS JOIN LATERAL (SELECT t.schema_name, t.table_name
                    UNION ALL
                    SELECT f.value ->> 0, f.value ->> 1 FROM pg_catalog.jsonb_array_elements(t.former_names) f) n
WHERE n.schema_name IS NOT NULL AND n.table_name IS NOT NULL;
REVOKE ALL ON witness._masking_names FROM PUBLIC;
COMMENT ON VIEW witness._masking_names IS 'internal: every present and former name of a tracked table, with whether its configuration masks values (masks) and the subject (masks_subject) for witness.log';
COMMENT ON COLUMN witness._masking_names.schema_name IS 'schema of the table now or before a rename';
COMMENT ON COLUMN witness._masking_names.table_name IS 'name of the table now or before a rename';
COMMENT ON COLUMN witness._masking_names.masks IS 'witness._config_masks() of the configuration';
COMMENT ON COLUMN witness._masking_names.masks_subject IS 'witness._config_masks_subject() of the configuration';

-- For the one-line display text and the anonymised export, per entry: the same test by table name
-- (witness._masking_names, written so that the names are compared before any configuration is
-- evaluated: called per row).
CREATE FUNCTION witness._table_masked(schema_name text, table_name text, id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT witness.access_check()
          AND (EXISTS (SELECT FROM witness.tracked_table t
                       WHERE ((t.schema_name = _table_masked.schema_name AND t.table_name = _table_masked.table_name)
                              OR t.former_names @> jsonb_build_array(jsonb_build_array(_table_masked.schema_name, _table_masked.table_name)))
                         AND witness._config_masks(t))
               OR EXISTS (SELECT FROM witness.retired_masking r
                          WHERE r.schema_name = _table_masked.schema_name AND r.table_name = _table_masked.table_name
                            AND r.masks AND _table_masked.id <= r.until_id)) $$;
COMMENT ON FUNCTION witness._table_masked(text, text, bigint) IS 'internal: whether a table tracked under this name now or before a rename, or no longer tracked, is or was configured with a column or classification witness.log masks';

-- One row per grant and revocation of a time-limited auditor, captured into the chain: the record of
-- who granted what. The limits in force are the roles' security labels (SECURITY LABEL FOR
-- pg_witness), which hold in every database of the cluster as role memberships do.
CREATE TABLE witness.auditor_grant (
	grant_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	role_name text NOT NULL,
	event text NOT NULL CHECK (event IN ('granted', 'revoked')),
	until timestamptz,
	since timestamptz,
	till timestamptz,
	granted_by text NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.auditor_grant IS 'pg_witness: one row per witness.grant_auditor() and witness.revoke_auditor(); each row is captured into the trail';
COMMENT ON COLUMN witness.auditor_grant.role_name IS 'the role made an auditor, or no longer one';
COMMENT ON COLUMN witness.auditor_grant.event IS 'granted or revoked';
COMMENT ON COLUMN witness.auditor_grant.grant_id IS 'id of this grant or revocation';
COMMENT ON COLUMN witness.auditor_grant.until IS 'granted: the end of the role''s auditor access; from then on every pg_witness function and view refuses it';
COMMENT ON COLUMN witness.auditor_grant.since IS 'granted: the role sees only entries captured at or after this time (NULL: no lower bound)';
COMMENT ON COLUMN witness.auditor_grant.till IS 'granted: the role sees only entries captured before this time (NULL: no upper bound)';
COMMENT ON COLUMN witness.auditor_grant.granted_by IS 'the role that called witness.grant_auditor() or witness.revoke_auditor() (after SET ROLE)';
COMMENT ON COLUMN witness.auditor_grant.recorded_at IS 'when';
COMMENT ON SEQUENCE witness.auditor_grant_grant_id_seq IS 'pg_witness auditor grant ids';
SELECT witness._make_record_table('witness.auditor_grant', 'grant_id');

CREATE FUNCTION witness.grant_auditor(role regrole, until timestamptz, since timestamptz DEFAULT NULL,
                                      till timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_roles;
	id bigint;
BEGIN
	PERFORM witness.access_check();
	IF NOT pg_has_role(witness._outer_user(), 'witness_admin', 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to grant auditor access' USING ERRCODE = 'insufficient_privilege',
			HINT = 'Only superusers and members of witness_admin grant auditor access.';
	END IF;
	IF grant_auditor.role IS NULL OR grant_auditor.until IS NULL THEN
		RAISE EXCEPTION 'role and until must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO r FROM pg_roles x WHERE x.oid = grant_auditor.role;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role with OID % does not exist', grant_auditor.role::oid USING ERRCODE = 'undefined_object';
	END IF;
	IF r.rolsuper THEN
		RAISE EXCEPTION 'role % is a superuser', r.rolname USING ERRCODE = 'invalid_parameter_value',
			DETAIL = 'A superuser can read the whole trail whatever it is granted: a time limit would not bind it.';
	END IF;
	IF r.rolname IN ('witness_admin', 'witness_auditor', 'witness_reader') OR r.rolname LIKE 'pg\_%' THEN
		RAISE EXCEPTION 'cannot make role % an auditor', r.rolname USING ERRCODE = 'invalid_parameter_value',
			DETAIL = 'It is one of pg_witness''s or PostgreSQL''s own roles.';
	END IF;
	-- Separation of duties: whoever manages pg_witness does not also read decrypted values, and does
	-- not hand itself what it grants others.
	IF NOT (SELECT x.rolsuper FROM pg_roles x WHERE x.rolname = witness._outer_user())
	   AND pg_has_role(witness._outer_user(), grant_auditor.role, 'MEMBER') THEN
		RAISE EXCEPTION 'cannot make yourself an auditor' USING ERRCODE = 'insufficient_privilege',
			DETAIL = format('You are role %s or a member of it.', r.rolname);
	END IF;
	IF pg_has_role(grant_auditor.role, 'witness_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'role % is a member of witness_admin', r.rolname USING ERRCODE = 'insufficient_privilege',
			DETAIL = 'An admin changes what is captured and who audits; it is not also an auditor (docs/access.md).';
	END IF;
	IF grant_auditor.until <= statement_timestamp() THEN
		RAISE EXCEPTION 'until must lie in the future' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('It is %s.', grant_auditor.until);
	END IF;
	-- The limits are kept in the role's security label as UTC text of years 1 to 9999 (witness._utc):
	-- 'infinity' had no text there, and a year BC lost its era, so that the auditor saw another period
	-- than the one recorded (a robustness review).
	IF NOT (SELECT bool_and(t IS NULL OR t BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00')
	        FROM unnest(ARRAY[grant_auditor.until, grant_auditor.since, grant_auditor.till]) t) THEN
		RAISE EXCEPTION 'until, since and till must lie between the years 1 and 9999' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Leave since or till NULL for a period open on that side; a grant always ends (until).';
	END IF;
	IF grant_auditor.since >= grant_auditor.till THEN
		RAISE EXCEPTION 'since must lie before till' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = 'The auditor sees the entries captured in [since, till).';
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.auditor_grant (role_name, event, until, since, till, granted_by)
	VALUES (r.rolname, 'granted', grant_auditor.until, grant_auditor.since, grant_auditor.till, witness._outer_user())
	RETURNING grant_id INTO id;
	-- The limits the check enforces: a label on the role, which like its membership of witness_auditor
	-- holds in every database of the cluster (src/pg/common/access_check.cpp).
	EXECUTE format('SECURITY LABEL FOR pg_witness ON ROLE %I IS %L', r.rolname,
	               format('until=%s since=%s till=%s', witness._utc(grant_auditor.until),
	                      COALESCE(witness._utc(grant_auditor.since), '-'), COALESCE(witness._utc(grant_auditor.till), '-')));
	PERFORM witness._end_internal_ddl();
	EXECUTE format('GRANT witness_auditor TO %I', r.rolname);
	RETURN id;
END
$$;
COMMENT ON FUNCTION witness.grant_auditor(regrole, timestamptz, timestamptz, timestamptz) IS 'makes a role an auditor (grants it witness_auditor) until a time, optionally seeing only the entries captured in [since, till); recorded in witness.auditor_grant and so in the trail; after until every pg_witness function and view refuses the role';

CREATE FUNCTION witness.revoke_auditor(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text;
BEGIN
	PERFORM witness.access_check();
	IF NOT pg_has_role(witness._outer_user(), 'witness_admin', 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to revoke auditor access' USING ERRCODE = 'insufficient_privilege',
			HINT = 'Only superusers and members of witness_admin revoke auditor access.';
	END IF;
	IF revoke_auditor.role IS NULL THEN
		RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT rolname INTO name FROM pg_roles WHERE oid = revoke_auditor.role;
	IF NOT EXISTS (SELECT FROM pg_auth_members m WHERE m.member = revoke_auditor.role AND m.roleid = 'witness_auditor'::regrole)
	   AND NOT EXISTS (SELECT FROM pg_shseclabel l WHERE l.objoid = revoke_auditor.role AND l.classoid = 'pg_authid'::regclass
	                   AND l.provider = 'pg_witness') THEN
		RAISE EXCEPTION '%', CASE WHEN name IS NULL THEN format('role with OID %s does not exist', revoke_auditor.role::oid) ELSE format('role %s is not an auditor', name) END USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.auditor_grant (role_name, event, granted_by) VALUES (name, 'revoked', witness._outer_user());
	EXECUTE format('SECURITY LABEL FOR pg_witness ON ROLE %I IS NULL', name);
	PERFORM witness._end_internal_ddl();
	EXECUTE format('REVOKE witness_auditor FROM %I', name);
END
$$;
COMMENT ON FUNCTION witness.revoke_auditor(regrole) IS 'ends a role''s auditor access (revokes witness_auditor); recorded in witness.auditor_grant and so in the trail';

-- A digest names block N and its hash. Block N's stored hash equal to the digest's said only that its
-- row was not rewritten: an entry of an earlier block, changed without recomputing anything, left
-- the stored chain as digested, and verify_digest() said valid where witness-verify said tampered
-- (an attack review). The whole trail is recomputed now: blocks 1 to N must give the digested hash,
-- the blocks after it must chain to it (docs/verification.md, "Checking a digest").
CREATE OR REPLACE FUNCTION witness.verify_digest(digest jsonb, ed25519_public_key text DEFAULT NULL)
RETURNS TABLE (status text, block_no bigint, signatures text, same_database boolean, detail text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d record;
	b witness.block;
	sealed bigint;
	problems text;
	sigs text;
BEGIN
	d := witness._check_digest(digest, ed25519_public_key);
	sigs := format('hmac_sha256 %s, ed25519 %s', d.hmac, d.ed25519);
	block_no := d.block_no;
	signatures := sigs;
	same_database := d.database = witness.database_id();
	status := 'invalid';
	IF 'invalid' IN (d.hmac, d.ed25519) THEN
		detail := 'a signature does not match: the digest was altered or signed with another key';
	ELSIF NOT 'valid' IN (d.hmac, d.ed25519) THEN
		detail := 'no signature could be checked: set witness.hmac_key_file or witness.ed25519_key_file, or pass the Ed25519 public key';
	ELSE
		SELECT * INTO b FROM witness.block x WHERE x.block_no = d.block_no;
		SELECT sum(x.entry_count) INTO sealed FROM witness.block x WHERE x.block_no <= d.block_no;
		IF NOT FOUND OR b.block_no IS NULL THEN
			detail := format('block %s of the digest is missing from the trail: blocks were deleted or the trail was rewritten', d.block_no);
		ELSIF b.block_hash <> d.block_hash THEN
			detail := format('block %s has another hash than the digest says: the trail was rewritten', d.block_no);
		ELSIF sealed IS DISTINCT FROM d.entries THEN
			detail := format('blocks up to %s hold %s entries, the digest says %s', d.block_no, sealed, d.entries);
		ELSE
			SELECT string_agg(format('%s (block %s, entry %s): %s', v.problem, v.block_no, v.entry_id, v.detail), '; ')
			INTO problems FROM witness.verify(NULL, NULL) v WHERE v.problem IS NOT NULL;
			IF problems IS NOT NULL THEN
				detail := 'the trail does not verify: ' || problems;
			ELSE
				status := 'valid';
				detail := format('blocks 1 to %s recompute to the digested state (%s entries, digested %s), and the trail since extends it',
				                 d.block_no, d.entries, d.digest_time);
			END IF;
		END IF;
	END IF;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION witness.verify_digest(jsonb, text) IS 'checks a signed digest: its signatures, that block N still has the digested hash and entry count, and, recomputing the whole trail, that blocks 1 to N give that state and the blocks since extend it';

-- Entry points that read the trail for a time-limited auditor run as pg_witness's owner, call the
-- check and filter by its period themselves: as the caller, the row-level security of witness.entry
-- would hide from them the other members of a block, and the proofs would not check.
ALTER FUNCTION witness.prove(bigint) SECURITY DEFINER;
ALTER FUNCTION witness.verify_digest(jsonb, text) SECURITY DEFINER;
-- block_of() finds the block within the entry's transaction-id era (witness._block_of_xid). The
-- entry is read through the BRIN index on id: planned for any id (a SQL function's parameter), a
-- sequential scan of the trail looked cheaper to the planner, and took 11 ms on 100,000 entries
-- where the index takes 1 to 2 ms (docs/verification.md). Without JIT: the penalty that
-- enable_seqscan = off puts on the small tables the function reads otherwise would start it.
CREATE OR REPLACE FUNCTION witness.block_of(entry_id bigint) RETURNS witness.block
LANGUAGE sql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET jit = off
AS $$
	SELECT b.* FROM witness.entry e CROSS JOIN LATERAL witness._block_of_xid(e.xid, e.id) b
	WHERE e.id = entry_id AND b.block_no IS NOT NULL AND witness.entry_visible(e.stmt_time) ORDER BY b.block_no LIMIT 1
$$;

CREATE OR REPLACE FUNCTION witness.database_id() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN witness.access_check() THEN (SELECT system_identifier FROM pg_control_system())::text || '/' || current_database() END $$;

CREATE OR REPLACE FUNCTION witness.untrack(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN PERFORM witness.access_check(); -- on the line of BEGIN: line numbers in error contexts stay
	PERFORM witness._check_exists(target, 'untrack'); PERFORM witness._lock_for_tracking(target);
	IF (SELECT relnamespace FROM pg_class WHERE oid = target) = 'witness'::regnamespace THEN
		RAISE EXCEPTION 'cannot untrack %: it belongs to pg_witness', target
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Changes to the pg_witness configuration are always recorded.';
	END IF;
	DELETE FROM witness.tracked_table WHERE relid = target;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not tracked', target USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM witness._sync_capture_triggers();
	PERFORM witness._invalidate(target);
END
$$;

-- The views: the check as a one-time filter, the period of a time-limited auditor, and the values of
-- classified columns masked for roles that are neither auditors nor admins. A format-1 entry's leaf
-- hash is a hash of its values with no salt: shown to such a role, it would confirm a guessed masked
-- value (an attack review); it is NULL for them. security_barrier: a
-- caller's own condition (a function that raises a notice with its argument, say) must not see the
-- rows outside an auditor's period before the view's filter has dropped them.
-- A stored value as jsonb for the views. A jsonb string holds at most 268,435,455 bytes: one longer
-- string in any entry made every read of witness.log fail, whatever it filtered on, since the view
-- computes its columns before the caller's conditions (security_barrier); a role with INSERT on one
-- tracked table could stop every auditor's reads so (found by a robustness review). A value whose
-- text is longer is shown as a note instead; witness.entry and witness.entry_text() keep it whole.
-- Plain SQL, inlined by the planner.
-- How deep a value nests (src/pg/access/json_depth.cpp); executable by all, as _readable_jsonb(),
-- which the views inline, calls it.
CREATE FUNCTION witness._json_depth(v json) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_json_depth' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION witness._json_depth(json) IS 'internal: the deepest nesting of arrays and objects in a JSON value, read without recursion';

-- A value nested over 1,000 deep is shown as a note too: jsonb's input recurses per level, and a
-- value written at the limit of the writer's stack exhausted a reader's deeper one (an attack review:
-- witness.export() and witness.search() failed for every range that held it).
CREATE FUNCTION witness._readable_jsonb(v json) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN pg_catalog.octet_length(v::pg_catalog.text) OPERATOR(pg_catalog.<=) 2000
	                 OR (pg_catalog.octet_length(v::pg_catalog.text) OPERATOR(pg_catalog.<=) 268435455
	                     AND witness._json_depth(v) OPERATOR(pg_catalog.<=) 1000) THEN v::pg_catalog.jsonb
	            WHEN pg_catalog.octet_length(v::pg_catalog.text) OPERATOR(pg_catalog.<=) 268435455
	            THEN pg_catalog.jsonb_build_object('pg_witness', 'a value nested too deep to show as jsonb; witness.entry holds it',
	                                               'depth', witness._json_depth(v))
	            ELSE pg_catalog.jsonb_build_object('pg_witness', 'a value too long to show as jsonb; witness.entry holds it',
	                                               'bytes', pg_catalog.octet_length(v::pg_catalog.text)) END
$$;
COMMENT ON FUNCTION witness._readable_jsonb(json) IS 'internal: a stored value as jsonb for the views, or a note with its length or depth when it is longer than a jsonb string may be or nested deeper than 1,000 levels';

CREATE OR REPLACE VIEW witness.log WITH (security_barrier) AS
SELECT e.id, e.xid, e.stmt_time,
       CASE e.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' WHEN 'T' THEN 'TRUNCATE' END AS operation,
       e.schema_name, e.table_name,
       CASE WHEN witness.values_unmasked() OR ((e.tags::integer & 15) = 0 AND (e.schema_name, e.table_name) NOT IN
                 (SELECT n.schema_name, n.table_name FROM witness._masking_names n WHERE n.masks)
                 AND ((e.schema_name, e.table_name) NOT IN (SELECT r.schema_name, r.table_name FROM witness.retired_masking r WHERE r.masks)
                      OR e.id > (SELECT max(r.until_id) FROM witness.retired_masking r
                                 WHERE r.schema_name = e.schema_name AND r.table_name = e.table_name AND r.masks))) THEN witness._readable_jsonb(e.row_key)
            ELSE witness._masked_values(witness._readable_jsonb(e.row_key), e.schema_name, e.table_name, e.id) END AS row_key,
       CASE WHEN witness.values_unmasked() OR e.subject IS NULL OR ((e.tags::integer & 15) = 0 AND (e.schema_name, e.table_name) NOT IN
                 (SELECT n.schema_name, n.table_name FROM witness._masking_names n WHERE n.masks_subject)
                 AND ((e.schema_name, e.table_name) NOT IN (SELECT r.schema_name, r.table_name FROM witness.retired_masking r WHERE r.masks_subject)
                      OR e.id > (SELECT max(r.until_id) FROM witness.retired_masking r
                                 WHERE r.schema_name = e.schema_name AND r.table_name = e.table_name AND r.masks_subject))) THEN e.subject
            ELSE '***' END AS subject,
       witness.tag_names(e.tags) AS tags,
       CASE WHEN witness.values_unmasked() OR ((e.tags::integer & 15) = 0 AND (e.schema_name, e.table_name) NOT IN
                 (SELECT n.schema_name, n.table_name FROM witness._masking_names n WHERE n.masks)
                 AND ((e.schema_name, e.table_name) NOT IN (SELECT r.schema_name, r.table_name FROM witness.retired_masking r WHERE r.masks)
                      OR e.id > (SELECT max(r.until_id) FROM witness.retired_masking r
                                 WHERE r.schema_name = e.schema_name AND r.table_name = e.table_name AND r.masks))) THEN witness._readable_jsonb(e.old_values)
            ELSE witness._masked_values(witness._readable_jsonb(e.old_values), e.schema_name, e.table_name, e.id) END AS old_values,
       CASE WHEN witness.values_unmasked() OR ((e.tags::integer & 15) = 0 AND (e.schema_name, e.table_name) NOT IN
                 (SELECT n.schema_name, n.table_name FROM witness._masking_names n WHERE n.masks)
                 AND ((e.schema_name, e.table_name) NOT IN (SELECT r.schema_name, r.table_name FROM witness.retired_masking r WHERE r.masks)
                      OR e.id > (SELECT max(r.until_id) FROM witness.retired_masking r
                                 WHERE r.schema_name = e.schema_name AND r.table_name = e.table_name AND r.masks))) THEN witness._readable_jsonb(e.new_values)
            ELSE witness._masked_values(witness._readable_jsonb(e.new_values), e.schema_name, e.table_name, e.id) END AS new_values,
       e.session_user_name, e.current_user_name, e.application_name, e.client_addr, e.client_port, e.backend_pid,
       e.actor, e.reason, witness._readable_jsonb(e.context) AS context,
       CASE WHEN e.format = 1 AND NOT witness.values_unmasked() THEN NULL ELSE witness._sealed_leaf(e) END AS leaf_hash, e.format, e.erasure_id
FROM witness.entry e
WHERE witness.access_check() AND witness.entry_visible(e.stmt_time) AND witness._activity_visible(e.schema_name, e.table_name, e.new_values);
COMMENT ON VIEW witness.log IS 'the trail with readable operation and tag names, one row per captured change; erasure_id names the erasure that emptied an entry''s payload; values of classified columns masked unless the caller is an auditor, an admin or a superuser (docs/access.md)';

CREATE OR REPLACE VIEW witness.tracked_tables AS
SELECT t.relid AS table_name, t.classification, t.column_tags, t.exclude_columns, t.subject_column,
       t.key_columns, t.key_is_primary_key, t.tracked_at, t.tracked_by, t.encrypt,
       t.capture_reads
FROM witness.tracked_table t
WHERE witness.access_check();

CREATE OR REPLACE VIEW witness.holds AS
SELECT h.hold_event_id AS hold_id, h.name, r.hold_event_id IS NULL AS in_force, h.reason,
       h.subject_digest IS NOT NULL AS subject_scoped,
       CASE WHEN h.table_name IS NOT NULL THEN pg_catalog.format('%I.%I', h.schema_name, h.table_name) END AS table_name,
       h.row_key, h.since, h.until, h.recorded_by AS held_by, h.recorded_at AS held_at,
       r.reason AS release_reason, r.recorded_by AS released_by, r.recorded_at AS released_at
FROM witness.legal_hold h LEFT JOIN witness.legal_hold r ON r.releases = h.hold_event_id
WHERE h.event = 'held' AND witness.access_check();

-- Row-level security: an auditor reading witness.entry directly sees the entries of its period only,
-- and an expired one reads nothing from any table of the trail. Superusers and the tables' owner
-- (pg_witness's functions that run as it, the sealer) are not subject to it; the capture writes
-- through the heap directly and never evaluates a policy.
ALTER TABLE witness.entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_period ON witness.entry FOR SELECT
	USING (witness.access_check() AND witness.entry_visible(stmt_time) AND witness._activity_visible(schema_name, table_name, new_values));
COMMENT ON POLICY entry_period ON witness.entry IS 'pg_witness: a time-limited auditor sees the entries of its period only, and none once its grant expired';
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['block', 'erasure', 'key_rotation', 'tracked_table', 'auditor_grant', 'subject_binding', 'legal_hold', 'verification_run', 'collector', 'retention_rule', 'retention_run', 'pruned_leaf', 'era', 'alert_rule', 'trail_publication', 'collector_origin'] LOOP
		EXECUTE pg_catalog.format('ALTER TABLE witness.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE pg_catalog.format('CREATE POLICY access_check ON witness.%I FOR SELECT USING (witness.access_check())', t);
		EXECUTE pg_catalog.format('COMMENT ON POLICY access_check ON witness.%I IS %L', t,
		                          'pg_witness: an auditor whose grant expired reads nothing');
	END LOOP;
	-- What happened around the entries (statements, addresses, who exported whose data) is shown to a
	-- period-restricted auditor for its period only, as the entries are: an attack review read a
	-- refused statement naming a social security number from outside the period in witness.activity.
	FOREACH t IN ARRAY ARRAY['activity:happened_at', 'ddl_event:happened_at', 'alert:raised_at', 'subject_access:accessed_at'] LOOP
		EXECUTE pg_catalog.format('ALTER TABLE witness.%I ENABLE ROW LEVEL SECURITY', split_part(t, ':', 1));
		EXECUTE pg_catalog.format('CREATE POLICY access_check ON witness.%I FOR SELECT USING (witness.access_check() AND witness.entry_visible(%I))',
		                          split_part(t, ':', 1), split_part(t, ':', 2));
		EXECUTE pg_catalog.format('COMMENT ON POLICY access_check ON witness.%I IS %L', split_part(t, ':', 1),
		                          'pg_witness: a time-limited auditor reads the rows of its period only, and none once its grant expired');
	END LOOP;
END
$$;

-- The matrix of docs/access.md. Nothing of schema witness is executable by PUBLIC but what PostgreSQL
-- calls as another role than the caller of a pg_witness function (PUBLIC has no USAGE on schema
-- witness, so it cannot name them):
-- - as the role whose change is captured: the trigger functions witness.capture() and
--   witness.capture_truncate(), which PostgreSQL clones onto every new partition of a tracked table
--   as the role that creates or attaches it (they cannot be called but as triggers, and pg_witness
--   refuses any trigger on them it did not make);
-- - as the role reading a view or a table that a DBA granted it, whatever its roles: the functions the
--   row-level security policies call (access_check(), entry_visible()), those witness.log calls
--   (values_unmasked(), tag_names() and the classifications() it reads, _masked_values(), _config_masks(), _config_masks_subject(),
--   masked_tags(), _sealed_leaf()), _table_masked() (the display text and the anonymised export), and the block
--   headers export_trail() formats
--   (_block_json()). Each refuses an expired auditor or reveals nothing of the trail by itself.
--   (witness._seal_status(), the body of witness.seal_status, is granted to the roles only: whoever
--   grants that view to another role grants it too, test/sql/seal_status.sql.
--   Likewise witness._visible_days(), called by witness.daily_summary and witness.actor_activity.)
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA witness FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA witness FROM PUBLIC;
GRANT EXECUTE ON FUNCTION witness.capture(), witness.capture_truncate(),
                          witness.access_check(), witness.entry_visible(timestamptz), witness._activity_visible(text, text, json),
                          witness.values_unmasked(),
                          witness.tag_names(smallint), witness.classifications(), witness._masked_values(jsonb, text, text, bigint), witness._masked_columns(text, text, bigint),
                          witness._config_masks(witness.tracked_table), witness._config_masks_subject(witness.tracked_table),
                          witness.masked_tags(), witness._table_masked(text, text, bigint),
                          witness._block_json(witness.block), witness._my_trail(), witness._sealed_leaf(witness.entry),
                          witness._readable_jsonb(json), witness._json_depth(json)
	TO PUBLIC;

GRANT USAGE ON SCHEMA witness TO witness_admin, witness_auditor, witness_reader;
GRANT SELECT ON witness.log, witness.tracked_tables, witness.seal_status TO witness_admin, witness_auditor, witness_reader;
GRANT EXECUTE ON FUNCTION witness._seal_status() TO witness_admin, witness_auditor, witness_reader;
GRANT SELECT ON witness.verification_status TO witness_admin, witness_auditor;
GRANT EXECUTE ON FUNCTION witness._verification_status() TO witness_admin, witness_auditor;
GRANT SELECT ON witness.collector_status, witness.collector, witness.collector_origin TO witness_admin, witness_auditor;
GRANT EXECUTE ON FUNCTION witness._collector_status() TO witness_admin, witness_auditor;
-- Summaries and monitoring (docs/monitoring.md): counts, no values. witness.stats shows the last
-- verification's result, which witness_reader does not see elsewhere either.
GRANT SELECT ON witness.daily_summary, witness.actor_activity TO witness_admin, witness_auditor, witness_reader;
GRANT EXECUTE ON FUNCTION witness._visible_days() TO witness_admin, witness_auditor, witness_reader;
GRANT SELECT ON witness.stats TO witness_admin, witness_auditor;
GRANT EXECUTE ON FUNCTION witness.refresh_summary() TO witness_admin;
GRANT EXECUTE ON FUNCTION witness.masked_tags(), witness.classifications(), witness.tag_mask(text[]),
                          witness.database_id()
	TO witness_admin, witness_auditor, witness_reader;

GRANT EXECUTE ON FUNCTION witness.track(regclass, text, jsonb, text[], text, text[], boolean, boolean),
                          witness.untrack(regclass), witness.erase_subject(text, text),
                          witness.grant_auditor(regrole, timestamptz, timestamptz, timestamptz),
                          witness.revoke_auditor(regrole), witness.primary_key_columns(regclass),
                          witness.bind_subject(regrole, text), witness.unbind_subject(regrole, text),
                          witness.hold(text, text, text, regclass, jsonb, timestamptz, timestamptz),
                          witness.release_hold(text, text),
                          witness.set_retention(text, interval, boolean), witness.apply_retention()
	TO witness_admin;
-- Reading the trail (docs/views.md): as witness.log, which they read as their caller.
GRANT SELECT ON witness.changes TO witness_admin, witness_auditor, witness_reader;
GRANT EXECUTE ON FUNCTION witness.search(timestamptz, timestamptz, regclass, text, text, text, text, text, integer, text, text, boolean),
                          witness.entity_history(regclass, jsonb), witness.entity_history(text, text, jsonb),
                          witness.entry_text(bigint)
	TO witness_admin, witness_auditor, witness_reader;
GRANT EXECUTE ON FUNCTION witness.retention_classes() TO witness_admin, witness_auditor;
GRANT SELECT ON witness.retention_rules TO witness_admin, witness_auditor;
GRANT EXECUTE ON FUNCTION witness.master_key_id() TO witness_admin, witness_auditor;
GRANT SELECT ON witness.holds TO witness_admin, witness_auditor;
-- The partitions of the trail (docs/scaling.md): ranges and sizes, no entry. Making them is the
-- superuser's (or the sealer's): it is DDL on witness.entry.
GRANT SELECT ON witness.partitions TO witness_admin, witness_auditor;
GRANT EXECUTE ON FUNCTION witness._partition_range(regclass) TO witness_admin, witness_auditor;
-- The record tables, for the admin who writes them; an auditor reads their rows as entries of the
-- trail (witness.log).
GRANT SELECT ON witness.tracked_table, witness.ddl_event, witness.erasure, witness.subject_access,
                witness.key_rotation, witness.auditor_grant, witness.activity, witness.subject_binding,
                witness.legal_hold, witness.verification_run, witness.retention_rule, witness.retention_run, witness.era,
                witness.trail_publication
	TO witness_admin;

-- Exports for other systems (docs/exports.md): auditors, and readers (who get witness.log's masked
-- values). The helpers run as the caller inside the export's query.
GRANT EXECUTE ON FUNCTION witness.export(text, timestamptz, timestamptz, text, text, text, text, text, boolean, bytea),
                          witness.export_encrypted(text, text, timestamptz, timestamptz, text, text, text, text, text, boolean, bytea, integer),
                          witness._export_line(text, witness.log, bigint, bytea), witness._export_block_no(xid8, bigint),
                          witness._export_pseudonym(bytea, text), witness._export_anonymised(jsonb, text, text, bigint, bytea),
                          witness._export_subject_column(text, text, bigint), witness._export_pseudonymised_field(jsonb, text, bytea),
                          witness._syslog_param(text), witness._csv_line(text[]), witness._utc(timestamptz)
	TO witness_auditor, witness_reader;

GRANT EXECUTE ON FUNCTION witness.verify_and_checkpoint(boolean) TO witness_admin;
-- Alerts (docs/alerts.md): the admin sets the rules and may evaluate them; both read the alerts.
GRANT EXECUTE ON FUNCTION witness.set_alert_rule(text, boolean, bigint, text, jsonb), witness.check_alerts() TO witness_admin;
GRANT SELECT ON witness.alert, witness.alert_rules TO witness_admin, witness_auditor;
GRANT EXECUTE ON FUNCTION witness._alert_rule_defaults() TO witness_admin, witness_auditor;
GRANT SELECT ON witness.alert_rule TO witness_admin;
GRANT EXECUTE ON FUNCTION witness.verify(bigint, bigint), witness.verify_period(timestamptz, timestamptz),
                          witness.verify_since_checkpoint(), witness.verify_lookup(bigint, bigint),
                          witness.verify_digest(jsonb, text), witness.digest(), witness.prove(bigint),
                          witness.block_of(bigint), witness.export_trail(),
                          witness.subject_export(text, text, text), witness.entry_leaf_hash(witness.entry),
                          witness.entry_canonical_bytes(witness.entry), witness.entry_payload_bytes(witness.entry)
	TO witness_auditor;
GRANT EXECUTE ON FUNCTION witness.audit_report(timestamptz, timestamptz) TO witness_auditor;
GRANT SELECT ON witness.entry, witness.block, witness.activity TO witness_auditor;
-- verify() reads the kept leaf hashes of pruned entries as its caller.
GRANT SELECT ON witness.pruned_leaf TO witness_auditor;
-- Block membership depends on the eras (docs/verification.md): verify() and export_trail() read them.
GRANT SELECT ON witness.era TO witness_auditor;

-- Calls of pg_witness's functions are recorded through fmgr_hook, which PostgreSQL calls only around
-- functions with a SET clause or SECURITY DEFINER. Pin search_path on every function that has
-- neither, except the capture triggers (on every row change), immutable helpers, the helpers every
-- role may call (views and row-level security policies call them per row; their calls are not recorded)
-- and procedures
-- (a procedure with a SET clause cannot commit; rotate_master_key() records itself in witness.key_rotation),
-- and witness._member_entries(), witness._utc(), witness._block_json() and witness._proof_document(),
-- called for every entry of an export or a block: the planner inlines the first three into their
-- callers only without a SET clause, and the last is parsed again inside another function's query
-- (their callers have one).
DO $$
DECLARE
	f record;
BEGIN
	FOR f IN SELECT p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
	         FROM pg_catalog.pg_proc p
	         WHERE p.pronamespace = 'witness'::regnamespace AND p.proconfig IS NULL AND NOT p.prosecdef
	           AND p.provolatile <> 'i' AND p.prorettype <> 'trigger'::regtype AND p.prokind = 'f'
	           AND NOT pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
	           AND p.oid <> ALL (ARRAY['witness._member_entries(witness.block, pg_snapshot, bigint, bigint)'::regprocedure,
	                                   'witness._utc(timestamptz)'::regprocedure,
	                                   'witness._block_json(witness.block)'::regprocedure,
	                                   'witness._proof_document(bigint, bytea, witness.block, integer, integer, bytea[])'::regprocedure]::oid[])
	LOOP
		EXECUTE format('ALTER ROUTINE witness.%I(%s) SET search_path = pg_catalog, pg_temp', f.proname, f.args);
	END LOOP;
END
$$;

-- No plan of a pg_witness function's queries is printed, whoever asks: debug_print_plan, which any
-- role may set, printed the custom plans of PL/pgSQL and SQL functions with their variables as
-- constants, and a function that runs as pg_witness's owner, or one such a function calls, holds
-- values its caller may not see (an attack review read the values witness.log masks, in the plans of
-- witness._masked_values(), and another subject's decrypted old values, in those of
-- witness._subject_export_lines() under witness.my_trail; the same plans went to the server log). So
-- every SECURITY DEFINER function, and witness._my_trail() (C, which reads as the owner), sets
-- debug_print_plan, debug_print_parse and debug_print_rewritten off while it runs (a dynamic query's
-- literals are constants of its trees too); the functions they call inherit the settings, and the
-- session cannot change them inside. Not every function with a SET clause: on all of them the
-- settings took tpcb-like throughput with sealing every second from about 3,600 to 2,700 tps
-- (bench/seal.sh; docs/performance.md). A later upgrade script that replaces such a function must
-- set them again (test/sql/roles.sql checks it).
DO $$
DECLARE
	f record;
BEGIN
	FOR f IN SELECT p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
	         FROM pg_catalog.pg_proc p
	         WHERE p.pronamespace = 'witness'::regnamespace AND p.prokind = 'f'
	           AND (p.prosecdef OR p.oid = 'witness._my_trail()'::regprocedure)
	LOOP
		EXECUTE format('ALTER FUNCTION witness.%I(%s) SET debug_print_plan = off SET debug_print_parse = off SET debug_print_rewritten = off',
		               f.proname, f.args);
	END LOOP;
END
$$;
