#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, run from the machine's PostgreSQL
# server binaries with its data in the project (.local/pg, git-ignored).
#
#   deploy/local-pg.sh url      ensure it runs; print its base URL (no database) on stdout
#   deploy/local-pg.sh start    the same, saying so on stderr
#   deploy/local-pg.sh stop     stop it (fast shutdown)
#   deploy/local-pg.sh status   exit 0 when running
#   deploy/local-pg.sh psql …   psql on its `postgres` database as superuser `mami`
#
# PostgreSQL refuses to run as root: when root, the cluster runs as `postgres` (or `nobody`).
# Concurrent calls are serialised with flock. Tuned for speed, not durability (fsync off).
set -euo pipefail

root="$(realpath "$(dirname "${BASH_SOURCE[0]}")/..")"
port="${MAMI_PG_PORT:-54329}"
dir="${MAMI_PG_DIR:-$root/.local/pg}"
user_name="mami"
password="mami"

log() { echo "local-pg: $*" >&2; }

find_bindir() {
  local d
  if [ -n "${MAMI_PG_BINDIR:-}" ] && [ -x "$MAMI_PG_BINDIR/initdb" ]; then echo "$MAMI_PG_BINDIR"; return; fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  echo "local-pg: no PostgreSQL server binaries found; install them with: sudo apt-get install -y postgresql (or set DATABASE_URL to an existing server)" >&2
  exit 1
}

# Who runs the cluster, and how to run a command as them.
if [ "$(id -u)" = "0" ]; then
  if id postgres >/dev/null 2>&1; then run_user=postgres; else run_user=nobody; fi
  as_user() { runuser -u "$run_user" -- "$@"; }
else
  run_user="$(id -un)"
  as_user() { "$@"; }
fi

# When root, the cluster user must reach the data folder; fall back to /var/tmp if it cannot.
if [ "$(id -u)" = "0" ]; then
  mkdir -p "$(dirname "$dir")"
  if ! as_user test -x "$(dirname "$dir")"; then
    fallback="/var/tmp/mami-pg-$(printf '%s' "$root" | sha256sum | cut -c1-12)"
    log "$run_user cannot reach $(dirname "$dir"); using $fallback"
    dir="$fallback"
  fi
fi
data="$dir/data"
sock="$dir/run"
logfile="$dir/postgres.log"
url="postgres://$user_name:$password@127.0.0.1:$port"

running() {
  [ -f "$data/postmaster.pid" ] || return 1
  local bindir
  bindir="$(find_bindir)"
  as_user "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

ensure() {
  local bindir
  bindir="$(find_bindir)"
  mkdir -p "$dir"
  [ "$(id -u)" = "0" ] && chown "$run_user" "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if running; then return 0; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a cluster in $data"
    rm -rf "$data"
    mkdir -p "$data" "$sock"
    [ "$(id -u)" = "0" ] && chown "$run_user" "$data" "$sock"
    local pwfile
    pwfile="$(mktemp)"
    printf '%s\n' "$password" >"$pwfile"
    [ "$(id -u)" = "0" ] && chown "$run_user" "$pwfile"
    # A UTF-8 character class (C.UTF-8) lets pg_trgm index Hebrew text; plain C is the fallback.
    local common=(-D "$data" --username="$user_name" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8)
    if ! as_user "$bindir/initdb" "${common[@]}" --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
      rm -rf "$data" && mkdir -p "$data" && { [ "$(id -u)" != "0" ] || chown "$run_user" "$data"; }
      as_user "$bindir/initdb" "${common[@]}" --no-locale >"$dir/initdb.log" 2>&1 \
        || { rm -f "$pwfile"; log "initdb failed: see $dir/initdb.log"; exit 1; }
    fi
    rm -f "$pwfile"
    cat >>"$data/postgresql.conf" <<CONF
# local-pg.sh: a private development and test cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
random_page_cost = 1.1
CONF
  fi
  mkdir -p "$sock"
  [ "$(id -u)" = "0" ] && chown "$run_user" "$sock"
  touch "$logfile"
  [ "$(id -u)" = "0" ] && chown "$run_user" "$logfile"
  # A stale pid file (crash, reboot) is handled by pg_ctl itself.
  as_user "$bindir/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >/dev/null 9>&- \
    || { log "the server did not start: see $logfile"; tail -n 20 "$logfile" >&2; exit 1; }
}

cmd="${1:-}"
case "$cmd" in
  url)
    ensure
    echo "$url"
    ;;
  start)
    ensure
    log "running on 127.0.0.1:$port (data in $data)"
    echo "$url"
    ;;
  stop)
    if running; then
      as_user "$(find_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
      log "stopped"
    fi
    ;;
  status)
    if running; then echo "running on 127.0.0.1:$port"; else echo "not running"; exit 1; fi
    ;;
  psql)
    shift
    ensure
    PGPASSWORD="$password" "$(find_bindir)/psql" -h 127.0.0.1 -p "$port" -U "$user_name" -d postgres "$@"
    ;;
  *)
    echo "usage: deploy/local-pg.sh url|start|stop|status|psql [args]" >&2
    exit 2
    ;;
esac
