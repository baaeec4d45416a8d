#!/usr/bin/env bash
# Fuzz one target for a while, one process, with the limits of fuzz/README.md.
#   fuzz/scripts/run.sh TARGET SECONDS [MAX_LEN]
# New inputs go to fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET when
# that exists); findings to fuzz/artifacts/TARGET; the log to
# fuzz/logs/TARGET-<date>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1 seconds=$2 max_len=${3:-65536}
mkdir -p "corpus/$target" logs
seeds=()
[ -d "seeds/$target" ] && seeds=("seeds/$target")
log="logs/$target-$(date +%Y%m%d-%H%M%S).log"
echo "$log"
exec cargo +nightly fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
  -jobs=1 -workers=1 -rss_limit_mb=1024 -timeout=10 -max_len="$max_len" \
  -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
