-- Entry ids (docs/capture.md, "Entry ids"): one counter per database in shared memory hands them out
-- in capture order, from runs of 1024 that one nextval() of witness.entry_id_seq reserves.
SET client_min_messages = warning;
CREATE TABLE public.ids_t (id int PRIMARY KEY, v int);
SELECT FROM witness.track('public.ids_t');
SELECT seqincrement AS increment FROM pg_sequence WHERE seqrelid = 'witness.entry_id_seq'::regclass;
SELECT witness._last_entry_id() AS ids0 \gset

-- 1500 entries span more than one run, and their ids follow each other without a gap.
INSERT INTO public.ids_t SELECT g, g FROM generate_series(1, 1500) g;
SELECT count(*) AS entries, max(id) - min(id) + 1 AS span, min(id) = :ids0 + 1 AS first_follows,
       max(id) = witness._last_entry_id() AS last_is_known
FROM witness.entry WHERE table_name = 'ids_t';
SELECT max(id) AS ids1 FROM witness.entry \gset
-- The sequence is ahead of every id handed out: its latest run covers the last one.
SELECT last_value <= :ids1 AND last_value + 1024 > :ids1 AS run_covers_last FROM witness.entry_id_seq;

-- A superuser sets the sequence back. The counter uses up its run, then moves the sequence past every
-- id it handed out before reserving again: no id twice, and the new entries come after the old.
SELECT setval('witness.entry_id_seq', 1) AS set_back;
INSERT INTO public.ids_t SELECT g, g FROM generate_series(1501, 3000) g;
SELECT count(*) = count(DISTINCT id) AS no_id_twice FROM witness.entry;
SELECT min(id) > :ids1 AS after_the_old, count(*) AS entries FROM witness.entry WHERE table_name = 'ids_t' AND (row_key ->> 'id')::int > 1500;
SELECT last_value > :ids1 AS sequence_moved_on FROM witness.entry_id_seq;
SELECT max(id) AS ids2 FROM witness.entry \gset

-- Made to count downwards, the sequence stops capture with an error rather than ids out of order:
-- the change is refused (1100 entries need a new run).
ALTER SEQUENCE witness.entry_id_seq INCREMENT BY -1;
INSERT INTO public.ids_t SELECT g, g FROM generate_series(3001, 4100) g;
SELECT count(*) AS rows_kept FROM public.ids_t;

-- With an increment of 1 every entry reserves its own run: slower, still in order and unique. The
-- sequence went down by one above; the counter moves it past its ids again.
ALTER SEQUENCE witness.entry_id_seq INCREMENT BY 1;
INSERT INTO public.ids_t SELECT g, g FROM generate_series(3001, 3003) g;
SELECT count(*) AS entries, count(DISTINCT id) AS ids FROM witness.entry WHERE id > :ids2;
SELECT count(*) = count(DISTINCT id) AS no_id_twice FROM witness.entry;
ALTER SEQUENCE witness.entry_id_seq INCREMENT BY 1024;

-- The blocks that hold these entries verify once sealed (earlier tests left tampering elsewhere).
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT min(block_no) AS b0, max(block_no) AS b1 FROM witness.block WHERE last_entry_id > :ids0 \gset
SELECT status, sum(entries_checked) >= 3003 AS all_checked FROM witness.verify(:b0, :b1) GROUP BY status;
SELECT FROM witness.untrack('public.ids_t');
DROP TABLE public.ids_t;
