#!/usr/bin/env bash
# What an invitation costs, beside a plain PUT, and busy time over full
# calendars (examples/scheduling_load.rs describes the scenarios).
#
#   scripts/bench_scheduling.sh sqlite|postgres [SECONDS] [ORGANIZERS] [ATTENDEES]
#
# Starts a throwaway release server on a fresh SQLite file, or on a
# PostgreSQL database (a new database on ALMANACH_TEST_POSTGRES_URL's server
# when it is set, else a private cluster as scripts/test.sh starts one),
# creates the accounts (org1…, att1…, in two académies), runs the load and
# stops the server. SECONDS (per cell) defaults to 10, ORGANIZERS to 32,
# ATTENDEES to 320 (each invitation draws 10 of them: with 32 organizers
# at once, about as spread as invitations over a national directory; a
# small pool, e.g. 40, measures 32 organizers inviting the same people at
# the same moment). A benchmark, not a test: compare figures of one sitting.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --release --bin almanach --example scheduling_load

# shellcheck source=scripts/private_postgres.sh
. scripts/private_postgres.sh
STORE=${1:?sqlite or postgres}
SECONDS_PER_CELL=${2:-10}
ORGANIZERS=${3:-32}
ATTENDEES=${4:-320}
WORK=$(mktemp -d /tmp/almanach-bench-sched.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  drop_store_database
  rm -rf "$WORK"
}

store_database "$STORE" almanach_bench_sched "$WORK"
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PASSWORD="bench-$$-$RANDOM"
export ALMANACH_DATABASE=$DATABASE ALMANACH_LOG=warn
# ALMANACH_BIN: another build of the server (a before/after comparison in
# one sitting), with this tree's load generator.
A=${ALMANACH_BIN:-target/release/almanach}
$A academie add lyon --name "Académie de Lyon" --region ara >/dev/null
$A academie add creteil --name "Académie de Créteil" --region idf >/dev/null
for i in $(seq "$ORGANIZERS"); do
  echo "$PASSWORD" | $A user add "org$i" --password-stdin --email "org$i@ac-lyon.fr" --academie lyon >/dev/null
done
for i in $(seq "$ATTENDEES"); do
  echo "$PASSWORD" | $A user add "att$i" --password-stdin --email "att$i@ac-creteil.fr" --academie creteil >/dev/null
done
$A serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
log "server on port $PORT ($STORE)"
target/release/examples/scheduling_load "http://127.0.0.1:$PORT" "$PASSWORD" "$ORGANIZERS" "$ATTENDEES" "$SECONDS_PER_CELL" \
  || { tail -20 "$WORK/server.log" >&2; exit 1; }
