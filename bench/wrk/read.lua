-- wrk script of the read workloads: GET of BENCH_PATH, as customer (thread number mod the
-- customers) when BENCH_AUTH=1. Prints one "BENCH {...}" line of JSON for bench/run.sh.
local common = require("common")
setup = common.setup

function init(args)
  local path = os.getenv("BENCH_PATH")
  local headers = {}
  if os.getenv("BENCH_AUTH") == "1" then
    local _, token = common.customer(tid)
    headers["Authorization"] = "Bearer " .. token
  end
  req = wrk.format("GET", path, headers)
end

function request()
  return req
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
