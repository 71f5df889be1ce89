-- wrk script of the purchase loop. Run with as many threads as connections (-t N -c N): each
-- thread then has one connection, plays one customer and walks the loop in order:
-- add ×3, preview, confirm (a fresh Idempotency-Key), read the order, clear the cart.
-- Times whole loops and confirms with clock_gettime (LuaJIT FFI) and prints one
-- "BENCH {...}" line of JSON for bench/run.sh.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) / 1e6
end

local common = require("common")
setup = common.setup

local products = {}
local step, order_id, seq = 0, nil, 0
local loop_start, confirm_start = 0, 0
local json = "application/json"
local token, cart, card, slot, hdr

loops, failures = 0, 0
loop_ms, confirm_ms = {}, {}

function init(args)
  for p in os.getenv("BENCH_PRODUCTS"):gmatch("%d+") do table.insert(products, p) end
  slot = os.getenv("BENCH_SLOT")
  local _
  _, token, cart, card = common.customer(tid)
  hdr = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = json}
  math.randomseed(os.time() + tid)
end

local function checkout_body()
  return string.format(
    '{"cart_id": %s, "payment_token_id": %s, "fulfillment_type": "DELIVERY", ' ..
    '"delivery_slot_id": %s}', cart, card, slot)
end

function request()
  if step == 0 then loop_start = now_ms() end
  if step <= 2 then
    return wrk.format("POST", "/api/v1/cart/items", hdr,
      string.format('{"product_id": %s, "quantity": 1}', products[step + 1]))
  elseif step == 3 then
    return wrk.format("POST", "/api/v1/checkout/preview", hdr, checkout_body())
  elseif step == 4 then
    seq = seq + 1
    local h = {["Authorization"] = hdr["Authorization"], ["Content-Type"] = json,
      ["Idempotency-Key"] = string.format("wrk-%d-%d-%d-%d", tid, os.time(), seq,
        math.random(1, 1e9))}
    confirm_start = now_ms()
    return wrk.format("POST", "/api/v1/checkout/confirm", h, checkout_body())
  elseif step == 5 then
    return wrk.format("GET", "/api/v1/orders/" .. order_id, hdr)
  else
    return wrk.format("DELETE", "/api/v1/cart", hdr)
  end
end

local expected = {201, 201, 201, 200, 201, 200, 200}

function response(status, headers, body)
  if status ~= expected[step + 1] then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("purchase step ", step, ": ", status, " ", body, "\n") end
    step = (step < 6) and 6 or 0 -- clear the cart and start over
    return
  end
  if step == 4 then
    table.insert(confirm_ms, now_ms() - confirm_start)
    order_id = body:match('"order_id":%s*(%d+)')
  elseif step == 6 then
    table.insert(loop_ms, now_ms() - loop_start)
    loops = loops + 1
  end
  step = (step + 1) % 7
end

local function percentile(xs, p)
  if #xs == 0 then return 0 end
  table.sort(xs)
  return xs[math.max(1, math.ceil(#xs * p / 100))]
end

function done(summary, latency, requests)
  local all_loops, all_confirms, total, failed = {}, {}, 0, 0
  for _, t in ipairs(common.threads) do
    total = total + t:get("loops")
    failed = failed + t:get("failures")
    for _, v in ipairs(t:get("loop_ms")) do table.insert(all_loops, v) end
    for _, v in ipairs(t:get("confirm_ms")) do table.insert(all_confirms, v) end
  end
  io.write(string.format(
    'BENCH {"requests": %d, "loops": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"confirm_p50_ms": %.3f, "confirm_p99_ms": %.3f, "request_p99_ms": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d}\n',
    summary.requests, total, summary.duration / 1e6, percentile(all_loops, 50),
    percentile(all_loops, 99), percentile(all_confirms, 50), percentile(all_confirms, 99),
    latency:percentile(99) / 1e3, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
