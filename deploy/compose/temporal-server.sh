#!/bin/sh
# Entrypoint of the temporalio/server container. The server is configured by environment
# variables (DB, POSTGRES_SEEDS, ... rendered into its embedded config template). Listening on
# all interfaces (BIND_ON_IP=0.0.0.0), so the other containers reach it, requires a concrete
# membership address (TEMPORAL_BROADCAST_ADDRESS): the image has no script that works it out,
# so this one uses the container's own address.
set -eu
: "${BIND_ON_IP:=0.0.0.0}"
if [ -z "${TEMPORAL_BROADCAST_ADDRESS:-}" ]; then
  TEMPORAL_BROADCAST_ADDRESS="$(hostname -i 2>/dev/null | awk '{print $1}')"
fi
if [ -z "$TEMPORAL_BROADCAST_ADDRESS" ]; then
  TEMPORAL_BROADCAST_ADDRESS="$(getent hosts "$(hostname)" 2>/dev/null | awk '{print $1; exit}')"
fi
if [ -z "$TEMPORAL_BROADCAST_ADDRESS" ]; then
  echo "cannot determine this container's IP address; set TEMPORAL_BROADCAST_ADDRESS" >&2
  exit 1
fi
export BIND_ON_IP TEMPORAL_BROADCAST_ADDRESS
echo "temporal-server: bind ${BIND_ON_IP}, membership address ${TEMPORAL_BROADCAST_ADDRESS}"
exec temporal-server start "$@"
