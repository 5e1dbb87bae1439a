#!/bin/sh
# One-shot (temporalio/admin-tools): create Temporal's two PostgreSQL databases if missing and
# bring their schema up to date with temporal-sql-tool, as Temporal's own compose samples do
# now that the auto-setup image is deprecated. Safe to run on every `docker compose up`:
# setup-schema -v 0.0 leaves a newer schema alone and update-schema applies only what is new.
# The password comes from SQL_PASSWORD (read by temporal-sql-tool), not the command line.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
    -u "$POSTGRES_USER" "$@"
}

setup() {
  db="$1"
  versioned="$2"
  # The postgres init script already created the database on a fresh volume; create-database
  # matters for an external server and reports an error when the database exists (or the role
  # may not create databases): fine, setup-schema below fails loudly if it is really missing.
  sql_tool --db "$db" create-database \
    && echo "created database $db" \
    || echo "database $db exists (or is not ours to create); applying its schema"
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$versioned/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "Temporal schema up to date"
