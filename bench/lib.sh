# Shared by bench/run.sh and bench/capture.sh (sourced, not run): the bench's own PostgreSQL
# cluster, its database, the release binaries, and the customers the load generator signs in as.
# Everything runs on loopback; nothing here touches the development cluster on port 54329.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A cluster of its own: statement logging and restarts never disturb the tests' cluster.
export MAMI_PG_PORT="${BENCH_PG_PORT:-54339}"
export MAMI_PG_DIR="${BENCH_PG_DIR:-/var/tmp/mami-bench-pg-$(printf '%s' "$root" | sha256sum | cut -c1-12)}"
bench_db="${BENCH_DB:-mami_bench}"
target="${CARGO_TARGET_DIR:-$root/target}/release"
work="${BENCH_WORK:-$root/.local/bench}"
mkdir -p "$work"
# The products every purchase loop buys (demo products: present in any seeded database).
loop_products=(11 12 13)
pids=()

say() { echo "bench: $*" >&2; }

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  restore_autogroup
}
trap cleanup EXIT

# The scheduler's autogroups (kernel.sched_autogroup_enabled, on in Debian's kernels) make every
# session one group that competes for the CPU as a whole, and pg_ctl starts PostgreSQL in a
# session of its own. While the API (or the floor) and wrk keep their group busy, PostgreSQL's
# backends waited up to 0.5 s for a CPU (run-queue latency traced with bpftrace) and the HTTP
# runs stalled for as long; pgbench's runs never did, its client being nearly idle
# (docs/performance.md, "The stalls were the scheduler's autogroups"). autogroup_off turns them
# off for the sitting when it may (root, or sudo without a password; BENCH_AUTOGROUP=keep leaves
# them as they are) and sets autogroup to the state the sitting runs with; cleanup restores them.
autogroup_file=/proc/sys/kernel/sched_autogroup_enabled
autogroup=absent autogroup_restore=
autogroup_off() {
  [ -r "$autogroup_file" ] || return 0
  if [ "$(cat "$autogroup_file")" = 0 ]; then autogroup=off; return 0; fi
  autogroup=on
  if [ "${BENCH_AUTOGROUP:-off}" = keep ]; then
    say "scheduler autogroups stay on (BENCH_AUTOGROUP=keep): expect stalls of the HTTP runs"
  elif { echo 0 >"$autogroup_file"; } 2>/dev/null || sudo -n sysctl -q kernel.sched_autogroup_enabled=0 2>/dev/null; then
    autogroup=off autogroup_restore=1
    say "scheduler autogroups off for this sitting (kernel.sched_autogroup_enabled=0, restored at exit)"
  else
    say "WARNING: scheduler autogroups are on and this user may not turn them off: PostgreSQL" \
      "competes as one group and the HTTP runs will stall (sudo sysctl kernel.sched_autogroup_enabled=0)"
  fi
}
restore_autogroup() {
  [ -n "$autogroup_restore" ] || return 0
  autogroup_restore=
  { echo 1 >"$autogroup_file"; } 2>/dev/null || sudo -n sysctl -q kernel.sched_autogroup_enabled=1 2>/dev/null || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# psql on the bench database as the cluster's superuser; quiet, unaligned, stops on errors.
bpsql() {
  PGPASSWORD=mami PGOPTIONS=--client-min-messages=warning psql -h 127.0.0.1 -p "$MAMI_PG_PORT" -U mami -d "${PSQL_DB:-$bench_db}" \
    -v ON_ERROR_STOP=1 -qAtX "$@"
}

# build [1]: the release binaries; with 1, the floor's too (bench/floor).
build() {
  local floor=()
  [ "${1:-0}" = 0 ] || floor=(-p mami-bench-floor --bin mami-bench-floor)
  say "building the release binaries (cargo build --release -p mami-api -p mami-paysim ${floor[*]})"
  (cd "$root" && cargo build --release -q -p mami-api --bin mami-api -p mami-paysim --bin mami-paysim \
    "${floor[@]}")
}

# Starts the bench cluster and makes the database as seeded with $1 extra products. Sets
# DATABASE_URL. Every run starts from the same data: a copy of the template ${bench_db}_seeded,
# cut right after the seed and its VACUUM. Without it, what earlier runs wrote stayed (one day of
# sittings left 200,000 orders, payments and idempotency keys), and later runs measured another
# database. The template is cut again when it is missing, holds another product count, or
# lacked a migration that the copy then got.
prepare_db() {
  local products="$1" base seeded="${bench_db}_seeded" have want before after
  base="$(bash "$root/deploy/local-pg.sh" url)"
  export DATABASE_URL="$base/$bench_db"
  api_env
  PSQL_DB=postgres bpsql -c "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)"
  if [ "$(PSQL_DB=postgres bpsql -c "SELECT 1 FROM pg_database WHERE datname = '$seeded'")" = 1 ]; then
    PSQL_DB=postgres bpsql -c "CREATE DATABASE $bench_db TEMPLATE $seeded"
    before="$(bpsql -c "SELECT count(*) FROM __diesel_schema_migrations")"
    "$target/mami-api" migrate >/dev/null
    after="$(bpsql -c "SELECT count(*) FROM __diesel_schema_migrations")"
    have="$(bpsql -c "SELECT count(*) FROM products")"
    want=$((180 + products))
    if [ "$have" = "$want" ] && [ "$before" = "$after" ]; then
      return 0
    fi
    say "template $seeded: $have products (want $want), $before migrations (now $after): seeding again"
    PSQL_DB=postgres bpsql -c "DROP DATABASE $bench_db WITH (FORCE)"
  fi
  PSQL_DB=postgres bpsql -c "CREATE DATABASE $bench_db"
  "$target/mami-api" migrate >/dev/null
  say "seeding $bench_db with --products $products"
  "$target/mami-api" seed --products "$products" >/dev/null
  bpsql -c "VACUUM ANALYZE"  # hint bits and visibility map set now, not by the first run
  PSQL_DB=postgres bpsql -c "DROP DATABASE IF EXISTS $seeded" -c "CREATE DATABASE $seeded TEMPLATE $bench_db"
}

# The API's environment: no rate limits (one address sends everything), paysim as provider,
# 9 connections (3 shared, 3 per worker on 2 cores; see bench/README.md), unless set.
api_env() {
  export APP_ENV=testing RATE_LIMIT_ENABLED=false LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}"
  export DATABASE_POOL_SIZE="${DATABASE_POOL_SIZE:-9}"
  export JWT_SECRET_KEY=bench-secret-0123456789abcdef0123456789 DELIVERY_SOURCE_BRANCH_ID=1
  export MAIL_PROVIDER=files MAIL_DIR="$work/mail"
  export PAYMENT_PROVIDER_SECRET_KEY=sk_test_paysim
}

wait_http() {
  local url="$1" i
  for i in $(seq 300); do
    curl -fs -o /dev/null "$url" && return 0
    sleep 0.1
  done
  say "nothing answers $url"; return 1
}

# Starts mami-paysim on a free port; sets PAYMENT_PROVIDER_URL and paysim_pid.
start_paysim() {
  local port; port="$(free_port)"
  "$target/mami-paysim" --bind "127.0.0.1:$port" >"$work/paysim.log" 2>&1 &
  paysim_pid=$!
  pids+=("$paysim_pid")
  export PAYMENT_PROVIDER_URL="http://127.0.0.1:$port"
  sleep 0.3
}

# Starts one `mami-api serve`; sets api_pid and api (its address).
start_api() {
  local port log; port="$(free_port)"; log="$work/api-$port.log"
  BIND_ADDR="127.0.0.1:$port" "$target/mami-api" serve >"$log" 2>&1 &
  api_pid=$!
  pids+=("$api_pid")
  api="http://127.0.0.1:$port"
  wait_http "$api/api/v1/health" || { tail -20 "$log" >&2; return 1; }
}

# The request of each read workload.
path_of() {
  case "$1" in
    catalog|burst) echo "/api/v1/catalog/products/search?limit=20" ;;
    search) echo "/api/v1/catalog/products/search?q=milk" ;;
    cart) echo "/api/v1/cart" ;;
  esac
}

# start_floor UBASE CBASE TBASE API [FLOOR-OPTION…]: starts bench/floor beside the API,
# answering each read with the captured statements and a body of the size the API's answer has
# (read from API now, as customer 0 with the cart's 2 lines); sets floor_pid and floor_api.
start_floor() {
  local port token bodies=() w size
  port="$(free_port)"
  token="$(head -1 "$work/customers.txt" | cut -d' ' -f2)"
  reset_state cart >/dev/null  # the cart's answer with its 2 lines
  for w in catalog search cart; do
    size="$(curl -fs -H "Authorization: Bearer $token" "$4$(path_of "$w")" | wc -c)"
    bodies+=(--body "$w=$size")
  done
  "$target/mami-bench-floor" --bind "127.0.0.1:$port" --scripts "$root/bench/pgbench" \
    --ubase "$1" --cbase "$2" --tbase "$3" "${bodies[@]}" "${@:5}" >"$work/floor.log" 2>&1 &
  floor_pid=$!
  pids+=("$floor_pid")
  floor_api="http://127.0.0.1:$port"
  wait_http "$floor_api/api/v1/health" || { tail -20 "$work/floor.log" >&2; return 1; }
  say "floor at $floor_api (${bodies[*]} ${*:5})"
}

# Creates $1 customers (the demo password, a cart, a saved default test card) numbered from 0
# in bench_customers, unless that many exist; signs each in through $2 and writes
# "n token cart_id token_id" lines to $work/customers.txt. Their ids are contiguous and far from
# every other id, so bench/capture.sh can tell them from literals in the SQL it captures.
make_customers() {
  local n="$1" api="$2" have
  bpsql <<SQL
CREATE TABLE IF NOT EXISTS bench_customers (n int PRIMARY KEY, user_id bigint NOT NULL,
  email text NOT NULL, cart_id bigint NOT NULL, token_id bigint NOT NULL);
SQL
  have="$(bpsql -c "SELECT count(*) FROM bench_customers")"
  if [ "$have" -lt "$n" ]; then
    bpsql >/dev/null <<SQL
BEGIN;
SELECT setval(pg_get_serial_sequence('users', 'id'), greatest(7000000, (SELECT max(user_id) FROM bench_customers)));
SELECT setval(pg_get_serial_sequence('carts', 'id'), greatest(8000000, (SELECT max(cart_id) FROM bench_customers)));
SELECT setval(pg_get_serial_sequence('payment_tokens', 'id'),
  greatest(9000000, (SELECT max(token_id) FROM bench_customers)));
WITH u AS (
  INSERT INTO users (email, full_name, password_hash)
  SELECT 'bench-' || g || '@mami.local', 'Bench Shopper',
         (SELECT password_hash FROM users WHERE email = 'customer@mami.local')
  FROM generate_series($have, $n - 1) g ORDER BY g
  RETURNING id, email),
c AS (INSERT INTO carts (user_id) SELECT id FROM u ORDER BY id RETURNING id, user_id),
t AS (INSERT INTO payment_tokens (user_id, provider, provider_token, brand, last4, is_default)
      SELECT id, 'stripe', 'pm_card_visa', 'visa', '4242', true FROM u ORDER BY id
      RETURNING id, user_id)
INSERT INTO bench_customers
SELECT split_part(split_part(u.email, '@', 1), '-', 2)::int, u.id, u.email, c.id, t.id
FROM u JOIN c ON c.user_id = u.id JOIN t ON t.user_id = u.id;
COMMIT;
SQL
  fi
  : >"$work/customers.txt"
  bpsql -F ' ' -c "SELECT n, email, cart_id, token_id FROM bench_customers WHERE n < $n ORDER BY n" |
    while read -r i email cart card; do
      token="$(curl -fs "$api/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"Mami2026!\"}" |
        sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
      [ -n "$token" ] || { say "login of $email failed"; return 1; }
      echo "$i $token $cart $card" >>"$work/customers.txt"
    done
}

# Plenty of stock of the loop's products at the warehouse, and every bench cart holding
# products 1 and 2 (`cart`, for the cart read) or nothing (`empty`, for the purchase loop):
# every run, API or pgbench, starts from the same state. Prints the delivery slot to use.
reset_state() {
  local fill=""
  [ "$1" = cart ] && fill="INSERT INTO cart_items (cart_id, product_id, quantity, unit_price)
    SELECT b.cart_id, p.id, 1, p.price FROM bench_customers b, products p WHERE p.id IN (1, 2);"
  bpsql <<SQL
UPDATE inventory SET available_quantity = 100000000, reserved_quantity = 0
 WHERE branch_id = 1 AND product_id IN ($(IFS=,; echo "${loop_products[*]}"));
DELETE FROM cart_items WHERE cart_id IN (SELECT cart_id FROM bench_customers);
$fill
SELECT min(id) FROM delivery_slots WHERE branch_id = 1 AND is_active;
SQL
}

# CPU time in clock ticks (USER_HZ: `getconf CLK_TCK` a second). busy_ticks: the whole
# machine's, all but idle and iowait (guest time is already inside user and nice).
busy_ticks() {
  local _cpu user nice system _idle _iowait irq softirq steal _rest
  read -r _cpu user nice system _idle _iowait irq softirq steal _rest </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

# steal_ticks: the time the hypervisor ran something else while this machine's CPUs had work
# (the steal field of /proc/stat); 0 on bare metal. A run with much of it stalled for that long.
steal_ticks() {
  local _cpu _user _nice _system _idle _iowait _irq _softirq steal _rest
  read -r _cpu _user _nice _system _idle _iowait _irq _softirq steal _rest </proc/stat
  echo "$steal"
}

# proc_ticks PID…: user + system time of these processes (fields 14 and 15 of /proc/PID/stat,
# counted after the command name, which may hold spaces); a process that is gone counts 0.
# With --sys first, system time only (field 15): the kernel's work for these processes (their
# sockets, the scheduler), which leaner user-space code would not remove.
proc_ticks() {
  local p stat f sum=0 user=1
  if [ "${1:-}" = --sys ]; then user=0; shift; fi
  for p in "$@"; do
    stat="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    read -ra f <<<"${stat##*) }"
    sum=$((sum + user * f[11] + f[12]))
  done
  echo "$sum"
}

# pg_ticks: the bench cluster's CPU time so far: the postmaster's own, its live children's
# (backends, background processes) and, through its cutime and cstime (fields 16 and 17), that
# of every child it has reaped, so that backends which come and go with connections count too.
pg_ticks() {
  local pm stat f kids
  pm="$(head -1 "$MAMI_PG_DIR/data/postmaster.pid")"
  stat="$(cat "/proc/$pm/stat")"
  read -ra f <<<"${stat##*) }"
  read -ra kids < <(pgrep -P "$pm" | paste -sd' ')
  echo $((f[13] + f[14] + $(proc_ticks "$pm" "${kids[@]}")))
}
