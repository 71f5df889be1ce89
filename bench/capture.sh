#!/usr/bin/env bash
# Captures the SQL the API sends for one request of each workload and writes the pgbench
# scripts that replay it (bench/pgbench/*.pgbench, *.vars) and the statement counts
# (bench/pgbench/statements.md). Run it again whenever the API's SQL changes:
#
#   bash bench/capture.sh
#
# It serves the release build on a scratch database (mami_capture in the bench cluster) whose
# sessions log every statement (`log_statement = all`), sends the requests one by one with a
# marker statement between them, and hands the cluster's log to bench/capture.py.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "${BENCH_NO_BUILD:-}" = 1 ] || build
bench_db=mami_capture
work="$work/capture"  # its own customers.txt and logs, apart from a run's
mkdir -p "$work"
prepare_db 0  # a fresh copy of the seeded database, as for every sitting
start_paysim
# No background passes during the capture: only the requests' own statements are logged. One
# connection, warmed by a first round of every request, so that what is captured is the steady
# state (diesel looks custom types up once per connection, on their first use).
export RECONCILE_INTERVAL_SECONDS=3600 MAIL_POLL_SECONDS=3600 WORKERS=1 DATABASE_POOL_SIZE=1
bpsql -c "ALTER DATABASE mami_capture SET log_statement = 'all'"
start_api
make_customers 1 "$api"
read -r token cart card < <(awk '{print $2, $3, $4}' "$work/customers.txt")
slot="$(reset_state empty | tail -1)"
log="$MAMI_PG_DIR/postgres.log"

mark() { [ "$marks" = 0 ] || bpsql -c "SELECT 'bench-mark:$1'" >/dev/null; }
call() { # method path [body] [extra header]; prints the body, fails on a non-2xx answer
  curl -fsS -X "$1" "$api$2" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    ${4:+-H "$4"} ${3:+-d "$3"}
}
checkout="{\"cart_id\": $cart, \"payment_token_id\": $card, \"fulfillment_type\": \"DELIVERY\", \"delivery_slot_id\": $slot}"

every_request() {
  mark catalog
  curl -fsS -o /dev/null "$api/api/v1/catalog/products/search?limit=20"
  mark search
  curl -fsS -o /dev/null "$api/api/v1/catalog/products/search?q=milk"
  mark end
  reset_state cart >/dev/null
  mark cart
  call GET /api/v1/cart >/dev/null
  mark end
  reset_state empty >/dev/null
  local n=1 p
  for p in "${loop_products[@]}"; do
    mark "purchase:add $n"; n=$((n + 1))
    call POST /api/v1/cart/items "{\"product_id\": $p, \"quantity\": 1}" >/dev/null
  done
  mark "purchase:preview"
  call POST /api/v1/checkout/preview "$checkout" >/dev/null
  mark "purchase:confirm"
  confirmed="$(call POST /api/v1/checkout/confirm "$checkout" "Idempotency-Key: capture-$(date +%s%N)")"
  local order; order="$(sed -E 's/.*"order_id":([0-9]+).*/\1/' <<<"$confirmed")"
  mark "purchase:order"
  call GET "/api/v1/orders/$order" >/dev/null
  mark "purchase:clear"
  call DELETE /api/v1/cart >/dev/null
  mark end
}

marks=0 every_request
# Every id sequence starts at its own multiple of 10^9, so that capture.py knows an id from a
# literal and which table's row it names.
bpsql -F ' ' >"$work/capture.tables" <<'SQL'
SELECT k, t, setval(pg_get_serial_sequence(t, 'id'), k * 1000000000) FROM (
  SELECT row_number() OVER (ORDER BY table_name) AS k, table_name::text AS t
  FROM information_schema.columns
  WHERE table_schema = 'public' AND column_name = 'id'
    AND (is_identity = 'YES' OR column_default LIKE 'nextval%')) s;
SQL
start_line=$(($(wc -l <"$log") + 1))
marks=1 every_request
bpsql -c "ALTER DATABASE mami_capture RESET log_statement"

tail -n +"$start_line" "$log" >"$work/capture.log"
bpsql -F ' ' -c "SELECT user_id, cart_id, token_id FROM bench_customers WHERE n = 0" >"$work/capture.ids"
printf '%s' "$confirmed" >"$work/capture.confirm"
python3 "$root/bench/capture.py" "$work/capture.log" "$work/capture.ids" "$work/capture.tables" \
  "$work/capture.confirm" \
  "$root/bench/pgbench"
