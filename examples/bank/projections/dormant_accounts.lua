-- The `dormant_accounts` projection in Lua: the same documents as
-- dormant_accounts_projection.cc, with its defaults (dormant after 90 days, a tick every hour).
--
--   collection "dormant_accounts", id = the account stream:
--   {"account_id": "101", "owner": "Ada Lovelace", "branch": "london",
--    "last_activity_at_us": ..., "dormant": true, "dormant_since_us": ...}
--
-- Events set times from recorded_at_us (deterministic replays); only the tick reads the clock.

local DORMANT = "dormant_accounts"
local DORMANT_AFTER_US = 90 * 24 * 3600 * 1000000
local TICK_PAGE = 1000

return {
  categories = {"account"},
  event_types = {"AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "AccountClosed"},
  key = "stream",
  collections = {
    [DORMANT] = {
      indexes = {
        {path = "dormant", type = "bool"},
        {path = "last_activity_at_us", type = "number"},
      },
    },
  },
  tick_interval_ms = 3600 * 1000,

  on_event = function(event, ctx)
    if event.type == "AccountClosed" then
      ctx:delete(DORMANT, event.stream)
    elseif event.type == "AccountOpened" then
      local d = event.data
      ctx:put(DORMANT, event.stream, {
        account_id = d.account_id,
        owner = d.owner,
        branch = d.branch,
        last_activity_at_us = event.recorded_at_us,
        dormant = false,
      })
    elseif event.type == "MoneyDeposited" or event.type == "MoneyWithdrawn" then
      local doc = ctx:get(DORMANT, event.stream)
      if doc == nil then
        error(event.type .. " at position " .. event.position .. " for " .. event.stream ..
              ", which is not an open account")
      end
      doc.last_activity_at_us = event.recorded_at_us
      doc.dormant = false
      doc.dormant_since_us = nil
      ctx:put(DORMANT, event.stream, doc)
    end
  end,

  -- Marks the accounts inactive since before now - 90 days. The context's find sees this tick's
  -- own writes, so the documents just marked no longer match and the next page is the next ones.
  on_tick = function(now_us, ctx)
    while true do
      local page = ctx:find(DORMANT, {
        where = {{"dormant", "eq", false}, {"last_activity_at_us", "lt", now_us - DORMANT_AFTER_US}},
        limit = TICK_PAGE,
      })
      for _, found in ipairs(page) do
        local doc = found.doc
        doc.dormant = true
        doc.dormant_since_us = now_us
        ctx:put(DORMANT, found.id, doc)
      end
      if #page < TICK_PAGE then break end
    end
  end,
}
