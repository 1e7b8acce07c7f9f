-- The `branch_totals` projection in Lua: the same documents as branch_totals_projection.cc.
--
--   collection "branch_totals", id = the branch:
--     {"branch": "london", "accounts": 2, "open_accounts": 1, "balance_cents": 12500}
--   collection "branch_accounts", id = the account stream (which branch an account is in):
--     {"branch": "london", "open": true}
--
-- A branch document is written from every account stream of the branch, so record_sources is
-- off: its _meta.sources would grow with the bank.

local TOTALS = "branch_totals"
local MEMBERS = "branch_accounts"

local function add(doc, key, delta)
  local value = doc[key] or 0
  if math.type(value) ~= "integer" then
    error("field '" .. key .. "' is missing or not an integer")
  end
  doc[key] = value + delta
end

local function opened(event, ctx)
  local branch = event.data.branch
  ctx:put(MEMBERS, event.stream, {branch = branch, open = true})
  ctx:update(TOTALS, branch, function(t)
    t.branch = branch
    add(t, "accounts", 1)
    add(t, "open_accounts", 1)
    add(t, "balance_cents", 0)
    return t
  end)
end

return {
  categories = {"account"},
  event_types = {"AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "AccountClosed"},
  key = "handler",
  record_sources = false,
  collections = {
    [TOTALS] = {indexes = {}},
    [MEMBERS] = {indexes = {{path = "branch", type = "string"}}},
  },

  on_event = function(event, ctx)
    if event.type == "AccountOpened" then return opened(event, ctx) end
    local member = ctx:get(MEMBERS, event.stream)
    if member == nil then
      error(event.type .. " at position " .. event.position .. " for " .. event.stream ..
            ", which has no AccountOpened")
    end
    local delta = 0
    if event.type == "MoneyDeposited" then
      delta = event.data.amount_cents
    elseif event.type == "MoneyWithdrawn" then
      delta = -event.data.amount_cents
    elseif event.type == "AccountClosed" then
      member.open = false
      ctx:put(MEMBERS, event.stream, member)
    else
      return  -- a newer event type
    end
    local totals = ctx:get(TOTALS, member.branch)
    if totals == nil then
      error("branch_totals has no document for branch '" .. member.branch .. "'")
    end
    if event.type == "AccountClosed" then
      add(totals, "open_accounts", -1)
    else
      add(totals, "balance_cents", delta)
    end
    ctx:put(TOTALS, member.branch, totals)
  end,
}
