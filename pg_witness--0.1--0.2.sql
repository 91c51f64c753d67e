-- pg_witness 0.1 -> 0.2: canonical format 2 (docs/hashing.md): the leaf hash covers an entry's
-- header and a salted commitment to its payload, so that a data subject's payload can be erased
-- while every block still verifies (docs/personal-data.md). Entries written before the update keep
-- format 1 and keep verifying as such.
\echo Use "ALTER EXTENSION pg_witness UPDATE TO '0.2'" to load this file. \quit

ALTER TABLE witness.entry
	ADD COLUMN salt bytea,
	ADD COLUMN commitment bytea,
	ADD COLUMN subject_pseudonym bytea,
	ADD COLUMN erasure_id bigint;
COMMENT ON COLUMN witness.entry.salt IS 'format 2: the 16 random bytes the payload commitment is salted with; NULL once the payload is erased';
COMMENT ON COLUMN witness.entry.commitment IS 'format 2: SHA-256(0x03 || salt || canonical payload bytes), covered by the leaf hash in place of the payload';
COMMENT ON COLUMN witness.entry.subject_pseudonym IS 'format 2: keyed pseudonym of the subject (HMAC-SHA256 under a key derived from the master key), when one is configured';
COMMENT ON COLUMN witness.entry.erasure_id IS 'the erasure that removed this entry''s payload, or NULL';

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
	erased_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE witness.erasure IS 'pg_witness: one row per erasure of a data subject''s payloads; each row is captured into the trail';
COMMENT ON COLUMN witness.erasure.entry_ids IS 'the entries whose payload and salt this erasure removed';
COMMENT ON COLUMN witness.erasure.reason IS 'why, as the caller of witness.erase_subject() gave it';
COMMENT ON COLUMN witness.erasure.role_name IS 'the role that called witness.erase_subject() (after SET ROLE)';
COMMENT ON COLUMN witness.erasure.erased_at IS 'when the erasure ran';
COMMENT ON SEQUENCE witness.erasure_erasure_id_seq IS 'pg_witness erasure ids';
SELECT pg_catalog.pg_extension_config_dump('witness.erasure', '');
SELECT pg_catalog.pg_extension_config_dump('witness.erasure_erasure_id_seq', '');
REVOKE ALL ON witness.erasure FROM PUBLIC;

CREATE OR REPLACE FUNCTION witness._reject_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_TABLE_NAME IN ('ddl_event', 'erasure') THEN
		IF TG_OP = 'INSERT' AND witness._in_internal_ddl() THEN
			RETURN NULL;
		END IF;
		RAISE EXCEPTION 'cannot % %.%', lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'pg_witness records DDL events and erasures itself, and they are append-only.';
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

CREATE TRIGGER witness_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON witness.erasure
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
ALTER TABLE witness.erasure ENABLE ALWAYS TRIGGER witness_append_only;
CREATE TRIGGER witness_insert_only_by_pg_witness BEFORE INSERT ON witness.erasure
	FOR EACH STATEMENT EXECUTE FUNCTION witness._reject_write();
-- Not captured: installing or updating the extension writes no entry (as 0.1's own rows were not).
SET LOCAL session_replication_role = replica;
INSERT INTO witness.tracked_table (relid, classification, key_columns, schema_name, table_name)
VALUES ('witness.erasure', 'internal', '{erasure_id}', 'witness', 'erasure');
RESET session_replication_role;
CREATE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON witness.erasure
	FOR EACH ROW EXECUTE FUNCTION witness.capture();
SELECT pg_catalog.pg_extension_config_dump('witness.tracked_table', $$WHERE relid OPERATOR(pg_catalog.<>) ALL (ARRAY['witness.tracked_table'::pg_catalog.regclass, 'witness.ddl_event'::pg_catalog.regclass, 'witness.erasure'::pg_catalog.regclass])$$);

CREATE FUNCTION witness._erase_payloads(entries tid[], ids bigint[], erasure_id bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'witness_erase_payloads' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION witness._erase_payloads(tid[], bigint[], bigint) IS 'internal: removes payload and salt of format-2 entries, keeping their commitment, and marks them with the erasure';
REVOKE ALL ON FUNCTION witness._erase_payloads(tid[], bigint[], bigint) FROM PUBLIC;

-- Where a legal hold (a later version) will refuse an erasure: it raises to refuse.
CREATE FUNCTION witness._check_erasure_allowed(subject text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- No legal holds yet: every erasure is allowed.
	RETURN;
END
$$;
COMMENT ON FUNCTION witness._check_erasure_allowed(text) IS 'internal: raises when an erasure of the subject must be refused (legal holds)';
REVOKE ALL ON FUNCTION witness._check_erasure_allowed(text) FROM PUBLIC;

CREATE FUNCTION witness.erase_subject(subject text, reason text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tids tid[];
	ids bigint[];
	format1 bigint;
	new_erasure bigint;
BEGIN
	IF subject IS NULL OR subject = '' THEN
		RAISE EXCEPTION 'subject must not be null or empty' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF reason IS NULL OR btrim(reason) = '' THEN
		RAISE EXCEPTION 'an erasure needs a reason' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example: witness.erase_subject(''customer:42'', ''GDPR Art. 17 request #1234'').';
	END IF;
	IF octet_length(reason) > 1024 THEN
		RAISE EXCEPTION 'reason is too long' USING ERRCODE = 'string_data_right_truncation',
			DETAIL = format('It has %s bytes; at most 1024 are allowed.', octet_length(reason));
	END IF;
	PERFORM witness._check_erasure_allowed(subject);
	-- One erasure at a time: two would race to update the same entries.
	PERFORM pg_advisory_xact_lock(pg_catalog.hashtext('pg_witness erase_subject'));
	SELECT array_agg(e.ctid ORDER BY e.id), array_agg(e.id ORDER BY e.id) INTO tids, ids
	FROM witness.entry e
	WHERE e.subject = erase_subject.subject AND e.format = 2 AND e.erasure_id IS NULL;
	SELECT count(*) INTO format1 FROM witness.entry e WHERE e.subject = erase_subject.subject AND e.format = 1;
	IF format1 > 0 THEN
		RAISE WARNING '% entries of this subject were captured in format 1 and cannot be erased', format1
			USING DETAIL = 'Their values are covered by their leaf hashes directly (docs/personal-data.md).';
	END IF;
	PERFORM witness._begin_internal_ddl();
	INSERT INTO witness.erasure (entry_ids, reason, role_name)
	VALUES (COALESCE(ids, '{}'), reason, witness._outer_user())
	RETURNING erasure_id INTO new_erasure;
	PERFORM witness._end_internal_ddl();
	IF ids IS NULL THEN
		RETURN 0;
	END IF;
	RETURN witness._erase_payloads(tids, ids, new_erasure);
END
$$;
COMMENT ON FUNCTION witness.erase_subject(text, text) IS 'erases the payload (row key, subject, values) of every format-2 entry of a data subject, keeping the chain verifiable; records the erasure in the trail and returns how many entries it erased';
REVOKE ALL ON FUNCTION witness.erase_subject(text, text) FROM PUBLIC;

-- witness.verify() and verify_period() count the entries a recorded erasure emptied.
DROP FUNCTION witness.verify_period(timestamptz, timestamptz);
DROP FUNCTION witness.verify(bigint, bigint);
CREATE FUNCTION witness.verify(first_block bigint DEFAULT NULL, last_block bigint DEFAULT NULL)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval,
               entries_erased bigint)
AS 'MODULE_PATHNAME', 'witness_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION witness.verify(bigint, bigint) IS 'recomputes leaf hashes, block membership, Merkle roots and the chain (whole trail, or blocks first_block..last_block); one row per problem, or one row with status valid; oldest_pending_age: how long the oldest unsealed entry has waited; entries_erased: entries whose payload a recorded erasure removed';
REVOKE ALL ON FUNCTION witness.verify(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION witness.verify_period(since timestamptz, until timestamptz)
RETURNS TABLE (status text, blocks_checked bigint, entries_checked bigint, entries_pending bigint,
               problem text, block_no bigint, entry_id bigint, detail text, oldest_pending_age interval,
               entries_erased bigint)
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
		                    format('no block was sealed between %s and %s', since, until), NULL::interval, 0::bigint;
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
COMMENT ON FUNCTION witness.entry_payload_bytes(witness.entry) IS 'format 2: the canonical payload bytes an entry''s commitment covers (docs/hashing.md); NULL for format 1 and for an erased payload';
