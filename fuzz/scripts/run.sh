#!/usr/bin/env bash
# Fuzz one target for a while, one process, with the limits of fuzz/README.md.
#   fuzz/scripts/run.sh TARGET SECONDS [MAX_LEN]
# New inputs go to fuzz/corpus/TARGET (fuzz/seeds/TARGET, made by
# seed.py, is read too when present); findings to fuzz/artifacts/TARGET;
# the log to fuzz/logs/TARGET-<date>.log; fuzz/dict/TARGET.dict is the
# dictionary. NO_BUILD=1 runs the binary built last (so that src/ may
# change meanwhile).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1 seconds=$2 max_len=${3:-65536}
mkdir -p "corpus/$target" "artifacts/$target" logs
[ "${NO_BUILD:-}" = 1 ] || cargo +nightly fuzz build "$target"
seeds=()
[ -d "seeds/$target" ] && seeds=("seeds/$target")
dict=()
[ -f "dict/$target.dict" ] && dict=("-dict=dict/$target.dict")
log="logs/$target-$(date +%Y%m%d-%H%M%S).log"
echo "$log"
exec "target/x86_64-unknown-linux-gnu/release/$target" -artifact_prefix="artifacts/$target/" \
  -jobs=1 -workers=1 -rss_limit_mb=1024 -timeout=10 -max_len="$max_len" \
  -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" "corpus/$target" "${seeds[@]}" >"$log" 2>&1
