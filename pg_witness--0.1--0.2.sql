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
COMMENT ON COLUMN witness.entry.salt IS 'format 2: the 32 random bytes the payload commitment is salted with; NULL once the payload is erased';
COMMENT ON COLUMN witness.entry.commitment IS 'format 2: SHA-256(0x03 || salt || canonical payload bytes), covered by the leaf hash in place of the payload';
COMMENT ON COLUMN witness.entry.subject_pseudonym IS 'format 2: keyed pseudonym of the subject (HMAC-SHA256 under a key derived from the master key), when one is configured';
COMMENT ON COLUMN witness.entry.erasure_id IS 'the erasure that removed this entry''s payload, or NULL';
