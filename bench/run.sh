#!/usr/bin/env bash
# The benchmark: each workload through the API (wrk) and the same SQL straight to PostgreSQL
# (pgbench, the scripts bench/capture.sh wrote), interleaved in one sitting, then a table.
#
#   bash bench/run.sh                 20 s per run, 16 clients, 2 rounds (about 7 minutes)
#   bash bench/run.sh --smoke         a few seconds per run: checks the whole pipeline
#
# Options: --duration S, --clients N, --rounds R, --products N (extra products to seed),
# --processes P (API processes on one database; the clients are split between them),
# --workloads 'catalog search cart purchase burst' (a subset, in that order), --capture
# (re-capture the SQL first), --floor (also run the read workloads through bench/floor: the same
# SQL behind actix-web and nothing else; --floor-pipelined: the floor sends each request's
# statements at once), --no-build. See bench/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration=20 clients=16 rounds=2 products=1000 processes=1 capture=0 smoke=0 no_build=0
floor=0 floor_args=()
workloads=(catalog search cart purchase burst)
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 duration=2 rounds=1 ;;
    --duration) duration="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --products) products="$2"; shift ;;
    --processes) processes="$2"; shift ;;
    --capture) capture=1 ;;
    --floor) floor=1 ;;
    --floor-pipelined) floor=1 floor_args=(--pipeline) ;;
    --workloads) read -ra workloads <<<"$2"; shift ;;
    --no-build) no_build=1 ;;
    *) echo "usage: bench/run.sh [--smoke] [--duration S] [--clients N] [--rounds R]" \
         "[--products N] [--processes P] [--workloads 'W …'] [--capture]" \
         "[--floor | --floor-pipelined] [--no-build]" >&2
       exit 2 ;;
  esac
  shift
done
command -v wrk >/dev/null || { say "wrk is missing: sudo apt-get install -y wrk"; exit 1; }
command -v pgbench >/dev/null || { say "pgbench is missing: sudo apt-get install -y postgresql"; exit 1; }
[ -x /usr/bin/time ] || { say "GNU time is missing: sudo apt-get install -y time"; exit 1; }
command -v pgrep >/dev/null || { say "pgrep is missing: sudo apt-get install -y procps"; exit 1; }
[ "$no_build" = 1 ] || build "$floor"
autogroup_off
if [ "$capture" = 1 ]; then BENCH_NO_BUILD=1 bash "$root/bench/capture.sh"; fi
scripts="$root/bench/pgbench"
results="$work/results.jsonl"
: >"$results"

prepare_db "$products"
start_paysim
apis=() api_pids=()
for _ in $(seq "$processes"); do
  start_api
  api_pids+=("$api_pid") apis+=("$api")
done
served=("${api_pids[@]}")
customers=$((clients > 16 ? clients : 16))
say "signing in $customers customers"
make_customers "$customers" "${apis[0]}"
read -r ubase cbase tbase < <(bpsql -F ' ' -c \
  "SELECT user_id, cart_id, token_id FROM bench_customers WHERE n = 0")
products_csv="$(IFS=,; echo "${loop_products[*]}")"
if [ "$floor" = 1 ]; then start_floor "$ubase" "$cbase" "$tbase" "${apis[0]}" "${floor_args[@]}"; fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
record() { # workload side round json-fields...
  local w="$1" side="$2" r="$3"; shift 3
  printf '{"workload": "%s", "side": "%s", "round": %s, "load": "%s", %s}\n' \
    "$w" "$side" "$r" "$(load)" "$*" >>"$results"
}

# Where the CPU goes during a run: snapshot prints the wall clock, then the ticks of the machine
# (busy), the served processes (the API's, or the floor's), paysim, the cluster and the steal
# time (lib.sh); cpu_fields turns the one taken before the run, one taken now and the load
# generators' /usr/bin/time files into the run's "cpu" JSON field.
snapshot() {
  echo "$(date +%s.%N) $(busy_ticks) $(proc_ticks "${served[@]}") $(proc_ticks "$paysim_pid")" \
    "$(pg_ticks) $(proc_ticks --sys "${served[@]}") $(steal_ticks)"
}
cpu_fields() {
  local after; after="$(snapshot)"
  python3 "$root/bench/report.py" cpu "$(getconf CLK_TCK)" "$1" "$after" "$work"/time-*
}

# wrk against every API process at once (or the floor: side "floor"), the clients split between
# them; one JSON per process, each with the run's "cpu" (see cpu_fields).
api_run() {
  local w="$1" r="$2" slot="$3" side="${4:-api}" i out=() script threads before cpu targets
  if [ "$side" = floor ]; then targets=("$floor_api") served=("$floor_pid")
  else targets=("${apis[@]}") served=("${api_pids[@]}"); fi
  local per=$((clients / ${#targets[@]}))
  if [ "$w" = purchase ]; then script=purchase.lua threads=$per; else script=read.lua threads=2; fi
  [ "$threads" -le "$per" ] || threads=$per
  rm -f "$work"/time-*
  before="$(snapshot)"
  for i in "${!targets[@]}"; do
    BENCH_OFFSET=$((i * per)) BENCH_PATH="$(path_of "$w")" \
      BENCH_AUTH=$([ "$w" = cart ] && echo 1 || echo 0) BENCH_CUSTOMERS="$work/customers.txt" \
      BENCH_PRODUCTS="$products_csv" BENCH_SLOT="$slot" \
      /usr/bin/time -f '%U %S' -o "$work/time-wrk-$i" \
      wrk -t "$threads" -c "$per" -d "${duration}s" --timeout 10s --latency \
      -s "$root/bench/wrk/$script" "${targets[$i]}" >"$work/wrk-$i.out" 2>&1 &
    out+=($!)
  done
  [ "$w" != burst ] || burst_logins
  for i in "${out[@]}"; do wait "$i"; done
  cpu="$(cpu_fields "$before")"
  for i in "${!targets[@]}"; do
    local line; line="$(grep '^BENCH ' "$work/wrk-$i.out" | cut -c7-)" \
      || { cat "$work/wrk-$i.out" >&2; exit 1; }
    cp "$work/wrk-$i.out" "$work/wrk-$w-$side-r$r-$i.out"  # wrk's own summary, kept per run
    record "$w" "$side" "$r" "\"process\": $i, ${line:1:-1}, $cpu"
  done
}

# 200 concurrent logins (bench/burst.py) a third into the run; its CPU counts as the generator's.
burst_logins() {
  sleep "$(python3 -c "print($duration / 3)")"
  /usr/bin/time -f '%U %S' -o "$work/time-burst" \
    python3 "$root/bench/burst.py" 200 "$customers" "${apis[@]}" >"$work/burst.json"
}

pg_run() {
  local w="$1" r="$2" vars=() v before cpu correction=corrected
  # wrk corrects the reads' percentiles for coordinated omission; the loop's come from
  # purchase.lua's own clock, uncorrected: pgbench's are made alike (report.py corrected).
  [ "$w" != purchase ] || correction=raw
  served=("${api_pids[@]}")
  while IFS= read -r v; do vars+=(-D "$v"); done <"$scripts/$w.vars"
  rm -f "$work"/pgb_log* "$work"/time-*
  before="$(snapshot)"
  (cd "$work" && /usr/bin/time -f '%U %S' -o "$work/time-pgbench" \
    pgbench -n -M prepared -c "$clients" -j 2 -T "$duration" -f "$scripts/$w.pgbench" \
    -D ubase="$ubase" -D cbase="$cbase" -D tbase="$tbase" "${vars[@]}" -l --log-prefix=pgb_log \
    -h 127.0.0.1 -p "$MAMI_PG_PORT" -U mami "$bench_db" >"$work/pgbench.out" 2>&1) \
    || { tail -20 "$work/pgbench.out" >&2; exit 1; }
  cpu="$(cpu_fields "$before")"
  record "$w" pgbench "$r" \
    "$(python3 "$root/bench/report.py" pglog "$work" "$work/pgbench.out" "$correction"), $cpu"
}

export PGPASSWORD=mami LUA_PATH="$root/bench/wrk/?.lua;;"
for r in $(seq "$rounds"); do
  for w in "${workloads[@]}"; do
    state=empty; [ "$w" = cart ] && state=cart
    # Alternate who goes first, so that neither side always runs on a warmer (or busier) box.
    if [ $(((r + ${#w}) % 2)) = 0 ]; then order="api pg floor"; else order="floor pg api"; fi
    for side in $order; do
      [ "$w/$side" != burst/pg ] || continue
      # The floor serves the reads only, and only with --floor.
      case "$side/$floor/$w" in
        floor/1/catalog|floor/1/search|floor/1/cart) ;;
        floor/*) continue ;;
      esac
      slot="$(reset_state "$state" | tail -1)"
      say "round $r: $w via $side (load $(load))"
      if [ "$side" = pg ]; then pg_run "$w" "$r"; else api_run "$w" "$r" "$slot" "$side"; fi
    done
  done
done

memory="$(for p in "${api_pids[@]}"; do grep -E 'VmHWM|VmRSS' "/proc/$p/status" | tr -s ' \t' ' ' \
  | paste -sd' '; done)"
python3 "$root/bench/report.py" table "$results" "$scripts/statements.md" "$work/burst.json" \
  "$memory" "clients=$clients duration=${duration}s rounds=$rounds products=$products processes=$processes autogroup=$autogroup"
if [ "$smoke" = 1 ]; then
  python3 "$root/bench/report.py" check "$results"
fi
