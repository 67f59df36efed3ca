-- wrk script of the whole-path benchmark: POST one JSON body with a bearer
-- token, count every answer that is not 200, and end with one JSON line
-- ("BENCH {...}") that bench.py reads. Taken from the environment:
--   BENCH_PATH   the method path, e.g. /show.ShowInterface/GetShows
--   BENCH_BODY   the request body (JSON)
--   BENCH_TOKEN  the HS256 token, made at run time by bench.py

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   bad = 0
   wrk.method = "POST"
   wrk.path = os.getenv("BENCH_PATH")
   wrk.body = os.getenv("BENCH_BODY")
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local bad_total = 0
   for _, t in ipairs(threads) do
      bad_total = bad_total + t:get("bad")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "seconds": %.3f, "bytes": %d, "p50_us": %d, "p99_us": %d, ' ..
      '"max_us": %d, "non200": %d, "socket_errors": %d}\n',
      summary.requests, summary.duration / 1e6, summary.bytes,
      latency:percentile(50), latency:percentile(99), latency.max,
      bad_total, e.connect + e.read + e.write + e.timeout))
end
