-- Attribution is exact: each entry's statement time is its statement's, not its transaction's, and a
-- TCP client's address and port are the client's own.
CREATE TABLE attributed (id int PRIMARY KEY, v text);
SELECT witness.track('attributed');

-- A statement run well after BEGIN: its entry carries statement_timestamp(), not now().
CREATE TEMP TABLE seen (st timestamptz, xact timestamptz);
BEGIN;
SELECT pg_sleep(0.05);
WITH ins AS (INSERT INTO attributed VALUES (1, 'late') RETURNING statement_timestamp() AS st, now() AS xact)
INSERT INTO seen SELECT * FROM ins;
COMMIT;
SELECT e.stmt_time = s.st AS stmt_time_is_the_statements, e.stmt_time > s.xact AS later_than_begin
FROM witness.entry e, seen s WHERE e.table_name = 'attributed' AND e.op = 'I';

-- A change made over TCP records the writer's own address and port, as inet_client_addr() and
-- inet_client_port() report them in that session.
CREATE EXTENSION dblink;
SELECT dblink_connect('tcp', format('host=127.0.0.1 port=%s dbname=%s user=%s', current_setting('port'),
                                    current_database(), current_user));
SELECT * FROM dblink('tcp', 'SELECT inet_client_addr()::text, inet_client_port()') AS c(addr text, port int) \gset tcp_
SELECT dblink_exec('tcp', 'INSERT INTO attributed VALUES (2, ''over tcp'')');
SELECT dblink_disconnect('tcp');
SELECT e.client_addr::text = :'tcp_addr' AS client_addr_is_the_writers,
       e.client_port = :tcp_port AS client_port_is_the_writers,
       e.client_port <> current_setting('port')::int AS not_the_servers_port
FROM witness.entry e WHERE e.table_name = 'attributed' AND e.new_values ->> 'v' = 'over tcp';
DROP EXTENSION dblink;
DROP TABLE attributed;
