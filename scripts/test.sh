#!/usr/bin/env bash
# Runs Almanach's whole test suite against both stores.
#
# SQLite needs nothing. PostgreSQL: if ALMANACH_TEST_POSTGRES_URL is set, that
# server is used (each test creates its own database there; those of earlier
# runs, whose processes are gone, are dropped by the next run).
# Otherwise this script installs Debian's `postgresql` package when it is
# missing, starts a private throwaway cluster on a free port under a
# temporary directory, runs the tests against it and stops it afterwards.
# The PostgreSQL tests never skip: without a server they fail. Debian's
# `chromium` is installed the same way for the browser tests (visio, the
# account page), and `nodejs`/`npm` with the pinned npm package
# `oidc-provider` for the OpenID Connect test.
#
# Extra arguments are passed to `cargo test` (e.g. a test name filter).
# Without arguments (the whole suite, as CI runs it) the fuzz targets are
# then built (not run).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/private_postgres.sh
. scripts/private_postgres.sh

if [ -z "${ALMANACH_TEST_POSTGRES_URL:-}" ]; then
  start_private_postgres
fi

# The visio test in a real browser (tests/it/visio/browser.rs) drives
# Debian's headless Chromium; installed here when missing, like PostgreSQL.
if [ -z "${ALMANACH_TEST_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  log "chromium not found; installing Debian's chromium package"
  if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install chromium"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# The account page's OpenID Connect test (tests/it/account/oidc.rs) runs a
# real OpenID Provider, the npm package oidc-provider, pinned in
# tests/oidc/package-lock.json: Debian's nodejs and npm are installed when
# missing, and the package with `npm ci` when tests/oidc/node_modules does
# not match the lock file.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node or npm not found; installing Debian's nodejs and npm packages"
  if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install nodejs npm"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
if ! cmp -s tests/oidc/package-lock.json tests/oidc/node_modules/.package-lock.json.installed 2>/dev/null; then
  log "installing the test OpenID Provider (npm ci in tests/oidc)"
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp tests/oidc/package-lock.json tests/oidc/node_modules/.package-lock.json.installed
fi

cargo test --locked "$@"

# The fuzz targets (fuzz/, a crate of its own) are only built, on the stable
# toolchain: libfuzzer-sys compiles without nightly, only the sanitizer
# instrumentation of `cargo fuzz` needs it. Sharing target/ reuses what
# `cargo test` compiled (libfuzzer-sys's build dependency `cc` with its
# `parallel` feature still makes the build scripts that use cc, and what
# depends on them, build once more the first time). No fuzzing runs here;
# see fuzz/README.md.
if [ $# -eq 0 ]; then
  cargo build --locked --manifest-path fuzz/Cargo.toml --bins --target-dir target
  # Every input of the kept corpora (fuzz/corpus/<target>, minimized)
  # runs once through its target, uninstrumented: a change that makes one
  # of them panic fails here (about 10 s for all of them).
  for dir in fuzz/corpus/*/; do
    target=$(basename "$dir")
    log "replaying the $target corpus"
    out=$("target/debug/$target" -runs=0 -timeout=30 -rss_limit_mb=2048 "$dir" 2>&1) \
      || { printf '%s\n' "$out" | tail -n 30 >&2; log "the $target corpus failed"; exit 1; }
    printf '%s\n' "$out" | tail -n 1
  done
fi
