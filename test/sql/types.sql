-- Every built-in type is captured, and neither the values nor the hashes depend on session settings.
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE TYPE pair AS (x int, label text);
CREATE TABLE typed (
	id int PRIMARY KEY,
	b bool, i2 int2, i4 int4, i8 int8, n numeric, n_nan numeric, n_inf numeric, f4 float4, f8 float8,
	f8_nan float8, f8_inf float8, f8_tiny float8, f8_big float8, m money,
	t text, vc varchar(20), c char(5), nm name, by bytea,
	d date, ts timestamp, tstz timestamptz, tstz_inf timestamptz, tm time, tmtz timetz, iv interval,
	u uuid, ip inet, cidr_v cidr, mac macaddr,
	j json, jb jsonb, jb_scalar jsonb, arr int[], tarr text[], tsarr timestamptz[], two_d int[][],
	rng int4range, tsrng tstzrange, mrng int4multirange, comp pair, en mood, dom positive_int, dom_t email,
	bits bit varying(8), pt point, bx box, tsv tsvector, x xml, oid_v oid, rc regclass, rt regtype
);
SELECT witness.track('typed');

-- Unusual session settings while capturing ...
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -3;
SET bytea_output = 'escape';
SET search_path = public, witness, pg_catalog;
INSERT INTO typed VALUES (
	1, true, -32768, 2147483647, -9223372036854775808, 12345678901234567890.000123, 'NaN', '-Infinity',
	1.1, 0.1, 'NaN', 'Infinity', 5e-324, 1.7976931348623157e308, 12.34,
	E'tab\there "quoted" back\\slash nl\n unicode é 漢字 😀 ctl\x01', 'varchar', 'ab', 'a name', '\x00ff10',
	'2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+05:30', '-infinity', '23:59:59.999999',
	'12:00+03', '1 year 2 months 3 days 04:05:06.7',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2001:db8::1/64', '10.0.0.0/8', '08:00:2b:01:02:03',
	'{"b": 1, "a":  [1, 2.50, "x"], "a": 3}', '{"z": {"y": [true, null, 1e3]}, "a": "é", "": 0}', '"just a string"',
	'{1,NULL,3}', '{"a b","c,d",NULL,""}', '{"2024-01-01 00:00+00"}', '{{1,2},{3,4}}',
	'[1,10)', '[2024-01-01 00:00+00,2024-06-01 00:00+00)', '{[1,3),[5,7)}', '(7,"seven")', 'happy', 42, 'x@y',
	B'1011', '(1.5,-2)', '((0,0),(1,1))', 'fat cat sat', '<a>x</a>', 4242, 'typed', 'timestamptz');

-- ... captured as with ISO dates, UTC, shortest exact floats, hex bytea, ISO 8601 intervals, qualified names.
RESET TimeZone; RESET DateStyle; RESET IntervalStyle; RESET extra_float_digits; RESET bytea_output; RESET search_path;
SELECT k, v FROM witness.entry e, jsonb_each(e.new_values::jsonb) AS kv(k, v)
WHERE e.table_name = 'typed' ORDER BY k COLLATE "C";

-- The same change made under default settings is captured identically.
INSERT INTO typed SELECT 2, b, i2, i4, i8, n, n_nan, n_inf, f4, f8, f8_nan, f8_inf, f8_tiny, f8_big, m, t, vc, c, nm, by,
	d, ts, tstz, tstz_inf, tm, tmtz, iv, u, ip, cidr_v, mac, j, jb, jb_scalar, arr, tarr, tsarr, two_d, rng, tsrng, mrng,
	comp, en, dom, dom_t, bits, pt, bx, tsv, x, oid_v, rc, rt FROM typed WHERE id = 1;
SELECT (a.new_values::jsonb - 'id') = (b.new_values::jsonb - 'id') AS identical
FROM witness.entry a, witness.entry b
WHERE a.table_name = 'typed' AND b.table_name = 'typed' AND a.new_values ->> 'id' = '1' AND b.new_values ->> 'id' = '2';

-- Captured text casts back to the original value for every column (money is kept in minor units).
CREATE FUNCTION pg_temp.not_round_tripping() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	col record;
	same boolean;
BEGIN
	FOR col IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ,
	                  CASE WHEN a.atttypid = 'jsonb'::regtype THEN (e.new_values -> a.attname)::text
	                       ELSE e.new_values ->> a.attname END AS captured
	           FROM pg_attribute a, witness.entry e
	           WHERE a.attrelid = 'typed'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'm'
	             AND e.table_name = 'typed' AND e.op = 'I' AND e.new_values ->> 'id' = '1' LOOP
		EXECUTE format('SELECT (%L::%s)::text IS NOT DISTINCT FROM %I::text FROM typed WHERE id = 1', col.captured, col.typ, col.attname)
			INTO same;
		IF NOT same THEN
			RETURN NEXT col.attname;
		END IF;
	END LOOP;
END
$$;
SELECT * FROM pg_temp.not_round_tripping();
SELECT (new_values ->> 'f8')::float8 = 0.1 AS f8, (new_values ->> 'f4')::float4 = 1.1::float4 AS f4,
       (new_values ->> 'f8_tiny')::float8 = 5e-324 AS tiny, (new_values ->> 'f8_big')::float8 = 1.7976931348623157e308 AS big,
       (new_values ->> 'tstz')::timestamptz = '2024-02-29 13:14:15.123456+05:30' AS tstz,
       (new_values ->> 'iv')::interval = '1 year 2 months 3 days 04:05:06.7' AS iv,
       decode(substr(new_values ->> 'by', 3), 'hex') = '\x00ff10'::bytea AS by,
       (new_values ->> 'm')::bigint = 1234 AS money_minor_units
FROM witness.entry WHERE table_name = 'typed' AND new_values ->> 'id' = '1';

-- Hashes recompute to the stored ones under any session settings.
SET TimeZone = 'America/St_Johns'; SET DateStyle = 'German'; SET extra_float_digits = 3; SET bytea_output = 'escape';
SET IntervalStyle = 'postgres_verbose'; SET search_path = pg_catalog;
SELECT count(*) FILTER (WHERE leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8)) AS hashes_ok, count(*) AS entries
FROM witness.entry e WHERE table_name = 'typed';
RESET ALL;

-- UPDATE of one column of each kind records just that column.
UPDATE typed SET f8 = 'NaN', jb = '{"a": 1}', tarr = '{}' WHERE id = 1;
SELECT old_values, new_values FROM witness.log WHERE table_name = 'typed' AND operation = 'UPDATE';

-- TOASTed values of several MB: captured in full; an unchanged TOASTed column is not re-recorded.
CREATE TABLE docs (id int PRIMARY KEY, body text, blob bytea, title text);
SELECT witness.track('docs');
INSERT INTO docs VALUES (1, repeat('lorem ipsum ', 400000), decode(repeat('ab', 3000000), 'hex'), 't');
UPDATE docs SET title = 'u';
UPDATE docs SET body = body || '!';
SELECT operation, length(new_values ->> 'body') AS body_chars, length(new_values ->> 'blob') AS blob_hex_chars,
       jsonb_object_keys(COALESCE(new_values, '{}')) AS cols
FROM witness.log WHERE table_name = 'docs' ORDER BY id, cols;
SELECT count(*) FILTER (WHERE leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8)) AS hashes_ok FROM witness.entry e WHERE table_name = 'docs';

-- Negative zero is captured as the number -0 (numeric, which jsonb numbers are, has no negative zero),
-- float4 and float8 alike; NaN and the infinities as strings.
CREATE TABLE zeros (id int PRIMARY KEY, f4 float4, f8 float8);
SELECT witness.track('zeros');
INSERT INTO zeros VALUES (1, '-0', '-0'), (2, '0', '0.0'), (3, 'NaN', '-Infinity'), (4, '-1e-45', '-5e-324');
SELECT new_values FROM witness.entry WHERE table_name = 'zeros' ORDER BY id;
-- The captured text casts back to the same value, sign included.
SELECT z.id, (e.new_values ->> 'f4')::float4::text = z.f4::text AS f4, (e.new_values ->> 'f8')::float8::text = z.f8::text AS f8
FROM zeros z JOIN witness.entry e ON e.table_name = 'zeros' AND (e.new_values ->> 'id')::int = z.id ORDER BY z.id;

-- Object references are captured by name from the catalog, qualified with their schema, whatever the
-- search_path and quote_all_identifiers; also inside arrays.
CREATE SCHEMA refs;
CREATE TYPE refs.kind AS ENUM ('k');
CREATE TABLE refs.thing (id int);
CREATE FUNCTION refs.twice(int, refs.kind) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE FUNCTION refs.neg(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT -$1';
CREATE OPERATOR refs.~~~ (RIGHTARG = int, FUNCTION = refs.neg);
CREATE TEXT SEARCH CONFIGURATION refs.cfg (COPY = pg_catalog.english);
CREATE TEXT SEARCH DICTIONARY refs.dict (TEMPLATE = pg_catalog.simple);
CREATE COLLATION refs.coll FROM "C";
CREATE TABLE refs_used (
	id int PRIMARY KEY, rc regclass, rc_catalog regclass, rt regtype, rt_builtin regtype, rt_array regtype,
	rp regproc, rpd regprocedure, ro regoper, ror regoperator, ror_builtin regoperator, rr regrole, rn regnamespace,
	rcfg regconfig, rcfg_builtin regconfig, rd regdictionary, rcoll regcollation, rcoll_c regcollation,
	rc_arr regclass[], rt_arr regtype[], dangling regclass, zero regclass);
SELECT witness.track('refs_used');
SET search_path = refs, public;
SET quote_all_identifiers = on;
INSERT INTO refs_used VALUES (1, 'thing', 'pg_class', 'kind', 'timestamptz', 'int4[]', 'twice', 'twice(int, kind)',
	'~~~', '~~~(NONE, int)', '+(int, int)', 'pg_read_all_data', 'refs', 'cfg', 'english', 'dict', 'coll', '"C"',
	'{thing,pg_class}', '{kind,text}', 999999, 0);
RESET search_path;
RESET quote_all_identifiers;
SELECT k, v FROM witness.entry e, jsonb_each(e.new_values::jsonb) AS kv(k, v)
WHERE e.table_name = 'refs_used' ORDER BY k COLLATE "C";
-- The same values captured under another search_path give the same text.
INSERT INTO refs_used SELECT 2, rc, rc_catalog, rt, rt_builtin, rt_array, rp, rpd, ro, ror, ror_builtin, rr, rn,
	rcfg, rcfg_builtin, rd, rcoll, rcoll_c, rc_arr, rt_arr, dangling, zero FROM refs_used WHERE id = 1;
SELECT (a.new_values::jsonb - 'id') = (b.new_values::jsonb - 'id') AS identical
FROM witness.entry a, witness.entry b
WHERE a.table_name = 'refs_used' AND b.table_name = 'refs_used' AND a.new_values ->> 'id' = '1' AND b.new_values ->> 'id' = '2';
-- A composite that gains an object reference after the table's capture plan was made (ALTER TYPE
-- ... ADD ATTRIBUTE invalidates no table using it): captured under the fixed search_path all the
-- same, in the same session (an attack review found the text following the session's search_path).
CREATE TYPE refs.pair AS (a int);
CREATE TABLE refs_pair (id int PRIMARY KEY, p refs.pair);
SELECT witness.track('refs_pair');
INSERT INTO refs_pair VALUES (1, ROW(1));
ALTER TYPE refs.pair ADD ATTRIBUTE r regclass CASCADE;
SET search_path = refs, public;
UPDATE refs_pair SET p = ROW(2, 'refs.thing') WHERE id = 1;
RESET search_path;
SELECT new_values FROM witness.entry WHERE table_name = 'refs_pair' ORDER BY id;
-- Each name is what docs/hashing.md says, computed here from the catalog with its SQL.
CREATE FUNCTION pg_temp.spec_type(t oid) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT quote_ident(n.nspname) || '.' || quote_ident(y.typname)
	FROM pg_catalog.pg_type y JOIN pg_catalog.pg_namespace n ON n.oid = y.typnamespace WHERE y.oid = t $$;
CREATE FUNCTION pg_temp.spec_name(kind text, v oid) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE kind
	WHEN 'regclass' THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = v)
	WHEN 'regtype' THEN pg_temp.spec_type(v)
	WHEN 'regproc' THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname)
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = v)
	WHEN 'regprocedure' THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' ||
			coalesce((SELECT string_agg(coalesce(pg_temp.spec_type(a.t), a.t::text), ',' ORDER BY a.i)
			          FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)), '') || ')'
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = v)
	WHEN 'regoper' THEN (SELECT quote_ident(n.nspname) || '.' || o.oprname
		FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE o.oid = v)
	WHEN 'regoperator' THEN (SELECT quote_ident(n.nspname) || '.' || o.oprname || '(' ||
			CASE o.oprleft WHEN 0 THEN 'NONE' ELSE coalesce(pg_temp.spec_type(o.oprleft), o.oprleft::text) END || ',' ||
			CASE o.oprright WHEN 0 THEN 'NONE' ELSE coalesce(pg_temp.spec_type(o.oprright), o.oprright::text) END || ')'
		FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE o.oid = v)
	WHEN 'regrole' THEN (SELECT quote_ident(r.rolname) FROM pg_catalog.pg_authid r WHERE r.oid = v)
	WHEN 'regnamespace' THEN (SELECT quote_ident(n.nspname) FROM pg_catalog.pg_namespace n WHERE n.oid = v)
	WHEN 'regconfig' THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.cfgname)
		FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace WHERE c.oid = v)
	WHEN 'regdictionary' THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(d.dictname)
		FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace WHERE d.oid = v)
	WHEN 'regcollation' THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.collname)
		FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace WHERE c.oid = v)
	END $$;
SELECT c.col, e.new_values ->> c.col AS captured, pg_temp.spec_name(c.kind, c.v) AS spec
FROM refs_used u, witness.entry e, LATERAL (VALUES
	('rc', 'regclass', u.rc::oid), ('rc_catalog', 'regclass', u.rc_catalog), ('rt', 'regtype', u.rt),
	('rt_builtin', 'regtype', u.rt_builtin), ('rt_array', 'regtype', u.rt_array), ('rp', 'regproc', u.rp),
	('rpd', 'regprocedure', u.rpd), ('ro', 'regoper', u.ro), ('ror', 'regoperator', u.ror),
	('ror_builtin', 'regoperator', u.ror_builtin), ('rr', 'regrole', u.rr), ('rn', 'regnamespace', u.rn),
	('rcfg', 'regconfig', u.rcfg), ('rcfg_builtin', 'regconfig', u.rcfg_builtin), ('rd', 'regdictionary', u.rd),
	('rcoll', 'regcollation', u.rcoll), ('rcoll_c', 'regcollation', u.rcoll_c), ('dangling', 'regclass', u.dangling),
	('zero', 'regclass', u.zero)) AS c(col, kind, v)
WHERE u.id = 1 AND e.table_name = 'refs_used' AND e.new_values ->> 'id' = '1'
  AND (e.new_values ->> c.col) IS DISTINCT FROM coalesce(pg_temp.spec_name(c.kind, c.v), c.v::text);
-- Each captured name casts back to the object it names.
SELECT rc = (e.new_values ->> 'rc')::regclass AS rc, rt = (e.new_values ->> 'rt')::regtype AS rt,
       rt_array = (e.new_values ->> 'rt_array')::regtype AS rt_array, rp = (e.new_values ->> 'rp')::regproc AS rp,
       rpd = (e.new_values ->> 'rpd')::regprocedure AS rpd, ro = (e.new_values ->> 'ro')::regoper AS ro,
       ror = (e.new_values ->> 'ror')::regoperator AS ror, ror_builtin = (e.new_values ->> 'ror_builtin')::regoperator AS ror_builtin,
       rcfg = (e.new_values ->> 'rcfg')::regconfig AS rcfg, rd = (e.new_values ->> 'rd')::regdictionary AS rd,
       rcoll_c = (e.new_values ->> 'rcoll_c')::regcollation AS rcoll_c, rt_arr = (e.new_values ->> 'rt_arr')::regtype[] AS rt_arr
FROM refs_used u, witness.entry e WHERE u.id = 1 AND e.table_name = 'refs_used' AND e.new_values ->> 'id' = '1';
SELECT count(*) FILTER (WHERE leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8)) AS hashes_ok, count(*) AS entries
FROM witness.entry e WHERE table_name IN ('zeros', 'refs_used');

-- The row of docs/hashing.md's second worked example: its new_values is exactly the text that the test
-- vector CapturedValues (test/unit/vectors/make_entry_vectors.py) hashes.
CREATE TABLE spec_example (id int PRIMARY KEY, f4 float4, f8 float8, j json, m money, name text, rc regclass, rt regtype);
SELECT witness.track('spec_example');
INSERT INTO spec_example VALUES (1, 'NaN', '-0', '{"b": 1, "a": 2}', 12.34, 'café', 'spec_example', 'timestamptz');
SELECT new_values::text,
       new_values::text = '{"f4":"NaN","f8":-0,"id":1,"j":"{\"b\": 1, \"a\": 2}","m":1234,"name":"café","rc":"public.spec_example","rt":"pg_catalog.timestamptz"}' AS as_in_the_spec,
       octet_length(convert_to(new_values::text, 'UTF8')) AS utf8_bytes
FROM witness.entry WHERE table_name = 'spec_example';
