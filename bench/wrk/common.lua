-- Shared by the wrk scripts (`require("common")`; bench/run.sh puts this folder on LUA_PATH).
local common = {threads = {}}
local counter = 0
-- BENCH_OFFSET: the first customer of this wrk process (run.sh splits the clients between
-- API processes, one wrk each).
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

-- wrk calls it once per thread before the run: thread `tid` plays customer `tid`.
function common.setup(thread)
  thread:set("tid", offset + counter)
  counter = counter + 1
  table.insert(common.threads, thread)
end

-- Customer `tid` (modulo their number) of BENCH_CUSTOMERS: n, token, cart id, card id.
function common.customer(tid)
  local lines = {}
  for line in io.lines(os.getenv("BENCH_CUSTOMERS")) do table.insert(lines, line) end
  return lines[(tid % #lines) + 1]:match("^(%d+) (%S+) (%d+) (%d+)")
end

return common
