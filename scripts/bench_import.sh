#!/usr/bin/env bash
# How long `almanach import` takes to bring EVENTS events (default 100,000)
# into one calendar, on one store.
#
#   scripts/bench_import.sh sqlite|postgres [EVENTS]
#
# Writes one .ics of EVENTS events (scripts/gen_import_bench.py: one UID
# each, a tenth of them weekly series with an override, in three zones
# with their VTIMEZONEs), imports it into a fresh SQLite file or a
# PostgreSQL database (a new database on ALMANACH_TEST_POSTGRES_URL's
# server when it is set, else a private cluster as scripts/test.sh starts
# one) with the release build, then imports it again (every event
# skipped), and prints both times. A benchmark, not a test: compare
# figures of one sitting; docs/performance.md has the last ones.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --release --bin almanach

# shellcheck source=scripts/private_postgres.sh
. scripts/private_postgres.sh
STORE=${1:?sqlite or postgres}
EVENTS=${2:-100000}
WORK=$(mktemp -d /tmp/almanach-bench-import.XXXXXX)
cleanup() {
  drop_store_database
  rm -rf "$WORK"
}

store_database "$STORE" almanach_bench_import "$WORK"
trap cleanup EXIT

python3 scripts/gen_import_bench.py "$EVENTS" >"$WORK/events.ics"
log "$(du -h "$WORK/events.ics" | cut -f1) of iCalendar, $EVENTS events ($STORE)"
export ALMANACH_DATABASE=$DATABASE ALMANACH_LOG=warn
A=target/release/almanach
$A academie add lyon --name "Académie de Lyon" >/dev/null
echo "bench-$$" | $A user add agent --password-stdin --email agent@ac-lyon.fr --academie lyon >/dev/null
for run in first again; do
  start=$(date +%s%N)
  $A import calendar agent "$WORK/events.ics" | tail -n 1
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  printf '%s import (%s): %d.%03d s\n' "$run" "$STORE" $((ms / 1000)) $((ms % 1000))
done
