-- Durable single-event appends, expected version "any", to 64 streams per wrk thread:
--   wrk -s append.lua URL -- DATA_JSON
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require "report"

local next_thread = 1
local body
local sent = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  body = '{"expected_version":"any","events":[{"type":"BenchAppended","data":' ..
         (args[1] or '{}') .. '}]}'
end

function request()
  sent = sent + 1
  local stream = "bench-" .. thread_id .. "-" .. (sent % 64)
  return wrk.format("POST", "/streams/" .. stream, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  report_result(summary, latency)
end
