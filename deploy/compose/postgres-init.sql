-- vein2vein on Docker Compose: the databases, created once when the postgres container
-- initializes an empty data volume (/docker-entrypoint-initdb.d).
--
-- Each service owns its data: its own database, owned by its own role, so no service can
-- read or write another's tables. Temporal gets its two databases (persistence and
-- visibility) the same way; their schema is applied by the temporal-schema one-shot
-- (temporal-sql-tool), the services' by their `migrate` one-shots (Alembic).
-- Development credentials only: a real deployment takes them from its secret store.

CREATE ROLE custody LOGIN PASSWORD 'custody';
CREATE DATABASE custody OWNER custody;

CREATE ROLE logistics LOGIN PASSWORD 'logistics';
CREATE DATABASE logistics OWNER logistics;

CREATE ROLE batch LOGIN PASSWORD 'batch';
CREATE DATABASE batch OWNER batch;

CREATE ROLE qc LOGIN PASSWORD 'qc';
CREATE DATABASE qc OWNER qc;

CREATE ROLE journey LOGIN PASSWORD 'journey';
CREATE DATABASE journey OWNER journey;

CREATE ROLE temporal LOGIN PASSWORD 'temporal';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

-- Nobody but the owner connects to a service's database.
REVOKE CONNECT, TEMPORARY ON DATABASE custody, logistics, batch, qc, journey FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE temporal, temporal_visibility FROM PUBLIC;
