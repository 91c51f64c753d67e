-- pg_witness 0.1: capture of row changes into an append-only trail.
\echo Use "CREATE EXTENSION pg_witness" to load this file. \quit

-- CREATE EXTENSION uses schema witness if it exists already. A role with CREATE on the database could
-- have made it, owning it and able to drop it with the whole trail, or planted objects in it for our
-- functions to find. Install only into a schema a superuser owns, that holds nothing and that no
-- other role may create objects in.
DO $$
DECLARE
	owner_is_superuser boolean;
	creators text;
BEGIN
	SELECT r.rolsuper INTO owner_is_superuser
	FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
	WHERE n.nspname OPERATOR(pg_catalog.=) 'witness';
	IF NOT owner_is_superuser THEN
		RAISE EXCEPTION 'schema witness is owned by role %, which is not a superuser',
			(SELECT nspowner::pg_catalog.regrole FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) 'witness')
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'pg_witness keeps its trail in schema witness; its owner could drop the trail.',
			      HINT = 'Drop or rename that schema (after checking what it holds), then run CREATE EXTENSION pg_witness again.';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace OPERATOR(pg_catalog.=) 'witness'::pg_catalog.regnamespace)
	   OR EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace OPERATOR(pg_catalog.=) 'witness'::pg_catalog.regnamespace)
	   OR EXISTS (SELECT FROM pg_catalog.pg_type WHERE typnamespace OPERATOR(pg_catalog.=) 'witness'::pg_catalog.regnamespace)
	   OR EXISTS (SELECT FROM pg_catalog.pg_operator WHERE oprnamespace OPERATOR(pg_catalog.=) 'witness'::pg_catalog.regnamespace) THEN
		RAISE EXCEPTION 'schema witness already holds objects'
			USING ERRCODE = 'duplicate_schema',
			      DETAIL = 'pg_witness installs only into an empty schema witness, so that no object in it was put there by another role.',
			      HINT = 'Drop or rename that schema (after checking what it holds), then run CREATE EXTENSION pg_witness again.';
	END IF;
	SELECT pg_catalog.string_agg(a.grantee::pg_catalog.regrole::text, ', ') INTO creators
	FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
	WHERE n.nspname OPERATOR(pg_catalog.=) 'witness' AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
	  AND NOT COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) a.grantee), false);
	IF creators IS NOT NULL THEN
		RAISE EXCEPTION 'roles other than superusers may create objects in schema witness'
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = pg_catalog.format('CREATE on schema witness is granted to %s.', creators),
			      HINT = 'REVOKE CREATE ON SCHEMA witness FROM those roles, then run CREATE EXTENSION pg_witness again.';
	END IF;
END
$$;

-------------------------------------------------------------------------------
-- Configuration: which tables are tracked, and how
-------------------------------------------------------------------------------

CREATE TABLE witness.tracked_table (
	relid regclass PRIMARY KEY,
	classification text NOT NULL,
	column_tags jsonb NOT NULL DEFAULT '{}',
	exclude_columns text[] NOT NULL DEFAULT '{}',
	subject_column text,
	key_columns text[],
	tracked_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	tracked_by text NOT NULL DEFAULT pg_catalog."session_user"(),
	schema_name text NOT NULL,
	table_name text NOT NULL,
	key_is_primary_key boolean NOT NULL DEFAULT false,
	column_attnums jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE witness.tracked_table IS 'pg_witness configuration: one row per tracked table (use witness.track() and witness.untrack() to change it)';
COMMENT ON COLUMN witness.tracked_table.key_columns IS 'the row key, fixed when the table was tracked (the primary key''s columns unless key_columns was given): dropping the primary key does not change it';
COMMENT ON COLUMN witness.tracked_table.schema_name IS 'schema of the table, kept in step with renames: entries about a dropped or renamed table name it';
COMMENT ON COLUMN witness.tracked_table.table_name IS 'name of the table, kept in step with renames';
COMMENT ON COLUMN witness.tracked_table.key_is_primary_key IS 'true when key_columns were taken from the primary key';
COMMENT ON COLUMN witness.tracked_table.column_attnums IS 'attribute number of every column named in the configuration: tells a renamed column (however renamed) from a dropped one';

-- DDL that touched a tracked table: every row is captured into the trail like any tracked change,
-- so the chain shows who changed the shape or membership of an audited table, when and with what
-- statement, including changes that alter data without firing a row trigger.
CREATE TABLE witness.ddl_event (
	event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	command_tag text NOT NULL,
	action text NOT NULL,
	schema_name text,
	table_name text,
	tracked_table text,
	role_name text NOT NULL,
	statement text,
	detail jsonb NOT NULL DEFAULT '{}',
	happened_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.ddl_event IS 'pg_witness: DDL that touched a tracked table, one row per table and command; each row is captured into the trail';
COMMENT ON SEQUENCE witness.ddl_event_event_id_seq IS 'pg_witness DDL event ids';
COMMENT ON COLUMN witness.ddl_event.command_tag IS 'the command, as PostgreSQL tags it (ALTER TABLE, DROP TABLE, ALTER TYPE, ...)';
COMMENT ON COLUMN witness.ddl_event.action IS 'what it did to capture: altered, type changed, columns dropped, renamed, dropped, joined (rows now captured), left (rows no longer captured), uncaptured (another session''s temporary table joined)';
COMMENT ON COLUMN witness.ddl_event.schema_name IS 'schema of the table the command touched';
COMMENT ON COLUMN witness.ddl_event.table_name IS 'the table the command touched (a tracked table, one of its partitions or inheritance children)';
COMMENT ON COLUMN witness.ddl_event.tracked_table IS 'the tracked table whose configuration applies, schema-qualified';
COMMENT ON COLUMN witness.ddl_event.role_name IS 'the role that ran the command (after SET ROLE)';
COMMENT ON COLUMN witness.ddl_event.statement IS 'the statement text the client sent, whole';
COMMENT ON COLUMN witness.ddl_event.detail IS 'what changed: old and new name, dropped columns, rows of an attached table, ...';

-------------------------------------------------------------------------------
-- The trail
-------------------------------------------------------------------------------

CREATE SEQUENCE witness.entry_id_seq;
COMMENT ON SEQUENCE witness.entry_id_seq IS 'pg_witness entry ids: uncached, so the ids of one row''s changes follow the order of those changes (gaps are normal)';

-- Column order minimises alignment padding; the capture trigger checks it at load time.
CREATE TABLE witness.entry (
	id bigint NOT NULL,
	xid xid8 NOT NULL,
	stmt_time timestamptz NOT NULL,
	backend_pid integer NOT NULL,
	client_port integer,
	tags smallint NOT NULL,
	format smallint NOT NULL,
	op "char" NOT NULL,
	schema_name text NOT NULL,
	table_name text NOT NULL,
	row_key json,
	subject text,
	old_values json,
	new_values json,
	session_user_name text NOT NULL,
	current_user_name text NOT NULL,
	application_name text,
	client_addr inet,
	actor text,
	reason text,
	context json,
	leaf_hash bytea NOT NULL
);
ALTER SEQUENCE witness.entry_id_seq OWNED BY witness.entry.id;
COMMENT ON TABLE witness.entry IS 'pg_witness trail: one append-only row per captured change, written only by the capture triggers';
COMMENT ON COLUMN witness.entry.xid IS 'top-level transaction id of the change';
COMMENT ON COLUMN witness.entry.stmt_time IS 'start time of the statement that made the change';
COMMENT ON COLUMN witness.entry.tags IS 'classification bit mask: 1 pii, 2 financial, 4 confidential, 8 restricted, 16 internal';
COMMENT ON COLUMN witness.entry.format IS 'version of the canonical byte format the leaf hash was computed with (docs/hashing.md)';
COMMENT ON COLUMN witness.entry.op IS 'I insert, U update, D delete, T truncate';
COMMENT ON COLUMN witness.entry.row_key IS 'key columns of the row (primary key unless key_columns was given); NULL for keyless tables and TRUNCATE';
COMMENT ON COLUMN witness.entry.old_values IS 'UPDATE: old values of the changed columns; DELETE: the old row';
COMMENT ON COLUMN witness.entry.new_values IS 'UPDATE: new values of the changed columns; INSERT: the new row';
COMMENT ON COLUMN witness.entry.context IS 'witness.context as set by the application';
COMMENT ON COLUMN witness.entry.leaf_hash IS 'SHA-256(0x00 || canonical bytes of this entry)';
-- The JSON columns hold canonical JSON text (docs/hashing.md), exactly what the leaf hash covers:
-- smaller than jsonb and hashed as stored. The views present them as jsonb.

-- The sealer finds unsealed entries through their transaction id. Entries arrive in roughly xid order,
-- so a BRIN index (a few bytes per 128 pages, no per-row index insert) serves the sealer's
-- "xid >= oldest unsealed" scan; the sealer summarizes each page range as it fills. PostgreSQL 15 has
-- no BRIN operator class for xid8: this is the standard min/max one over xid8's comparison operators.
CREATE OPERATOR CLASS witness.xid8_minmax_ops FOR TYPE xid8 USING brin AS
	OPERATOR 1 pg_catalog.< (xid8, xid8),
	OPERATOR 2 pg_catalog.<= (xid8, xid8),
	OPERATOR 3 pg_catalog.= (xid8, xid8),
	OPERATOR 4 pg_catalog.>= (xid8, xid8),
	OPERATOR 5 pg_catalog.> (xid8, xid8),
	FUNCTION 1 pg_catalog.brin_minmax_opcinfo(internal),
	FUNCTION 2 pg_catalog.brin_minmax_add_value(internal, internal, internal, internal),
	FUNCTION 3 pg_catalog.brin_minmax_consistent(internal, internal, internal),
	FUNCTION 4 pg_catalog.brin_minmax_union(internal, internal, internal);
COMMENT ON OPERATOR CLASS witness.xid8_minmax_ops USING brin IS 'BRIN min/max summaries of xid8 values, for witness.entry_xid';
COMMENT ON OPERATOR FAMILY witness.xid8_minmax_ops USING brin IS 'BRIN min/max summaries of xid8 values, for witness.entry_xid';
CREATE INDEX entry_xid ON witness.entry USING brin (xid witness.xid8_minmax_ops);
COMMENT ON INDEX witness.entry_xid IS 'BRIN min/max of xid per page range: how the sealer finds unsealed entries';
-- Lookups by id (prove(), block_of()) go through a BRIN index too. A btree on id (a primary key) cost
-- every captured change one more index insert and WAL record, and every concurrent writer met at its
-- rightmost page: about a tenth of tracked pgbench throughput at 16 clients, measured without it.
-- Ids come from witness.entry_id_seq and only the capture writes entries, so they are unique by
-- construction; verify() names an entry whose id is duplicated (docs/verification.md). A DBA may add
-- a btree on id; capture maintains it.
CREATE INDEX entry_id ON witness.entry USING brin (id);
COMMENT ON INDEX witness.entry_id IS 'BRIN min/max of id per page range: lookups of entries by id';

-- Sealed blocks: block k holds the entries whose transaction is visible in snapshot k and not in
-- snapshot k-1, ordered by id; its hash chains it to block k-1 (docs/verification.md).
CREATE TABLE witness.block (
	block_no bigint NOT NULL,
	snapshot pg_snapshot NOT NULL,
	entry_count bigint NOT NULL,
	first_entry_id bigint,
	last_entry_id bigint,
	merkle_root bytea NOT NULL,
	prev_hash bytea NOT NULL,
	sealed_at timestamptz NOT NULL,
	block_hash bytea NOT NULL,
	CONSTRAINT block_pkey PRIMARY KEY (block_no)
);
COMMENT ON TABLE witness.block IS 'pg_witness sealed blocks: a hash chain of Merkle roots over the entries, written only by the sealer';
COMMENT ON COLUMN witness.block.snapshot IS 'the sealer''s snapshot: defines which entries belong to this block';
COMMENT ON COLUMN witness.block.merkle_root IS 'RFC 9162 Merkle root of the members'' leaf hashes in id order';
COMMENT ON COLUMN witness.block.prev_hash IS 'block_hash of the previous block (32 zero bytes for block 1)';
COMMENT ON COLUMN witness.block.block_hash IS 'SHA-256(0x02 || header bytes) over all other columns (docs/hashing.md)';

SELECT pg_catalog.pg_extension_config_dump('witness.entry', '');
SELECT pg_catalog.pg_extension_config_dump('witness.block', '');
SELECT pg_catalog.pg_extension_config_dump('witness.entry_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('witness.tracked_table', $$WHERE relid OPERATOR(pg_catalog.<>) ALL (ARRAY['witness.tracked_table'::pg_catalog.regclass, 'witness.ddl_event'::pg_catalog.regclass])$$);
SELECT pg_catalog.pg_extension_config_dump('witness.ddl_event', '');
SELECT pg_catalog.pg_extension_config_dump('witness.ddl_event_event_id_seq', '');

REVOKE ALL ON witness.entry, witness.block, witness.tracked_table, witness.entry_id_seq, witness.ddl_event FROM PUBLIC;

-------------------------------------------------------------------------------
-- Classification tags
-------------------------------------------------------------------------------

CREATE FUNCTION witness.classifications() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{pii,financial,confidential,restricted,internal}'::pg_catalog.text[] $$;
COMMENT ON FUNCTION witness.classifications() IS 'the classification tags pg_witness knows, in bit order';

CREATE FUNCTION witness.tag_mask(tags text[]) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT COALESCE(pg_catalog.sum(DISTINCT (1 OPERATOR(pg_catalog.<<) (pg_catalog.array_position(witness.classifications(), t) OPERATOR(pg_catalog.-) 1))), 0)::smallint
	FROM pg_catalog.unnest(tags) AS t
$$;
COMMENT ON FUNCTION witness.tag_mask(text[]) IS 'bit mask of classification tags, as stored in witness.entry.tags';

CREATE FUNCTION witness.tag_names(mask smallint) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT COALESCE(pg_catalog.array_agg(c ORDER BY i), '{}')
	FROM pg_catalog.unnest(witness.classifications()) WITH ORDINALITY AS u(c, i)
	WHERE (mask OPERATOR(pg_catalog.&) (1 OPERATOR(pg_catalog.<<) (i::int OPERATOR(pg_catalog.-) 1))::smallint) OPERATOR(pg_catalog.<>) 0
$$;
COMMENT ON FUNCTION witness.tag_names(smallint) IS 'classification tags named by a witness.entry.tags bit mask';

-------------------------------------------------------------------------------
-- C functions
-------------------------------------------------------------------------------

CREATE FUNCTION witness.capture() RETURNS trigger
AS 'MODULE_PATHNAME', 'witness_capture' LANGUAGE C;
COMMENT ON FUNCTION witness.capture() IS 'row trigger that records INSERT, UPDATE and DELETE on a tracked table (installed by witness.track)';

CREATE FUNCTION witness.capture_truncate() RETURNS trigger
AS 'MODULE_PATHNAME', 'witness_capture_truncate' LANGUAGE C;
COMMENT ON FUNCTION witness.capture_truncate() IS 'statement trigger that records TRUNCATE of a tracked table (installed by witness.track)';

CREATE FUNCTION witness.entry_leaf_hash(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_entry_leaf_hash' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness.entry_leaf_hash(witness.entry) IS 'recomputes an entry''s leaf hash from its stored content (docs/hashing.md)';

CREATE FUNCTION witness.entry_canonical_bytes(e witness.entry) RETURNS bytea
AS 'MODULE_PATHNAME', 'witness_entry_canonical_bytes' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness.entry_canonical_bytes(witness.entry) IS 'the canonical bytes an entry''s leaf hash is computed over (docs/hashing.md)';

CREATE FUNCTION witness._invalidate(target regclass) RETURNS void
AS 'MODULE_PATHNAME', 'witness_invalidate' LANGUAGE C STRICT;
COMMENT ON FUNCTION witness._invalidate(regclass) IS 'internal: makes every backend reload the capture configuration of a table and its partitions';
REVOKE ALL ON FUNCTION witness._invalidate(regclass) FROM PUBLIC;

-- The mark that lets pg_witness's own DDL past its event triggers (src/pg/capture/internal_ddl.cpp): set only
-- by functions PUBLIC cannot execute, and gone with the (sub)transaction that set it.
CREATE FUNCTION witness._begin_internal_ddl() RETURNS void
AS 'MODULE_PATHNAME', 'witness_begin_internal_ddl' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._begin_internal_ddl() IS 'internal: marks the DDL that follows as pg_witness''s own, until _end_internal_ddl() or the end of the (sub)transaction';
REVOKE ALL ON FUNCTION witness._begin_internal_ddl() FROM PUBLIC;
CREATE FUNCTION witness._end_internal_ddl() RETURNS void
AS 'MODULE_PATHNAME', 'witness_end_internal_ddl' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._end_internal_ddl() IS 'internal: ends what _begin_internal_ddl() began';
REVOKE ALL ON FUNCTION witness._end_internal_ddl() FROM PUBLIC;
CREATE FUNCTION witness._in_internal_ddl() RETURNS boolean
AS 'MODULE_PATHNAME', 'witness_in_internal_ddl' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._in_internal_ddl() IS 'internal: true while pg_witness runs its own DDL';
REVOKE ALL ON FUNCTION witness._in_internal_ddl() FROM PUBLIC;
CREATE FUNCTION witness._outer_user() RETURNS text
AS 'MODULE_PATHNAME', 'witness_outer_user' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness._outer_user() IS 'internal: the role that ran the current command, as SET ROLE set it (SECURITY DEFINER functions do not change it)';
REVOKE ALL ON FUNCTION witness._outer_user() FROM PUBLIC;

-- pg_inherits walked through the catalog snapshot (src/pg/capture/inheritance.cpp): a REPEATABLE READ
-- transaction's SQL view of the catalogs is as old as the transaction.
CREATE FUNCTION witness._inheritance_descendants(rel oid)
RETURNS TABLE (relid oid, depth integer, relkind "char", is_partition boolean, is_temp boolean, is_other_temp boolean)
AS 'MODULE_PATHNAME', 'witness_inheritance_descendants' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._inheritance_descendants(oid) IS 'internal: a relation and all its partitions and inheritance descendants, as committed now';
CREATE FUNCTION witness._inheritance_ancestors(rel oid)
RETURNS TABLE (relid oid, depth integer, relkind "char", is_partition boolean, is_temp boolean, is_other_temp boolean)
AS 'MODULE_PATHNAME', 'witness_inheritance_ancestors' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._inheritance_ancestors(oid) IS 'internal: a relation and all the tables it is a partition or inheritance child of, as committed now';

CREATE FUNCTION witness._capture_rows(target regclass) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_capture_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._capture_rows(regclass) IS 'internal: records every row of a table that joined a tracked table (ATTACH PARTITION, INHERIT) as an INSERT entry';
REVOKE ALL ON FUNCTION witness._capture_rows(regclass) FROM PUBLIC;
CREATE FUNCTION witness._count_rows(target regclass) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_count_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._count_rows(regclass) IS 'internal: rows of a table that left a tracked table (DETACH PARTITION, NO INHERIT), counted with the newest snapshot';
REVOKE ALL ON FUNCTION witness._count_rows(regclass) FROM PUBLIC;

CREATE FUNCTION witness.seal() RETURNS SETOF witness.block
AS 'MODULE_PATHNAME', 'witness_seal' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness.seal() IS 'seals every committed, unsealed entry into a new block and returns it (nothing when there is nothing to seal)';
REVOKE ALL ON FUNCTION witness.seal() FROM PUBLIC;

-------------------------------------------------------------------------------
-- Guards: the trail is append-only, and only the capture triggers append
-------------------------------------------------------------------------------

CREATE FUNCTION witness._reject_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_TABLE_NAME = 'ddl_event' THEN
		IF TG_OP = 'INSERT' AND witness._in_internal_ddl() THEN
			RETURN NULL;
		END IF;
		RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'pg_witness records DDL events itself, and they are append-only.';
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

-- UPDATE, DELETE and TRUNCATE are refused always, even with session_replication_role = replica.
CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.entry
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.block
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.block ENABLE ALWAYS TRIGGER witness_append_only;
CREATE TRIGGER witness_insert_only_by_sealer BEFORE INSERT ON witness.block
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
-- INSERT is refused in normal operation; replication apply workers and pg_restore run as replica
-- (session_replication_role = replica) and may load rows, which verification then checks.
CREATE TRIGGER witness_insert_only_by_capture BEFORE INSERT ON witness.entry
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.ddl_event
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.ddl_event ENABLE ALWAYS TRIGGER witness_append_only;
CREATE TRIGGER witness_insert_only_by_pg_witness BEFORE INSERT ON witness.ddl_event
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();

-------------------------------------------------------------------------------
-- What the capture trigger needs to know about a table (read once per backend, then cached)
-------------------------------------------------------------------------------

-- The default row key: the primary key's columns.
CREATE FUNCTION witness.primary_key_columns(target regclass) RETURNS text[]
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT array_agg(a.attname::text ORDER BY k.ord)
	FROM pg_index i
	CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
	WHERE i.indrelid = target AND i.indisprimary
$$;
COMMENT ON FUNCTION witness.primary_key_columns(regclass) IS 'primary key columns of a table, in key order (NULL without a primary key)';

-- The tracked table a relation belongs to: itself, or its nearest tracked ancestor through partitioning
-- or table inheritance (rows of an inheritance child are rows of its parent too); of two at the same
-- distance (multiple inheritance), the older.
CREATE FUNCTION witness._tracked_root(rel oid) RETURNS regclass
LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.relid FROM witness._inheritance_ancestors(rel) a JOIN witness.tracked_table t ON t.relid = a.relid
	ORDER BY a.depth, t.relid::oid LIMIT 1
$$;
COMMENT ON FUNCTION witness._tracked_root(oid) IS 'internal: the tracked table whose configuration applies to a relation';

-- Every relation whose changes are captured: each tracked table (other than pg_witness's own) and all
-- its partitions and inheritance descendants, with the nearest tracked ancestor.
CREATE FUNCTION witness._tracked_tree()
RETURNS TABLE (relid oid, root oid, relkind "char", is_partition boolean, is_tracked boolean, is_temp boolean,
               is_other_temp boolean)
LANGUAGE sql VOLATILE ROWS 20 SET search_path = pg_catalog, pg_temp
AS $$
	SELECT DISTINCT ON (d.relid) d.relid, t.relid::oid, d.relkind, d.is_partition, d.depth = 0, d.is_temp, d.is_other_temp
	FROM witness.tracked_table t CROSS JOIN LATERAL witness._inheritance_descendants(t.relid) d
	WHERE t.schema_name <> 'witness'
	ORDER BY d.relid, d.depth, t.relid::oid
$$;
COMMENT ON FUNCTION witness._tracked_tree() IS 'internal: every relation whose changes are captured, with the tracked table it belongs to';

-- One row per live column of the relation a trigger fired on, resolved against the tracked table
-- (the relation itself or its nearest tracked ancestor).
CREATE FUNCTION witness._capture_plan(fired_on oid)
RETURNS TABLE (tracked oid, schema_name text, table_name text, table_tags smallint, attnum smallint,
               attname text, excluded boolean, column_tags smallint, is_subject boolean, is_key boolean)
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	WITH root AS (
		SELECT t.* FROM witness.tracked_table t WHERE t.relid = witness._tracked_root(fired_on)
	)
	SELECT r.relid::oid, n.nspname::text, c.relname::text, witness.tag_mask(ARRAY[r.classification]),
	       a.attnum, a.attname::text, a.attname = ANY (r.exclude_columns),
	       COALESCE(witness.tag_mask(ARRAY(SELECT jsonb_array_elements_text(r.column_tags -> a.attname::text))), 0::smallint),
	       COALESCE(a.attname = r.subject_column, false),
	       COALESCE(a.attname = ANY (r.key_columns), false)
	FROM root r
	JOIN pg_class c ON c.oid = r.relid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attribute a ON a.attrelid = fired_on AND a.attnum > 0 AND NOT a.attisdropped
	ORDER BY a.attnum
$$;
COMMENT ON FUNCTION witness._capture_plan(oid) IS 'internal: capture configuration of the relation a capture trigger fired on';

-------------------------------------------------------------------------------
-- track / untrack
-------------------------------------------------------------------------------

-- Raises unless every name is a live column of target.
CREATE FUNCTION witness._check_columns(target regclass, cols text[], what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	missing text;
BEGIN
	SELECT c INTO missing FROM unnest(cols) AS c
	WHERE c IS NULL OR NOT EXISTS (SELECT 1 FROM pg_attribute a
	                               WHERE a.attrelid = target AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'column "%" named in % does not exist in table %', missing, what, target
			USING ERRCODE = 'undefined_column';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_columns(regclass, text[], text) IS 'internal: validates column names given to witness.track()';

-- Normalises {"col": "tag"} / {"col": ["tag", ...]} to {"col": ["tag", ...]} and validates it.
CREATE FUNCTION witness._normalize_column_tags(target regclass, column_tags jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text;
	v jsonb;
	tags text[];
	result jsonb := '{}';
BEGIN
	IF column_tags IS NULL THEN
		RETURN result;
	END IF;
	IF jsonb_typeof(column_tags) <> 'object' THEN
		RAISE EXCEPTION 'column_tags must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Map column names to a tag or an array of tags, for example {"email": "pii", "iban": ["pii", "financial"]}.';
	END IF;
	PERFORM witness._check_columns(target, ARRAY(SELECT jsonb_object_keys(column_tags)), 'column_tags');
	FOR k, v IN SELECT * FROM jsonb_each(column_tags) LOOP
		IF jsonb_typeof(v) = 'string' THEN
			tags := ARRAY[v #>> '{}'];
		ELSIF jsonb_typeof(v) = 'array' AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string') THEN
			tags := ARRAY(SELECT DISTINCT e FROM jsonb_array_elements_text(v) e ORDER BY 1);
		ELSE
			RAISE EXCEPTION 'tags of column "%" must be a string or an array of strings', k
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM witness._check_classification(t, format('column "%s"', k)) FROM unnest(tags) t;
		result := result || jsonb_build_object(k, to_jsonb(tags));
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION witness._normalize_column_tags(regclass, jsonb) IS 'internal: validates and normalises the column_tags argument of witness.track()';

CREATE FUNCTION witness._check_classification(tag text, what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF tag IS NULL OR NOT tag = ANY (witness.classifications()) THEN
		RAISE EXCEPTION 'unknown classification "%" for %', tag, what
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Valid classifications are: ' || array_to_string(witness.classifications(), ', ') || '.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_classification(text, text) IS 'internal: validates a classification tag';

-- Raises unless target is a table pg_witness can track.
CREATE FUNCTION witness._check_trackable(target regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel record;
BEGIN
	SELECT c.relkind, c.relpersistence, c.relispartition, n.nspname INTO rel
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
	IF rel.nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR rel.nspname LIKE 'pg\_toast\_temp\_%' THEN
		RAISE EXCEPTION 'cannot track system catalog %', target
			USING ERRCODE = 'feature_not_supported';
	END IF;
	IF rel.nspname = 'witness' THEN
		RAISE EXCEPTION 'cannot track %: it belongs to pg_witness', target
			USING ERRCODE = 'feature_not_supported';
	END IF;
	IF rel.relkind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION 'cannot track %: it is not a table', target
			USING ERRCODE = 'wrong_object_type',
			      DETAIL = format('%s is %s.', target, CASE rel.relkind WHEN 'v' THEN 'a view' WHEN 'm' THEN 'a materialized view'
			                      WHEN 'f' THEN 'a foreign table' WHEN 'S' THEN 'a sequence' WHEN 'i' THEN 'an index'
			                      WHEN 'I' THEN 'a partitioned index' WHEN 'c' THEN 'a composite type' ELSE 'not a table' END),
			      HINT = 'Only ordinary and partitioned tables can be tracked.';
	END IF;
	IF rel.relpersistence = 't' THEN
		RAISE EXCEPTION 'cannot track temporary table %', target
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Temporary tables disappear with their session.';
	END IF;
	IF rel.relispartition THEN
		RAISE EXCEPTION 'cannot track partition % on its own', target
			USING ERRCODE = 'wrong_object_type',
			      HINT = format('Track the partitioned table %s: that captures every partition.',
			                    (SELECT a.relid::regclass FROM pg_partition_ancestors(target) WITH ORDINALITY a(relid, ord) ORDER BY ord DESC LIMIT 1));
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_trackable(regclass) IS 'internal: refuses views, foreign and temporary tables, catalogs and partitions';

CREATE FUNCTION witness.track(target regclass, classification text DEFAULT 'internal', column_tags jsonb DEFAULT '{}',
                              exclude_columns text[] DEFAULT '{}', subject_column text DEFAULT NULL,
                              key_columns text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tags jsonb;
	effective_key text[];
	bad text;
BEGIN
	PERFORM witness._check_exists(target, 'track');
	PERFORM witness._check_trackable(target);
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
	END IF;
	IF key_columns IS NOT NULL THEN
		IF cardinality(key_columns) = 0 THEN
			RAISE EXCEPTION 'key_columns must name at least one column' USING ERRCODE = 'invalid_parameter_value',
				HINT = 'Pass NULL to use the primary key.';
		END IF;
		PERFORM witness._check_columns(target, key_columns, 'key_columns');
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

	-- The row key is fixed here: dropping or replacing the primary key later does not change it.
	INSERT INTO witness.tracked_table AS t (relid, classification, column_tags, exclude_columns, subject_column,
	                                        key_columns, key_is_primary_key, schema_name, table_name, column_attnums)
	SELECT target, classification, tags, exclude_columns, subject_column, effective_key,
	       key_columns IS NULL AND effective_key IS NOT NULL, n.nspname, c.relname,
	       witness._column_attnums(target, exclude_columns || ARRAY(SELECT jsonb_object_keys(tags))
	                                       || COALESCE(effective_key, '{}') || subject_column)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target
	ON CONFLICT (relid) DO UPDATE
		SET classification = EXCLUDED.classification, column_tags = EXCLUDED.column_tags,
		    exclude_columns = EXCLUDED.exclude_columns, subject_column = EXCLUDED.subject_column,
		    key_columns = EXCLUDED.key_columns, key_is_primary_key = EXCLUDED.key_is_primary_key,
		    schema_name = EXCLUDED.schema_name, table_name = EXCLUDED.table_name,
		    column_attnums = EXCLUDED.column_attnums, tracked_at = now(), tracked_by = session_user;

	PERFORM witness._sync_capture_triggers();
	PERFORM witness._invalidate(target);
END
$$;
COMMENT ON FUNCTION witness.track(regclass, text, jsonb, text[], text, text[]) IS 'starts (or reconfigures) capture of INSERT, UPDATE, DELETE and TRUNCATE on a table';
REVOKE ALL ON FUNCTION witness.track(regclass, text, jsonb, text[], text, text[]) FROM PUBLIC;

CREATE FUNCTION witness.untrack(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM witness._check_exists(target, 'untrack');
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
COMMENT ON FUNCTION witness.untrack(regclass) IS 'stops capture on a table; its entries stay in the trail';
REVOKE ALL ON FUNCTION witness.untrack(regclass) FROM PUBLIC;

-------------------------------------------------------------------------------
-- The capture triggers: only pg_witness creates, changes and removes them
-------------------------------------------------------------------------------

-- A capture trigger is recognised by its function and its exact shape, never by its name alone: any
-- table owner can create a trigger with any name. pg_witness's own are named witness_capture (AFTER
-- INSERT OR UPDATE OR DELETE FOR EACH ROW, tgtype 29) and witness_capture_truncate (AFTER TRUNCATE FOR
-- EACH STATEMENT, tgtype 32), fire ALWAYS, and have no WHEN clause, column list or arguments.
CREATE FUNCTION witness._is_capture_trigger(t pg_trigger) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.tgenabled = 'A' AND t.tgqual IS NULL AND cardinality(t.tgattr::int2[]) = 0 AND t.tgnargs = 0
	       AND t.tgconstraint = 0 AND t.tgoldtable IS NULL AND t.tgnewtable IS NULL
	       AND ((t.tgname = 'witness_capture' AND t.tgfoid = 'witness.capture()'::regprocedure AND t.tgtype = 29)
	            OR (t.tgname = 'witness_capture_truncate' AND t.tgfoid = 'witness.capture_truncate()'::regprocedure
	                AND t.tgtype = 32))
$$;
COMMENT ON FUNCTION witness._is_capture_trigger(pg_trigger) IS 'internal: true for a capture trigger exactly as pg_witness installs it';

-- Names and functions only pg_witness may use for triggers.
CREATE FUNCTION witness._is_reserved_trigger(t pg_trigger) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.tgname IN ('witness_capture', 'witness_capture_truncate')
	       OR t.tgfoid IN ('witness.capture()'::regprocedure, 'witness.capture_truncate()'::regprocedure)
$$;
COMMENT ON FUNCTION witness._is_reserved_trigger(pg_trigger) IS 'internal: true for a trigger that uses a pg_witness trigger name or capture function';

CREATE FUNCTION witness._check_exists(target regclass, what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF target IS NULL THEN
		RAISE EXCEPTION 'table to % must not be null', what USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_class WHERE oid = target) THEN
		RAISE EXCEPTION 'relation with OID % does not exist', target::oid USING ERRCODE = 'undefined_table';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_exists(regclass, text) IS 'internal: refuses a NULL or dangling table argument';

-- track() installs its own triggers or refuses: a trigger of the same name made by someone else (a
-- witness_capture_truncate that does nothing, say) would otherwise stand in for capture.
CREATE FUNCTION witness._check_foreign_triggers(target regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bad record;
BEGIN
	SELECT t.tgname, t.tgrelid::regclass AS rel INTO bad
	FROM pg_trigger t
	WHERE t.tgrelid IN (SELECT target UNION SELECT relid FROM pg_partition_tree(target)
	                    UNION SELECT inhrelid FROM pg_inherits WHERE inhparent = target)
	  AND witness._is_reserved_trigger(t) AND NOT witness._is_capture_trigger(t) AND t.tgparentid = 0
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'table % has a trigger "%" that pg_witness did not install', bad.rel, bad.tgname
			USING ERRCODE = 'duplicate_object',
			      DETAIL = 'Trigger names witness_capture and witness_capture_truncate and the functions witness.capture() and witness.capture_truncate() are reserved for pg_witness.',
			      HINT = 'Drop or rename that trigger, then call witness.track() again.';
	END IF;
END
$$;
COMMENT ON FUNCTION witness._check_foreign_triggers(regclass) IS 'internal: refuses to track a table that carries a trigger with a reserved name or function';

-- Puts the capture triggers where they belong and removes them from where they do not, and reports
-- each relation that started or stopped being captured. Row triggers: on every tracked table and every
-- inheritance child (PostgreSQL clones them to partitions itself). TRUNCATE triggers: on every plain
-- table in a tracked tree (statement triggers are not cloned). A reserved trigger that is not exactly
-- pg_witness's on a captured relation means tampering, and is refused.
CREATE FUNCTION witness._sync_capture_triggers() RETURNS TABLE (relid oid, change text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
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
	FOR r IN
		WITH tree AS (
			SELECT * FROM witness._tracked_tree() m WHERE NOT m.is_other_temp
		), wanted AS (
			-- PostgreSQL clones the row trigger of a partitioned table to its partitions; every other
			-- relation, a tracked table made a partition of an untracked one included, has its own.
			SELECT m.relid, 'witness_capture'::name AS tgname FROM tree m
			WHERE (m.is_tracked OR NOT m.is_partition) AND m.relkind IN ('r', 'p')
			UNION ALL
			SELECT m.relid, 'witness_capture_truncate' FROM tree m WHERE m.relkind = 'r'
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
		END IF;
		-- A plain table's TRUNCATE trigger comes and goes with its membership of a tracked tree.
		IF r.tgname = 'witness_capture_truncate' THEN
			relid := r.relid;
			change := CASE WHEN r.add THEN 'joined' ELSE 'left' END;
			RETURN NEXT;
		END IF;
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
COMMENT ON FUNCTION witness._sync_capture_triggers() IS 'internal: installs capture triggers on every captured relation, removes them elsewhere, refuses tampered ones';
REVOKE ALL ON FUNCTION witness._sync_capture_triggers() FROM PUBLIC;

-------------------------------------------------------------------------------
-- DDL on tracked tables: refused when it would switch capture off, recorded otherwise
-------------------------------------------------------------------------------

-- The columns a configuration names (excluded, tagged, key, subject).
CREATE FUNCTION witness._configured_columns(cfg witness.tracked_table) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT array_remove(ARRAY(SELECT DISTINCT n FROM unnest(cfg.exclude_columns || ARRAY(SELECT jsonb_object_keys(cfg.column_tags))
	                                                        || COALESCE(cfg.key_columns, '{}') || cfg.subject_column) n), NULL)
$$;
COMMENT ON FUNCTION witness._configured_columns(witness.tracked_table) IS 'internal: the column names a table''s configuration names';

-- Their attribute numbers, which a rename keeps and a drop retires.
CREATE FUNCTION witness._column_attnums(target regclass, names text[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(jsonb_object_agg(a.attname, a.attnum), '{}') FROM pg_attribute a
	WHERE a.attrelid = target AND a.attname = ANY (names) AND a.attnum > 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION witness._column_attnums(regclass, text[]) IS 'internal: attribute numbers of named columns';

-- Columns named in a table's configuration follow a rename, however it happened (RENAME COLUMN, a
-- rename in an inheritance parent, ALTER TYPE ... RENAME ATTRIBUTE of a typed table), and leave it
-- when dropped. Renames are told from drops by attribute number, so an excluded column never becomes
-- captured because it was renamed.
CREATE FUNCTION witness._follow_column_changes(target regclass) RETURNS void
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
COMMENT ON FUNCTION witness._follow_column_changes(regclass) IS 'internal: keeps column names in the configuration in step with renamed and dropped columns';

-- One row of witness.ddl_event, which the trail captures like any tracked change.
CREATE FUNCTION witness._record_ddl(command_tag text, action text, rel oid, schema_name text, table_name text,
                                    root oid, detail jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF rel IS NOT NULL AND schema_name IS NULL THEN
		SELECT n.nspname, c.relname INTO schema_name, table_name
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.ddl_event (command_tag, action, schema_name, table_name, tracked_table, role_name, statement, detail)
	VALUES (command_tag, action, schema_name, table_name,
	        (SELECT format('%I.%I', t.schema_name, t.table_name) FROM witness.tracked_table t WHERE t.relid = root),
	        witness._outer_user(), current_query(), COALESCE(detail, '{}'));
	PERFORM witness._end_internal_ddl();
END
$$;
COMMENT ON FUNCTION witness._record_ddl(text, text, oid, text, text, oid, jsonb) IS 'internal: records one DDL event in witness.ddl_event (and so in the trail)';
REVOKE ALL ON FUNCTION witness._record_ddl(text, text, oid, text, text, oid, jsonb) FROM PUBLIC;

-- The captured relations a DDL command touched: a table and its partitions and inheritance children
-- (ALTER TABLE recurses to them), the table of a trigger or rule, and every captured table whose
-- columns or row type contain the altered type, or the altered table's row type, at any depth (arrays,
-- domains, ranges, composites). Types are followed downwards from the captured tables' columns, so
-- the cost grows with the tracked schema, not with the database.
CREATE FUNCTION witness._touched_relations(classid oid, objid oid) RETURNS TABLE (relid oid, root oid)
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
COMMENT ON FUNCTION witness._touched_relations(oid, oid) IS 'internal: the captured relations a DDL command on an object touched';

CREATE FUNCTION witness._on_ddl_command_end() RETURNS event_trigger
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
COMMENT ON FUNCTION witness._on_ddl_command_end() IS 'internal: after any DDL, refuses tampered capture triggers, keeps capture on every partition and child, follows renames, and records what the DDL did to tracked tables';
REVOKE ALL ON FUNCTION witness._on_ddl_command_end() FROM PUBLIC;

CREATE FUNCTION witness._on_sql_drop() RETURNS event_trigger
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
	-- configuration (that change is captured too).
	FOR obj IN SELECT d.objid, d.schema_name, d.object_name, tt.relid AS root
	           FROM pg_event_trigger_dropped_objects() d
	           LEFT JOIN witness.tracked_table tt ON tt.relid::oid = d.objid
	           WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.object_type IN ('table', 'foreign table')
	             AND (tt.relid IS NOT NULL OR EXISTS (
	                  SELECT FROM pg_event_trigger_dropped_objects() x
	                  WHERE x.object_type = 'trigger' AND x.address_names[3] IN ('witness_capture', 'witness_capture_truncate')
	                    AND x.address_names[1] = d.schema_name AND x.address_names[2] = d.object_name)) LOOP
		PERFORM witness._record_ddl(tg_tag, 'dropped', NULL, obj.schema_name, obj.object_name, obj.root::oid,
		                            CASE WHEN obj.root IS NULL THEN '{}'::jsonb ELSE '{"tracked": true}'::jsonb END);
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
END
$$;
COMMENT ON FUNCTION witness._on_sql_drop() IS 'internal: refuses to drop capture triggers of tracked tables, records dropped tables and columns, forgets dropped tracked tables';
REVOKE ALL ON FUNCTION witness._on_sql_drop() FROM PUBLIC;

-- No tag filter: a tracked table can be dropped or changed by DROP TYPE ... CASCADE, DROP SCHEMA,
-- DROP OWNED, ALTER TYPE, CREATE TRIGGER and more, and each must be seen.
CREATE EVENT TRIGGER witness_ddl_command_end ON ddl_command_end
	EXECUTE FUNCTION witness._on_ddl_command_end();
ALTER EVENT TRIGGER witness_ddl_command_end ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER witness_ddl_command_end IS 'pg_witness: keeps capture triggers intact and on every partition and child, and records DDL on tracked tables';
CREATE EVENT TRIGGER witness_sql_drop ON sql_drop
	EXECUTE FUNCTION witness._on_sql_drop();
ALTER EVENT TRIGGER witness_sql_drop ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER witness_sql_drop IS 'pg_witness: protects capture triggers and records dropped tracked tables, partitions and columns';

-------------------------------------------------------------------------------
-- Verification
-------------------------------------------------------------------------------

CREATE FUNCTION witness.verify(first_block bigint DEFAULT NULL, last_block bigint DEFAULT NULL)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval)
AS 'MODULE_PATHNAME', 'witness_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness.verify(bigint, bigint) IS 'recomputes leaf hashes, block membership, Merkle roots and the chain (whole trail, or blocks first_block..last_block); one row per problem, or one row with status valid; oldest_pending_age: how long the oldest unsealed entry has waited';
REVOKE ALL ON FUNCTION witness.verify(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION witness.verify_period(since timestamptz, until timestamptz)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	first_no bigint;
	last_no bigint;
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT min(b.block_no), max(b.block_no) INTO first_no, last_no FROM witness.block b
	WHERE b.sealed_at >= since AND b.sealed_at < until;
	IF first_no IS NULL THEN
		-- Nothing was checked, so nothing can be called valid.
		RETURN QUERY SELECT 'empty'::text, 0::bigint, 0::bigint, 0::bigint, NULL::text, NULL::bigint, NULL::bigint,
		                    format('no block was sealed between %s and %s', since, until), NULL::interval;
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM witness.verify(first_no, last_no);
END
$$;
COMMENT ON FUNCTION witness.verify_period(timestamptz, timestamptz) IS 'witness.verify() for the blocks sealed in [since, until); status empty when no block was sealed then';
REVOKE ALL ON FUNCTION witness.verify_period(timestamptz, timestamptz) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Background sealing status
-------------------------------------------------------------------------------

-- SECURITY DEFINER: a role granted the view needs no access to the trail's tables to see its counts.
CREATE FUNCTION witness._seal_status(OUT background text, OUT entries_pending bigint,
                                     OUT oldest_pending_since timestamptz, OUT oldest_pending_age interval,
                                     OUT last_block_no bigint, OUT last_sealed_at timestamptz,
                                     OUT last_pass_at timestamptz, OUT last_pass_result text,
                                     OUT last_error text, OUT last_error_at timestamptz)
AS 'MODULE_PATHNAME', 'witness_seal_status' LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION witness._seal_status() IS 'internal: the row of witness.seal_status';
REVOKE ALL ON FUNCTION witness._seal_status() FROM PUBLIC;

CREATE VIEW witness.seal_status AS SELECT * FROM witness._seal_status();
COMMENT ON VIEW witness.seal_status IS 'how far sealing is behind in this database: entries committed and not sealed, how long the oldest has waited, the newest block, and the background sealer''s last pass here';
COMMENT ON COLUMN witness.seal_status.background IS 'background sealing: on, off (witness.seal_interval = 0), not loaded (pg_witness not in shared_preload_libraries), not running (no launcher), or standby';
COMMENT ON COLUMN witness.seal_status.entries_pending IS 'committed entries in no block yet';
COMMENT ON COLUMN witness.seal_status.oldest_pending_since IS 'stmt_time of the oldest of them (NULL when none)';
COMMENT ON COLUMN witness.seal_status.oldest_pending_age IS 'how long the oldest of them has waited: now minus oldest_pending_since';
COMMENT ON COLUMN witness.seal_status.last_block_no IS 'the newest block';
COMMENT ON COLUMN witness.seal_status.last_sealed_at IS 'when the newest block was sealed';
COMMENT ON COLUMN witness.seal_status.last_pass_at IS 'when the background sealer last finished a pass in this database (since the server started)';
COMMENT ON COLUMN witness.seal_status.last_pass_result IS 'how that pass ended: sealed, nothing to seal, busy (another sealer held the trail), not installed, failed or lost';
COMMENT ON COLUMN witness.seal_status.last_error IS 'the error of the last failed or lost background pass in this database';
COMMENT ON COLUMN witness.seal_status.last_error_at IS 'when that error happened';
REVOKE ALL ON witness.seal_status FROM PUBLIC;

CREATE FUNCTION witness._wake_sealer() RETURNS void
AS 'MODULE_PATHNAME', 'witness_wake_sealer' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._wake_sealer() IS 'internal: has the background sealer look at this database as soon as the transaction commits';
REVOKE ALL ON FUNCTION witness._wake_sealer() FROM PUBLIC;

-------------------------------------------------------------------------------
-- Signed digests
-------------------------------------------------------------------------------

CREATE FUNCTION witness.digest() RETURNS jsonb
AS 'MODULE_PATHNAME', 'witness_digest' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness.digest() IS 'signed digest of the newest block (database, block number and hash, entries sealed, time), signed with the keys named by witness.hmac_key_file and witness.ed25519_key_file';
REVOKE ALL ON FUNCTION witness.digest() FROM PUBLIC;

CREATE FUNCTION witness._check_digest(signed jsonb, ed25519_public_key text,
                                      OUT block_no bigint, OUT block_hash bytea, OUT database text, OUT entries bigint,
                                      OUT digest_time timestamptz, OUT hmac text, OUT ed25519 text)
AS 'MODULE_PATHNAME', 'witness_check_digest' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness._check_digest(jsonb, text) IS 'internal: parses a signed digest and checks its signatures';
REVOKE ALL ON FUNCTION witness._check_digest(jsonb, text) FROM PUBLIC;

CREATE FUNCTION witness.verify_digest(digest jsonb, ed25519_public_key text DEFAULT NULL)
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
			INTO problems FROM witness.verify(d.block_no, NULL) v WHERE v.problem IS NOT NULL;
			IF problems IS NOT NULL THEN
				detail := 'the trail since the digest does not verify: ' || problems;
			ELSE
				status := 'valid';
				detail := format('the trail extends the digested state of block %s (%s entries, digested %s)',
				                 d.block_no, d.entries, d.digest_time);
			END IF;
		END IF;
	END IF;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION witness.verify_digest(jsonb, text) IS 'checks that the current trail still extends exactly the state a signed digest describes';
REVOKE ALL ON FUNCTION witness.verify_digest(jsonb, text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Inclusion proofs
-------------------------------------------------------------------------------

CREATE FUNCTION witness._merkle_audit_path(leaves bytea[], leaf_index integer) RETURNS bytea[]
AS 'MODULE_PATHNAME', 'witness_merkle_audit_path' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION witness._merkle_audit_path(bytea[], integer) IS 'internal: RFC 9162 audit path of one leaf among leaves';

-- A block as it appears in exports and proofs: every header field, hashes in hex.
CREATE FUNCTION witness._block_json(b witness.block) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('block_no', b.block_no, 'snapshot', b.snapshot::text, 'entry_count', b.entry_count,
	                          'first_entry_id', b.first_entry_id, 'last_entry_id', b.last_entry_id,
	                          'merkle_root', encode(b.merkle_root, 'hex'), 'prev_hash', encode(b.prev_hash, 'hex'),
	                          'sealed_at_us', (extract(epoch FROM b.sealed_at) * 1000000)::bigint,
	                          'block_hash', encode(b.block_hash, 'hex'))
$$;
COMMENT ON FUNCTION witness._block_json(witness.block) IS 'internal: a block header as JSON, as in exports and proofs';

-- The block an entry was sealed into: the first whose snapshot sees its transaction.
CREATE FUNCTION witness.block_of(entry_id bigint) RETURNS witness.block
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
	SELECT b.* FROM witness.entry e JOIN witness.block b ON pg_visible_in_snapshot(e.xid, b.snapshot)
	WHERE e.id = entry_id ORDER BY b.block_no LIMIT 1
$$;
COMMENT ON FUNCTION witness.block_of(bigint) IS 'the block an entry belongs to (NULL while it is not sealed)';

CREATE FUNCTION witness.prove(entry_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e witness.entry;
	same_id witness.entry[];
	b witness.block;
	prev_snapshot pg_snapshot;
	leaves bytea[];
	ids bigint[];
	idx integer;
BEGIN
	SELECT array_agg(x) INTO same_id FROM witness.entry x WHERE x.id = entry_id;
	IF same_id IS NULL THEN
		RAISE EXCEPTION 'entry % does not exist', entry_id USING ERRCODE = 'no_data_found';
	END IF;
	IF cardinality(same_id) > 1 THEN
		RAISE EXCEPTION 'entry id % appears % times', entry_id, cardinality(same_id)
			USING ERRCODE = 'data_corrupted', HINT = 'Run witness.verify() to see which one was inserted.';
	END IF;
	e := same_id[1];
	IF witness.entry_leaf_hash(e) <> e.leaf_hash THEN
		RAISE EXCEPTION 'entry % does not match its leaf hash', entry_id
			USING ERRCODE = 'data_corrupted', HINT = 'Run witness.verify() to see what was altered.';
	END IF;
	b := witness.block_of(entry_id);
	IF b.block_no IS NULL THEN
		RAISE EXCEPTION 'entry % is not sealed yet', entry_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Call witness.seal(), or wait for the background sealer.';
	END IF;
	SELECT snapshot INTO prev_snapshot FROM witness.block WHERE block_no = b.block_no - 1;
	SELECT array_agg(m.leaf_hash ORDER BY m.id), array_agg(m.id ORDER BY m.id) INTO leaves, ids
	FROM witness.entry m
	WHERE pg_visible_in_snapshot(m.xid, b.snapshot)
	  AND (prev_snapshot IS NULL OR (m.xid >= pg_snapshot_xmin(prev_snapshot) AND NOT pg_visible_in_snapshot(m.xid, prev_snapshot)));
	idx := array_position(ids, entry_id) - 1;
	RETURN jsonb_build_object(
		'entry_id', entry_id, 'leaf_hash', encode(e.leaf_hash, 'hex'), 'block_no', b.block_no,
		'leaf_index', idx, 'tree_size', cardinality(leaves),
		'audit_path', (SELECT COALESCE(jsonb_agg(encode(p, 'hex') ORDER BY o), '[]') FROM unnest(witness._merkle_audit_path(leaves, idx)) WITH ORDINALITY AS u(p, o)),
		'merkle_root', encode(b.merkle_root, 'hex'), 'block_hash', encode(b.block_hash, 'hex'),
		'block_header', witness._block_json(b));
END
$$;
COMMENT ON FUNCTION witness.prove(bigint) IS 'inclusion proof of one entry: leaf hash, audit path, Merkle root and block header, checkable without the database (docs/verification.md)';

-------------------------------------------------------------------------------
-- Export for independent verification (witness-verify, docs/verification.md)
-------------------------------------------------------------------------------

CREATE FUNCTION witness.database_id() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || current_database() $$;
COMMENT ON FUNCTION witness.database_id() IS 'identity of this database in digests: cluster system identifier and database name';

-- A C function that streams (src/pg/export/export_trail.cpp): COPY (SELECT witness.export_trail()) TO STDOUT
-- keeps no row in the backend. Header, blocks in block_no order, entries in id order.
CREATE FUNCTION witness.export_trail() RETURNS SETOF text
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'witness_export_trail';
COMMENT ON FUNCTION witness.export_trail() IS 'the whole trail as JSON lines (header, blocks, entries) for witness-verify; export it byte-exact with COPY (SELECT witness.export_trail()) TO STDOUT';
REVOKE ALL ON FUNCTION witness.export_trail() FROM PUBLIC;

-------------------------------------------------------------------------------
-- Views
-------------------------------------------------------------------------------

CREATE VIEW witness.tracked_tables AS
SELECT t.relid AS table_name, t.classification, t.column_tags, t.exclude_columns, t.subject_column,
       t.key_columns, t.key_is_primary_key, t.tracked_at, t.tracked_by
FROM witness.tracked_table t;
COMMENT ON VIEW witness.tracked_tables IS 'tables tracked by pg_witness and how (key_columns shows the effective row key)';

CREATE VIEW witness.log AS
SELECT e.id, e.xid, e.stmt_time,
       CASE e.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' WHEN 'T' THEN 'TRUNCATE' END AS operation,
       e.schema_name, e.table_name, e.row_key::jsonb AS row_key, e.subject, witness.tag_names(e.tags) AS tags,
       e.old_values::jsonb AS old_values, e.new_values::jsonb AS new_values, e.session_user_name,
       e.current_user_name, e.application_name, e.client_addr, e.client_port, e.backend_pid, e.actor, e.reason,
       e.context::jsonb AS context, e.leaf_hash
FROM witness.entry e;
COMMENT ON VIEW witness.log IS 'the trail with readable operation and tag names, one row per captured change';

REVOKE ALL ON witness.tracked_tables, witness.log FROM PUBLIC;

-------------------------------------------------------------------------------
-- Changes to the configuration are themselves captured
-------------------------------------------------------------------------------

INSERT INTO witness.tracked_table (relid, classification, key_columns, schema_name, table_name)
VALUES ('witness.tracked_table', 'internal', '{relid}', 'witness', 'tracked_table'),
       ('witness.ddl_event', 'internal', '{event_id}', 'witness', 'ddl_event');
-- Fires on origin only: a restore (session_replication_role = replica) loads configuration rows
-- together with the entries that recorded them, and must not record them a second time.
CREATE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON witness.tracked_table
	FOR EACH ROW EXECUTE FUNCTION witness.capture();
CREATE TRIGGER witness_no_truncate BEFORE TRUNCATE ON witness.tracked_table
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.tracked_table ENABLE ALWAYS TRIGGER witness_no_truncate;
CREATE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON witness.ddl_event
	FOR EACH ROW EXECUTE FUNCTION witness.capture();

-- Background sealing starts in this database as soon as CREATE EXTENSION commits.
SELECT witness._wake_sealer();
