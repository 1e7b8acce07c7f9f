-- Shared by the wrk scripts of triad_http_bench: prints one machine-readable line at the end
-- (requests, seconds, p50/p99 latency in microseconds, errors of every kind including non-2xx).
function report_result(summary, latency)
  local e = summary.errors
  io.write(string.format("WRK_RESULT requests=%d seconds=%.6f p50_us=%.1f p99_us=%.1f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
