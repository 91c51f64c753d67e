-- Transaction-id eras (docs/verification.md, "Transaction-id eras"), in one cluster: an era whose
-- boundary falls between two blocks changes no block's members, so the trail stays valid and prove(),
-- block_of() and the members of a block follow the era rule (an era's first block excludes nothing).
-- Moving the boundary by one entry either way is reported. Verified from block b1 on: earlier tests
-- leave the trail before it tampered on purpose.
-- (test/integration/dump_restore_new_cluster.sh starts a real era, in a cluster behind the trail.)
\set SHOW_CONTEXT never
CREATE TABLE era_t (id int PRIMARY KEY, v text);
SELECT witness.track('era_t', 'internal');
SELECT count(*) >= 0 AS sealed FROM witness.seal();
INSERT INTO era_t SELECT g, 'a' FROM generate_series(1, 3) g;
SELECT block_no AS b1 FROM witness.seal() \gset
INSERT INTO era_t SELECT g, 'b' FROM generate_series(4, 6) g;
SELECT block_no AS b2, first_entry_id AS f2 FROM witness.seal() \gset
SELECT :b2 = :b1 + 1 AS consecutive, (SELECT count(*) FROM witness.era) AS eras;

-- A forged era from block b2's first entry on (replica mode passes the insert guard and the capture).
SET session_replication_role = replica;
INSERT INTO witness.era (first_entry_id, first_block_no, system_identifier, trail_xmax, cluster_next_xid)
VALUES (:f2, :b2, 'forged', '1', '1');
RESET session_replication_role;
SELECT status, problem FROM witness.verify(:b1);
SELECT first_id = :f2 AS from_f2, next_first_id = 9223372036854775807 AS open_ended, first_block = :b2 AS from_b2
FROM witness._era_bounds(:f2);
SELECT next_first_id = :f2 AS until_f2, end_block = :b2 AS until_b2 FROM witness._era_bounds(:f2 - 1);
SELECT witness._previous_snapshot(:b2) IS NULL AS b2_excludes_nothing, witness._previous_snapshot(:b1) IS NULL AS b1_excludes_nothing;
SELECT e.new_values->>'v' AS v, (witness.prove(e.id)->>'block_no')::bigint - :b1 AS block, (witness.block_of(e.id)).block_no - :b1 AS block_of
FROM witness.entry e WHERE e.table_name = 'era_t' ORDER BY e.id;
SELECT cardinality(ids) = (SELECT entry_count FROM witness.block WHERE block_no = :b2) AS b2_members
FROM witness._block_members((SELECT b FROM witness.block b WHERE block_no = :b2));

-- Moving the boundary (the append-only guard disabled by a superuser) is reported.
ALTER TABLE witness.era DISABLE TRIGGER witness_append_only;
UPDATE witness.era SET first_entry_id = :f2 + 1;
SELECT status, problem, block_no - :b1 AS block, entry_id - :f2 AS entry FROM witness.verify(:b1) ORDER BY 2, 3, 4;
UPDATE witness.era SET first_entry_id = :f2 - 1;
SELECT status, problem, block_no - :b1 AS block, entry_id - :f2 AS entry FROM witness.verify(:b1) ORDER BY 2, 3, 4;
DELETE FROM witness.era;
ALTER TABLE witness.era ENABLE ALWAYS TRIGGER witness_append_only;
SELECT status FROM witness.verify(:b1);
-- Only pg_witness writes eras, even for a superuser.
INSERT INTO witness.era (first_entry_id, first_block_no, system_identifier, trail_xmax, cluster_next_xid)
VALUES (1, 2, 'x', '1', '1');
DELETE FROM witness.era;
