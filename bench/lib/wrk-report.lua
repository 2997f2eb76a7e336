-- wrk done() hook: one JSON line with exact latency percentiles (µs), counts and errors.
-- Optional: WRK_PATHS_FILE=<file with one path per line> rotates requests over those paths.
local paths_file = os.getenv("WRK_PATHS_FILE")
if paths_file and paths_file ~= "" then
  local paths = {}
  for line in io.lines(paths_file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  local n = #paths
  local i = math.random(n)
  request = function()
    i = i + 1
    if i > n then i = 1 end
    return wrk.format(nil, paths[i])
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"lat_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f,"stdev":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, latency.stdev))
end
