-- feedback.lua: anonymous POST /v1/sites/SITE/feedback on NPAGES pages,
-- each from a distinct device (a User-Agent of its own: the server tells
-- devices apart by address and user agent, and every request comes from
-- 127.0.0.1 here), "useful" yes seven times in ten, a rating one time in
-- three, a comment one time in twenty. Every request carries an
-- Idempotency-Key of its own, bench-RUNID-THREAD-N, as the widget sends one
-- per answer (a server that folds retried answers by it must see every
-- request as new; an older server ignores the header). RUNID must differ
-- between runs on one database. Counts every status in Lua.
--
--   wrk ... -s feedback.lua URL -- SITE NPAGES RUNID

local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

local comments = {
  "The bus times on this page were out of date.",
  "Could not find how to book a bulky waste collection.",
  "Clear and helpful, thank you.",
  "The form at the bottom did not work on my phone.",
  "Please add opening hours for the weekend."
}

function init(args)
  site = args[1]
  npages = tonumber(args[2])
  runid = args[3]
  sent, c201, c200, c2xx, cother, wrapped = 0, 0, 0, 0, 0, 0
  -- Put together by hand (see vote.lua).
  head = "POST /v1/sites/" .. site .. "/feedback HTTP/1.1\r\nHost: " ..
         wrk.headers["Host"] .. "\r\nContent-Type: application/json\r\n" ..
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) " ..
         "Gecko/20100101 Firefox/128.0 bench/" .. runid .. "-" .. tid .. "-"
  key = "\r\nIdempotency-Key: bench-" .. runid .. "-" .. tid .. "-"
end

function request()
  sent = sent + 1
  local page = (sent * 7919 + tid * 104729) % npages
  local body = '{"page":"https://council.example/services/page-' .. page ..
               '","useful":' .. (sent % 10 < 7 and "true" or "false")
  if sent % 3 == 0 then body = body .. ',"rating":' .. (1 + sent % 5) end
  if sent % 20 == 0 then
    body = body .. ',"comment":"' .. comments[1 + (sent / 20) % 5] .. '"'
  end
  body = body .. "}"
  return head .. sent .. key .. sent .. "\r\nContent-Length: " .. #body ..
         "\r\n\r\n" .. body
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
