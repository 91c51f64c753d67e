-- Statements inside statements (docs/capture.md, "Order inside nested statements"): a row's entries
-- keep the order of its changes when a trigger changes, inside the statement, rows the statement
-- changed already; and an entry names the role its statement ran as.
SET client_min_messages = warning;
CREATE SCHEMA nest;
SELECT witness._last_entry_id() AS ids0 \gset

-- Whether each row's entries, in id order, chain: every change starts from the value the one before
-- left. Lists the rows whose entries do not.
CREATE FUNCTION nest.broken_chains(tbl text, col text) RETURNS TABLE (row_key text, ids bigint[])
LANGUAGE sql AS $$
    SELECT row_key, array_agg(id ORDER BY id)
    FROM (SELECT id, e.row_key::text AS row_key, old_values ->> col AS old, op,
                 lag(new_values ->> col) OVER (PARTITION BY e.row_key::text ORDER BY id) AS before,
                 lag(op) OVER (PARTITION BY e.row_key::text ORDER BY id) AS op_before
          FROM witness.entry e WHERE schema_name = 'nest' AND table_name = tbl) s
    WHERE (op = 'U' AND op_before IS NOT NULL AND op_before <> 'D' AND old IS DISTINCT FROM before)
       OR (op = 'I' AND op_before IS NOT NULL AND op_before <> 'D')
       OR (op <> 'I' AND op_before = 'D')
    GROUP BY row_key
$$;

-- A BEFORE trigger rolls a child's change up into its parent, which the statement changed already:
-- the parent's own change (0 -> 5) comes before the roll-up (5 -> 10), though the roll-up's statement
-- fired its capture trigger first. Three levels deep: 3 rolls into 2, which rolls into 1.
CREATE TABLE nest.acct (id int PRIMARY KEY, parent int, bal int);
SELECT FROM witness.track('nest.acct');
INSERT INTO nest.acct VALUES (1, NULL, 0), (2, 1, 0), (3, 2, 0);
CREATE FUNCTION nest.rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.parent IS NOT NULL AND NEW.bal <> OLD.bal THEN
    UPDATE nest.acct SET bal = bal + (NEW.bal - OLD.bal) WHERE id = NEW.parent;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER rollup BEFORE UPDATE ON nest.acct FOR EACH ROW EXECUTE FUNCTION nest.rollup();
UPDATE nest.acct SET bal = bal + 5 WHERE id IN (1, 2, 3);
SELECT id, bal FROM nest.acct ORDER BY id;
SELECT row_key ->> 'id' AS acct, old_values ->> 'bal' AS old, new_values ->> 'bal' AS new
FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'acct' AND op = 'U' ORDER BY row_key ->> 'id', id;
SELECT * FROM nest.broken_chains('acct', 'bal');

-- The same inside a transaction, after a savepoint the nested change rolls back to: the rolled-back
-- roll-up leaves no entry, the one after it is kept, in order.
CREATE FUNCTION nest.rollup_twice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.parent IS NOT NULL AND NEW.bal <> OLD.bal THEN
    BEGIN
      UPDATE nest.acct SET bal = bal + 1000 WHERE id = NEW.parent;
      RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    UPDATE nest.acct SET bal = bal + (NEW.bal - OLD.bal) WHERE id = NEW.parent;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER rollup ON nest.acct;
CREATE TRIGGER rollup BEFORE UPDATE ON nest.acct FOR EACH ROW EXECUTE FUNCTION nest.rollup_twice();
BEGIN;
UPDATE nest.acct SET bal = bal + 1 WHERE id IN (1, 2);
SAVEPOINT s;
UPDATE nest.acct SET bal = bal + 1 WHERE id IN (1, 2);
ROLLBACK TO s;
UPDATE nest.acct SET bal = bal + 2 WHERE id IN (1, 2);
COMMIT;
SELECT id, bal FROM nest.acct ORDER BY id;
SELECT count(*) AS entries, count(*) FILTER (WHERE (new_values ->> 'bal')::int >= 1000) AS rolled_back_kept
FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'acct' AND op = 'U';
SELECT * FROM nest.broken_chains('acct', 'bal');
DROP TRIGGER rollup ON nest.acct;

-- A user's AFTER trigger that fires before pg_witness's (its name sorts first) changes the row again,
-- and puts back a row the statement deleted: the statement's entry comes first each time.
CREATE TABLE nest.item (id int PRIMARY KEY, n int);
SELECT FROM witness.track('nest.item');
INSERT INTO nest.item SELECT g, 0 FROM generate_series(1, 3) g;
CREATE FUNCTION nest.again() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.n = 1 THEN
    UPDATE nest.item SET n = 2 WHERE id = NEW.id;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO nest.item VALUES (OLD.id, -1);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER a_again AFTER UPDATE OR DELETE ON nest.item FOR EACH ROW EXECUTE FUNCTION nest.again();
UPDATE nest.item SET n = 1;
DELETE FROM nest.item WHERE id = 3;
SELECT id, n FROM nest.item ORDER BY id;
SELECT row_key ->> 'id' AS item, op, old_values ->> 'n' AS old, new_values ->> 'n' AS new
FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'item' ORDER BY row_key ->> 'id', id;
SELECT * FROM nest.broken_chains('item', 'n');
DROP TRIGGER a_again ON nest.item;

-- Many held entries spill to a temporary file (work_mem 64 kB) and all come back, in order: an AFTER
-- STATEMENT trigger of an UPDATE changes 5000 rows of another table (after every change of the
-- statement, so after its entries).
CREATE TABLE nest.many (id int PRIMARY KEY, v text);
SELECT FROM witness.track('nest.many');
INSERT INTO nest.many SELECT g, 'x' FROM generate_series(1, 5000) g;
CREATE FUNCTION nest.touch_many() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE nest.many SET v = repeat('y', 40) || id;
  RETURN NULL;
END $$;
CREATE TRIGGER touch_many AFTER UPDATE ON nest.item FOR EACH STATEMENT EXECUTE FUNCTION nest.touch_many();
SET work_mem = '64kB';
UPDATE nest.item SET n = n + 1 WHERE id = 1;
RESET work_mem;
SELECT count(*) AS updates, count(DISTINCT id) AS distinct_ids,
       min(id) > (SELECT max(id) FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'item') AS after_the_statement
FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'many' AND op = 'U';
DROP TRIGGER touch_many ON nest.item;

-- Changes inside a statement that come before the statement's own are not held: a BEFORE INSERT
-- trigger that deletes the row of the same key (an existing one) before the INSERT puts the new one
-- in. The key's history reads DELETE, then INSERT.
CREATE TABLE nest.replaced (id int PRIMARY KEY, v text);
SELECT FROM witness.track('nest.replaced');
INSERT INTO nest.replaced VALUES (1, 'a');
CREATE FUNCTION nest.replace_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM nest.replaced WHERE id = NEW.id;
  RETURN NEW;
END $$;
CREATE TRIGGER replace_first BEFORE INSERT ON nest.replaced FOR EACH ROW EXECUTE FUNCTION nest.replace_first();
INSERT INTO nest.replaced VALUES (1, 'b');
SELECT op, old_values ->> 'v' AS old, new_values ->> 'v' AS new FROM witness.entry
WHERE schema_name = 'nest' AND table_name = 'replaced' ORDER BY id;

-- An encrypted table's held entry is sealed for the id it gets: it opens, and the chain verifies.
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS key_set;
CREATE TABLE nest.wallet (id int PRIMARY KEY, owner text, parent int, bal int);
SELECT FROM witness.track('nest.wallet', subject_column => 'owner', encrypt => true);
INSERT INTO nest.wallet VALUES (1, 'ann@nest.example', NULL, 0), (2, 'ann@nest.example', 1, 0);
CREATE FUNCTION nest.wallet_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.parent IS NOT NULL THEN
    UPDATE nest.wallet SET bal = bal + (NEW.bal - OLD.bal) WHERE id = NEW.parent;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER rollup BEFORE UPDATE ON nest.wallet FOR EACH ROW EXECUTE FUNCTION nest.wallet_rollup();
UPDATE nest.wallet SET bal = bal + 7;
SELECT (witness._entry_payload(e)).row_key ->> 'id' AS wallet, (witness._entry_payload(e)).old_values ->> 'bal' AS old,
       (witness._entry_payload(e)).new_values ->> 'bal' AS new, sealed_payload IS NOT NULL AS sealed
FROM witness.entry e WHERE schema_name = 'nest' AND table_name = 'wallet' AND op = 'U' ORDER BY 1, id;

-- The role in an entry is the one its statement ran as: a statement that switches role half-way
-- (set_config('role', ...) in an expression) does not make its changes look like another role's.
CREATE ROLE regress_nest_writer;
CREATE ROLE regress_nest_reader;
GRANT regress_nest_reader TO regress_nest_writer;
GRANT USAGE ON SCHEMA nest TO regress_nest_writer, regress_nest_reader;
GRANT SELECT, UPDATE ON nest.item TO regress_nest_writer;
GRANT SELECT ON nest.item TO regress_nest_reader;
SET ROLE regress_nest_writer;
UPDATE nest.item SET n = n + 100 + 0 * length((SELECT set_config('role', 'regress_nest_reader', false)))
WHERE id = 1;
SELECT current_user AS role_now;
UPDATE nest.item SET n = 7 WHERE id = 2; -- now as the reader, who may not
RESET ROLE;
-- Nor does a cursor that a function of the statement opened as another role and left open.
CREATE FUNCTION nest.open_as_reader(x int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE c refcursor;
BEGIN
  PERFORM set_config('role', 'regress_nest_reader', true);
  OPEN c FOR SELECT 1;
  PERFORM set_config('role', 'regress_nest_writer', true);
  RETURN x;
END $$;
GRANT EXECUTE ON FUNCTION nest.open_as_reader(int) TO regress_nest_writer;
BEGIN;
SET LOCAL ROLE regress_nest_writer;
UPDATE nest.item SET n = nest.open_as_reader(300) WHERE id = 1;
COMMIT;
SELECT current_user_name, session_user_name, new_values ->> 'n' AS n FROM witness.entry
WHERE schema_name = 'nest' AND table_name = 'item' AND current_user_name LIKE 'regress_nest%' ORDER BY id;

-- A foreign-key cascade's changes fire in the statement that caused them, not nested in anything;
-- while entries are held they wait too. Deleting a node deletes its subtree; a BEFORE DELETE trigger
-- first touches the children of each node deleted: every descendant reads UPDATE, then DELETE.
CREATE TABLE nest.tree (id int PRIMARY KEY, parent int REFERENCES nest.tree ON DELETE CASCADE, v int);
SELECT FROM witness.track('nest.tree');
INSERT INTO nest.tree SELECT g, CASE WHEN g > 1 THEN g / 2 END, 0 FROM generate_series(1, 15) g;
CREATE FUNCTION nest.touch_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE nest.tree SET v = v + 1 WHERE parent = OLD.id;
  RETURN OLD;
END $$;
CREATE TRIGGER touch_children BEFORE DELETE ON nest.tree FOR EACH ROW EXECUTE FUNCTION nest.touch_children();
DELETE FROM nest.tree WHERE id = 2;
SELECT array_agg(id ORDER BY id) AS nodes_left FROM nest.tree;
SELECT (row_key ->> 'id')::int AS node, string_agg(op, ' ' ORDER BY id) AS ops
FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'tree' AND op <> 'I' GROUP BY 1 ORDER BY 1;
SELECT * FROM nest.broken_chains('tree', 'v');

-- A TRUNCATE comes after the held changes of its table made before it: a user's AFTER trigger
-- changes a row, then truncates the table.
CREATE TABLE nest.scratch (id int PRIMARY KEY, v int);
SELECT FROM witness.track('nest.scratch');
INSERT INTO nest.scratch VALUES (1, 0);
CREATE FUNCTION nest.scratch_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE nest.scratch SET v = v + 1;
  TRUNCATE nest.scratch;
  RETURN NULL;
END $$;
CREATE TRIGGER scratch_reset AFTER UPDATE ON nest.item FOR EACH ROW EXECUTE FUNCTION nest.scratch_reset();
UPDATE nest.item SET n = n + 1 WHERE id = 1;
DROP TRIGGER scratch_reset ON nest.item;
SELECT string_agg(op, ' ' ORDER BY id) AS scratch_ops FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'scratch';

-- A statement that failed in a rolled-back subtransaction is forgotten with it, also when a cursor
-- declared before the subtransaction was closed inside it: the changes after it are not nested in
-- anything, and a TRUNCATE after them comes after them.
INSERT INTO nest.scratch VALUES (1, 0);
BEGIN;
DECLARE c CURSOR FOR SELECT 1;
SAVEPOINT s;
CLOSE c;
UPDATE nest.scratch SET v = 1 / (v - v);
ROLLBACK TO s;
UPDATE nest.scratch SET v = v + 1;
TRUNCATE nest.scratch;
INSERT INTO nest.scratch VALUES (1, 100);
COMMIT;
SELECT string_agg(op, ' ' ORDER BY id) AS scratch_ops FROM witness.entry WHERE schema_name = 'nest' AND table_name = 'scratch';

-- A "replace" after something else is held: the row deleted existed before the statement, so its
-- DELETE keeps its id and comes before the INSERT, although a held roll-up is waiting. (The BEFORE
-- trigger first changes a row the same statement inserted: that change is held.)
CREATE OR REPLACE FUNCTION nest.replace_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 2 THEN
    UPDATE nest.replaced SET v = v || '+' WHERE id = 3;
  END IF;
  DELETE FROM nest.replaced WHERE id = NEW.id;
  RETURN NEW;
END $$;
INSERT INTO nest.replaced VALUES (2, 'c');
INSERT INTO nest.replaced VALUES (3, 'd'), (2, 'e');
SELECT e.row_key ->> 'id' AS key, e.op, e.old_values ->> 'v' AS old, e.new_values ->> 'v' AS new FROM witness.entry e
WHERE e.schema_name = 'nest' AND e.table_name = 'replaced' AND (e.row_key ->> 'id')::int IN (2, 3) ORDER BY e.id;
SELECT * FROM nest.broken_chains('replaced', 'v');

-- Nothing stays held after the statement that held it rolls back, to a savepoint or in an exception
-- block: the "replace" after it still reads DELETE, then INSERT.
CREATE FUNCTION nest.touch_then_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE nest.many SET v = v || '+' WHERE id = 1;
  RAISE EXCEPTION 'too much';
END $$;
CREATE TRIGGER touch_then_fail AFTER UPDATE ON nest.item FOR EACH ROW EXECUTE FUNCTION nest.touch_then_fail();
BEGIN;
SAVEPOINT s;
UPDATE nest.item SET n = n + 1 WHERE id = 1;
ROLLBACK TO s;
INSERT INTO nest.replaced VALUES (2, 'f');
COMMIT;
DO $$
BEGIN
  BEGIN
    UPDATE nest.item SET n = n + 1 WHERE id = 1;
  EXCEPTION WHEN raise_exception THEN NULL;
  END;
  INSERT INTO nest.replaced VALUES (2, 'g');
END $$;
DROP TRIGGER touch_then_fail ON nest.item;
SELECT op, old_values ->> 'v' AS old, new_values ->> 'v' AS new FROM witness.entry
WHERE schema_name = 'nest' AND table_name = 'replaced' AND row_key ->> 'id' = '2' ORDER BY id DESC LIMIT 4;
SELECT * FROM nest.broken_chains('replaced', 'v');

-- A user's AFTER TRUNCATE trigger that fires before pg_witness's (its name sorts first) refills the
-- table: the TRUNCATE comes first, then the row put back.
CREATE FUNCTION nest.refill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO nest.scratch VALUES (0, 0);
  RETURN NULL;
END $$;
CREATE TRIGGER a_refill AFTER TRUNCATE ON nest.scratch FOR EACH STATEMENT EXECUTE FUNCTION nest.refill();
TRUNCATE nest.scratch;
UPDATE nest.scratch SET v = 1 WHERE id = 0;
DROP TRIGGER a_refill ON nest.scratch;
SELECT e.op, e.row_key ->> 'id' AS key, e.new_values ->> 'v' AS v FROM witness.entry e
WHERE e.schema_name = 'nest' AND e.table_name = 'scratch' ORDER BY e.id DESC LIMIT 3;

-- An error while held entries take their ids (here: the master key is gone by then), caught by an
-- exception block, rolls back the statement's changes and entries alike, and leaves no temporary file
-- of the 5000 spilled ones behind (PostgreSQL would warn of a leak at commit).
CREATE FUNCTION nest.touch_all_then_lose_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE nest.many SET v = 'z' || id;
  UPDATE nest.wallet SET bal = bal + 1;
  PERFORM set_config('witness.master_key_file', '', true);
  RETURN NULL;
END $$;
CREATE TRIGGER touch_all_then_lose_key AFTER UPDATE ON nest.item FOR EACH STATEMENT EXECUTE FUNCTION nest.touch_all_then_lose_key();
SET work_mem = '64kB';
SELECT witness._last_entry_id() AS ids1 \gset
DO $$
BEGIN
  BEGIN
    UPDATE nest.item SET n = n + 1 WHERE id = 1;
  EXCEPTION WHEN others THEN RAISE WARNING 'caught: %', SQLERRM;
  END;
END $$;
RESET work_mem;
DROP TRIGGER touch_all_then_lose_key ON nest.item;
SELECT count(*) FILTER (WHERE v LIKE 'z%') AS many_changed, (SELECT sum(bal) FROM nest.wallet) AS wallet_total,
       (SELECT count(*) FROM witness.entry WHERE id > :ids1 AND table_name IN ('item', 'many', 'wallet')) AS entries_since
FROM nest.many;
UPDATE nest.wallet SET bal = bal + 1 WHERE id = 1;
SELECT count(*) AS wallet_entries_since FROM witness.entry WHERE id > :ids1 AND table_name = 'wallet';

-- An erasure run inside a statement that changes rows could not reach the entries that statement has
-- yet to write (or holds back): it is refused.
CREATE FUNCTION nest.erase_ann() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM witness.erase_subject('ann@nest.example', 'account closed');
  RETURN NULL;
END $$;
CREATE TRIGGER erase_ann AFTER UPDATE ON nest.wallet FOR EACH STATEMENT EXECUTE FUNCTION nest.erase_ann();
UPDATE nest.wallet SET bal = bal + 1 WHERE id = 2;
DROP TRIGGER erase_ann ON nest.wallet;

-- Errors inside the held entries' sort as it writes its temporary file (temp_file_limit here; a full
-- disk would do the same), found by a review of the holding: a slot left holding a row freed with
-- the subtransaction (the next held entry freed it again: a crash when the memory had been reused,
-- which this sequence does not force), an error raised again while the
-- subtransaction was aborted (no exception block could catch the first), and a temporary file left
-- open after an error while held entries took their ids.
CREATE SCHEMA cn_sort;
CREATE TABLE cn_sort.item (id int PRIMARY KEY, n int);
CREATE TABLE cn_sort.many (id int PRIMARY KEY, v text);
INSERT INTO cn_sort.item VALUES (1, 0);
INSERT INTO cn_sort.many SELECT g, 'v' || g FROM generate_series(1, 5000) g;
SELECT FROM witness.track('cn_sort.item');
SELECT FROM witness.track('cn_sort.many');
CREATE FUNCTION cn_sort.after_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	CASE current_setting('cn_sort.mode', true)
	WHEN 'fail' THEN
		UPDATE cn_sort.many SET v = 'a' || id WHERE id <= 10;
		BEGIN
			PERFORM set_config('temp_file_limit', '100kB', true);
			UPDATE cn_sort.many SET v = repeat('y', 400) || id;
		EXCEPTION WHEN others THEN
			RAISE WARNING 'inner caught: %', SQLERRM;
		END;
		RAISE EXCEPTION 'outer fail';
	WHEN 'touch' THEN
		UPDATE cn_sort.many SET v = 'c' || id WHERE id <= 3;
	WHEN 'big' THEN
		UPDATE cn_sort.many SET v = repeat('z', 400) || id;
	WHEN 'big_then_limit' THEN
		UPDATE cn_sort.many SET v = repeat('w', 400) || id;
		PERFORM set_config('temp_file_limit', '3000kB', true);
	ELSE
	END CASE;
	RETURN NULL;
END
$$;
CREATE TRIGGER after_item AFTER UPDATE ON cn_sort.item FOR EACH STATEMENT EXECUTE FUNCTION cn_sort.after_item();
SET work_mem = '64kB';
SELECT witness._last_entry_id() AS sort_before \gset
-- The slot: an error inside the sort, caught, then the subtransaction that held rolled back; the
-- next held entry of the transaction is stored and committed.
BEGIN;
SET LOCAL cn_sort.mode = 'fail';
DO $$
BEGIN
	UPDATE cn_sort.item SET n = n + 1;
EXCEPTION WHEN others THEN
	RAISE WARNING 'outer caught: %', SQLERRM;
END
$$;
SET LOCAL cn_sort.mode = 'touch';
UPDATE cn_sort.item SET n = n + 1;
COMMIT;
SELECT table_name, op, count(*) FROM witness.entry WHERE id > :sort_before GROUP BY 1, 2 ORDER BY 1, 2;
-- The abort: 5,000 held rows pass the limit; the exception block catches it and goes on.
SET temp_file_limit = '200kB';
SET cn_sort.mode = 'big';
DO $$
BEGIN
	BEGIN
		UPDATE cn_sort.item SET n = n + 1;
	EXCEPTION WHEN others THEN
		RAISE WARNING 'caught: %', SQLERRM;
	END;
	RAISE WARNING 'after the block';
END
$$;
RESET temp_file_limit;
-- The release: holding stays below the limit, sorting them for their ids passes it; caught, the
-- transaction goes on and commits with no temporary file left open, and nothing held any more.
BEGIN;
SET LOCAL cn_sort.mode = 'big_then_limit';
DO $$
BEGIN
	UPDATE cn_sort.item SET n = n + 1;
EXCEPTION WHEN others THEN
	RAISE WARNING 'caught: %', SQLERRM;
END
$$;
SET LOCAL temp_file_limit = -1;
SET LOCAL cn_sort.mode = 'none';
UPDATE cn_sort.many SET v = 'q' WHERE id = 1;
COMMIT;
RESET cn_sort.mode;
RESET work_mem;
SELECT table_name, op, count(*) FROM witness.entry WHERE id > :sort_before GROUP BY 1, 2 ORDER BY 1, 2;
SELECT n FROM cn_sort.item;

-- Everything captured here is sealed and verifies.
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT status, entries_unchecked FROM witness.verify((SELECT min(block_no) FROM witness.block WHERE last_entry_id > :ids0));
RESET witness.master_key_file;
SELECT FROM witness.untrack('nest.acct');
SELECT FROM witness.untrack('nest.item');
SELECT FROM witness.untrack('nest.many');
SELECT FROM witness.untrack('nest.wallet');
SELECT FROM witness.untrack('nest.replaced');
SELECT FROM witness.untrack('nest.tree');
SELECT FROM witness.untrack('nest.scratch');
SELECT FROM witness.untrack('cn_sort.item');
SELECT FROM witness.untrack('cn_sort.many');
DROP SCHEMA cn_sort CASCADE;
DROP SCHEMA nest CASCADE;
DROP ROLE regress_nest_writer;
DROP ROLE regress_nest_reader;
