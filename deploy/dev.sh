#!/usr/bin/env bash
# Developer entry point.
#
#   deploy/dev.sh serve   Serve the API on http://127.0.0.1:8080. Without DATABASE_URL it starts
#                         the project's private PostgreSQL (deploy/local-pg.sh), creates the
#                         `mami` database, migrates it and seeds the demo data first; without
#                         PAYMENT_PROVIDER_URL it runs mami-paysim on 127.0.0.1:12111 alongside.
#                         E-mail (reset links, registration codes) is written to .local/mail,
#                         one file per message, unless MAIL_PROVIDER says otherwise.
#   deploy/dev.sh test    Run the whole test suite (cargo test --workspace); the tests start the
#                         private PostgreSQL themselves unless MAMI_TEST_DATABASE_URL is set.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

serve() {
  if [ -z "${DATABASE_URL:-}" ]; then
    base="$(bash deploy/local-pg.sh url)"
    if [ "$(bash deploy/local-pg.sh psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'mami'")" != "1" ]; then
      bash deploy/local-pg.sh psql -qc "CREATE DATABASE mami" >/dev/null
    fi
    export DATABASE_URL="$base/mami"
    export APP_ENV="${APP_ENV:-development}"
    echo "dev: using the private PostgreSQL at $base (database mami)" >&2
  fi
  cargo build -p mami-api --bin mami-api -p mami-paysim --bin mami-paysim ${MAMI_RELEASE:+--release}
  local dir="${CARGO_TARGET_DIR:-target}/$([ -n "${MAMI_RELEASE:-}" ] && echo release || echo debug)"
  local bin="$dir/mami-api"
  if [ -z "${PAYMENT_PROVIDER_URL:-}" ]; then
    # The payment-provider simulator runs alongside and stops with the API.
    "$dir/mami-paysim" --bind 127.0.0.1:12111 &
    paysim_pid=$!
    trap 'kill "$paysim_pid" 2>/dev/null || true' EXIT
    export PAYMENT_PROVIDER_URL=http://127.0.0.1:12111 PAYMENT_PROVIDER_SECRET_KEY=sk_test_paysim
  fi
  if [ "${APP_ENV:-production}" != production ]; then
    export MAIL_PROVIDER="${MAIL_PROVIDER:-files}" MAIL_DIR="${MAIL_DIR:-.local/mail}"
  fi
  "$bin" migrate
  "$bin" seed
  cat >&2 <<'MSG'
dev: demo users (password Mami2026!): customer@mami.local, employee@mami.local,
     manager@mami.local, admin@mami.local. API docs: http://127.0.0.1:8080/api/v1/docs
MSG
  if [ "${MAIL_PROVIDER:-}" = files ]; then
    echo "dev: e-mail (reset links, registration codes) is written to $MAIL_DIR, not sent" >&2
  fi
  "$bin" serve
}

case "${1:-serve}" in
  serve) serve ;;
  test) shift; exec cargo test --workspace "$@" ;;
  *) echo "usage: deploy/dev.sh [serve|test]" >&2; exit 2 ;;
esac
