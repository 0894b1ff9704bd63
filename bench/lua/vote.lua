-- vote.lua: PUT /v1/sites/SITE/ideas/ID/vote, each by a distinct resident
-- (a pre-signed HS256 JWT per request, read from TOKDIR/jwt-<thread>.txt,
-- made by bench/jwt.c), spread over NIDEAS ideas (ids FIRST, FIRST+STEP,
-- ...), four up-votes to one down-vote. Counts every status in Lua: 201 is
-- "recorded", which is what the bench compares with the rows committed.
--
--   wrk ... -s vote.lua URL -- SITE TOKDIR NIDEAS FIRST STEP

local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  site = args[1]
  tokdir = args[2]
  nideas = tonumber(args[3])
  first = tonumber(args[4])
  step = tonumber(args[5])
  tokens = assert(io.open(tokdir .. "/jwt-" .. tid .. ".txt", "r"))
  sent, c201, c200, c2xx, cother, wrapped = 0, 0, 0, 0, 0, 0
  prefix = "PUT /v1/sites/" .. site .. "/ideas/"
  -- The request is put together by hand: wrk.format walks a header table
  -- with pairs() and string.format for every request, and this client
  -- shares two cores with the server it measures.
  mid = "/vote HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
        "\r\nContent-Type: application/json\r\nAuthorization: Bearer "
  up = "\r\nContent-Length: 11\r\n\r\n{\"value\":1}"
  down = "\r\nContent-Length: 12\r\n\r\n{\"value\":-1}"
end

function request()
  local tok = tokens:read("*l")
  if tok == nil then
    -- Out of tokens: start again (these votes then repeat: 200, not 201).
    tokens:seek("set", 0)
    tok = tokens:read("*l")
    wrapped = wrapped + 1
  end
  sent = sent + 1
  local k = (sent * 7919 + tid * 104729) % nideas
  return prefix .. (first + k * step) .. mid .. tok ..
         (sent % 5 == 0 and down or up)
end

function response(status, headers, body)
  if status == 201 then
    c201 = c201 + 1
  elseif status == 200 then
    c200 = c200 + 1
  elseif status >= 200 and status < 300 then
    c2xx = c2xx + 1
  else
    cother = cother + 1
    if cother <= 3 then
      io.stderr:write("non-2xx " .. status .. ": " .. body .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local t = {sent = 0, c201 = 0, c200 = 0, c2xx = 0, cother = 0, wrapped = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.1f,' ..
    '"p50_us":%d,"p75_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"sent":%d,' ..
    '"c201":%d,"c200":%d,"c2xx":%d,"cother":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max,
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    t.sent, t.c201, t.c200, t.c2xx, t.cother, t.wrapped))
end
