-- GET of a fixed path (the static /ping baseline) or of random documents:
--   wrk -s get.lua URL -- PATH            every request GETs PATH
--   wrk -s get.lua URL -- PREFIX N        GETs PREFIX..k for k uniform in [0, N)
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require "report"

local prefix, count

function init(args)
  prefix = args[1] or "/ping"
  count = tonumber(args[2])
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  if count then
    return wrk.format("GET", prefix .. math.random(0, count - 1))
  end
  return wrk.format("GET", prefix)
end

function done(summary, latency, requests)
  report_result(summary, latency)
end
