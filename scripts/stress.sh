#!/usr/bin/env bash
# Concurrent PUT, MOVE, COPY and DELETE on overlapping names of one calendar
# and one address book, then a check that every acknowledged state is what
# the server stores and that sync tokens taken during the run report every
# later change exactly once (examples/stress.rs describes the checks).
#
#   scripts/stress.sh URL USER PASSWORD [SECONDS] [WRITERS]
#       against a running server (URL: http://HOST:PORT[/PREFIX]); the run
#       adds four collections named stress-* to USER's homes.
#   scripts/stress.sh --local sqlite|postgres [SECONDS] [WRITERS]
#       starts a throwaway release server on a fresh SQLite file, or on a
#       PostgreSQL database (a new database on ALMANACH_TEST_POSTGRES_URL's
#       server when it is set, else a private cluster as scripts/test.sh
#       starts one), creates a user, runs, and stops the server.
#
# Exit status 1 when a check fails. SECONDS defaults to 20, WRITERS (per
# collection kind) to 6.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --release --bin almanach --example stress
if [ "${1:-}" != "--local" ]; then
  exec target/release/examples/stress "$@"
fi

# shellcheck source=scripts/private_postgres.sh
. scripts/private_postgres.sh
STORE=${2:?--local needs sqlite or postgres}
shift 2
WORK=$(mktemp -d /tmp/almanach-stress.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  drop_store_database
  rm -rf "$WORK"
}

store_database "$STORE" almanach_stress "$WORK"
trap cleanup EXIT   # replaces start_private_postgres's trap: cleanup stops the cluster too

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PASSWORD="stress-$$-$RANDOM"
export ALMANACH_DATABASE=$DATABASE ALMANACH_LOG=warn
echo "$PASSWORD" | target/release/almanach user add stress --password-stdin >/dev/null
target/release/almanach serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
log "server on port $PORT ($STORE)"
target/release/examples/stress "http://127.0.0.1:$PORT" stress "$PASSWORD" "$@" || { tail -20 "$WORK/server.log" >&2; exit 1; }
