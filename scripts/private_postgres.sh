# Sourced by scripts/test.sh and scripts/stress.sh: `start_private_postgres`
# installs Debian's `postgresql` package when it is missing, starts a
# private throwaway cluster on a free port under a temporary directory, and
# exports ALMANACH_TEST_POSTGRES_URL (its `postgres` database); the cluster
# is stopped and removed when the calling script exits.

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

start_private_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    log "PostgreSQL server not found; installing Debian's postgresql package"
    if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install postgresql"; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  fi
  PG_DIR=$(mktemp -d /tmp/almanach-pg.XXXXXX)
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" postgres
    chown postgres "$PG_DIR"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
  "${run_as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; exit 1; }
  PG_STOP=("${run_as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -m fast -w stop)
  trap 'log "stopping private PostgreSQL"; "${PG_STOP[@]}" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"' EXIT
  export ALMANACH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  log "private PostgreSQL cluster on port $PG_PORT"
}

# `store_database STORE NAME WORKDIR`: sets DATABASE for a throwaway store
# of a benchmark or stress script: a SQLite file in WORKDIR, or a new
# database NAME_PID on ALMANACH_TEST_POSTGRES_URL's server when it is set,
# else a private cluster. `drop_store_database` undoes it (call it from the
# script's EXIT trap, which replaces start_private_postgres's).
store_database() {
  DROP_DB= PG_DIR=
  case "$1" in
    sqlite) DATABASE="sqlite://$3/almanach.db" ;;
    postgres)
      if [ -z "${ALMANACH_TEST_POSTGRES_URL:-}" ]; then
        start_private_postgres
        DATABASE=$ALMANACH_TEST_POSTGRES_URL
      else
        DROP_DB="$2_$$"
        psql -q "$ALMANACH_TEST_POSTGRES_URL" -c "CREATE DATABASE $DROP_DB"
        DATABASE="${ALMANACH_TEST_POSTGRES_URL%/*}/$DROP_DB"
      fi ;;
    *) log "unknown store $1 (sqlite or postgres)"; exit 2 ;;
  esac
}

drop_store_database() {
  if [ -n "${DROP_DB:-}" ]; then psql -q "$ALMANACH_TEST_POSTGRES_URL" -c "DROP DATABASE $DROP_DB" || true; fi
  if [ -n "${PG_DIR:-}" ]; then log "stopping private PostgreSQL"; "${PG_STOP[@]}" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; fi
}
