#!/usr/bin/env bash
# Instructions per request, by layer: the API and the floor (bench/floor) each run under
# valgrind's callgrind, one worker each, on the bench database; for every read workload, 2 s of
# wrk warm the caches, the counters are zeroed, wrk sends requests for 4 s (one thread, two
# connections) and the counters are dumped. bench/instructions.py then prints, per request, the
# instructions each side executed in user space (the kernel's share is not counted) and the
# inclusive share of the layers named in its table.
#
# Instructions, unlike time, do not depend on what else the machine does, so two builds can be
# compared on a busy machine to a percent. They are not time: system calls are not counted,
# and a `rep movsb`/`rep stosb` counts once per byte. docs/performance.md ("Where the API's
# instructions go") has the figures and what they say.
#
#   bash bench/instructions.sh [--no-build] [--workloads 'catalog search cart']
#
# Needs valgrind (apt-get install valgrind) besides what bench/run.sh needs. The release
# binaries are built (or taken, with --no-build) from $CARGO_TARGET_DIR or target/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

no_build=0 workloads="catalog search cart"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) no_build=1 ;;
    --workloads) workloads="$2"; shift ;;
    *) echo "usage: bash bench/instructions.sh [--no-build] [--workloads 'catalog search cart']" >&2
       exit 2 ;;
  esac
  shift
done
command -v valgrind >/dev/null || { say "valgrind is missing: sudo apt-get install -y valgrind"; exit 1; }
[ "$no_build" = 1 ] || build 1

out="$work/instructions"
rm -rf "$out"; mkdir -p "$out"
prepare_db 1000
start_paysim
start_api  # a plain API signs the customers in (argon2 under valgrind would take minutes)
make_customers 16 "$api"
read -r ubase cbase tbase < <(bpsql -F ' ' -c "SELECT user_id, cart_id, token_id FROM bench_customers WHERE n = 0")

# start_api and start_floor run "$target/<binary>": point them at wrappers that run the real
# binary under callgrind, instrumentation off until the runs begin.
real_target="$target"
target="$out/bin"; mkdir -p "$target"
for bin in mami-api mami-bench-floor; do
  cat >"$target/$bin" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$out/$bin.%p.out" --dump-instr=no \
  --instr-atstart=no "$real_target/$bin" "\$@"
EOF
  chmod +x "$target/$bin"
done
WORKERS=1 start_api
api_vg="$api" api_vg_pid="$api_pid"
start_floor "$ubase" "$cbase" "$tbase" "$api_vg" --workers 1
target="$real_target"

wrk_run() {  # wrk_run BASE WORKLOAD SECONDS [OUT]
  local auth=0
  [ "$2" = cart ] && auth=1
  (cd "$root/bench/wrk" && BENCH_PATH="$(path_of "$2")" BENCH_AUTH=$auth \
    BENCH_CUSTOMERS="$work/customers.txt" wrk -t1 -c2 -d"$3"s -s read.lua "$1" >"${4:-/dev/null}")
}

for side in api floor; do
  if [ "$side" = api ]; then base="$api_vg" pid="$api_vg_pid"; else base="$floor_api" pid="$floor_pid"; fi
  callgrind_control -i on "$pid" >/dev/null 2>&1
  for w in $workloads; do
    wrk_run "$base" "$w" 2
    callgrind_control -z "$pid" >/dev/null 2>&1
    wrk_run "$base" "$w" 4 "$out/$side-$w.wrk"
    callgrind_control -d "$w" "$pid" >/dev/null 2>&1
    # The dump just written is the newest file of this process.
    dump="$(ls -t "$out"/*."$pid".out.* | head -1)"
    requests="$(awk '/requests in/ {print $1}' "$out/$side-$w.wrk")"
    callgrind_annotate --inclusive=yes --threshold=100 "$dump" >"$out/$side-$w.txt"
    echo "$side $w $requests $out/$side-$w.txt" >>"$out/index"
  done
done
python3 "$root/bench/instructions.py" "$out/index"
