-- The `accounts` projection in Lua: the same documents as accounts_projection.cc.
--
--   collection "accounts", id = the account stream ("account-101"):
--   {"account_id": "101", "owner": "Ada Lovelace", "branch": "london", "balance_cents": 2500,
--    "overdraft_limit_cents": 0, "status": "open", "opened_at_us": ..., "last_activity_at_us": ...}
--
-- status is "open", "overdrawn" (balance below zero) or "closed"; a closed account stays closed.

local ACCOUNTS = "accounts"

local function apply_amount(event, account, sign)
  if account.balance_cents == nil or account.status == nil then
    error(event.stream .. " document lacks balance_cents or status")
  end
  local amount = event.data.amount_cents
  if math.type(amount) ~= "integer" then
    error(event.type .. " data: field 'amount_cents' is missing or not an integer")
  end
  account.balance_cents = account.balance_cents + sign * amount
  if account.status ~= "closed" then
    account.status = account.balance_cents < 0 and "overdrawn" or "open"
  end
  account.last_activity_at_us = event.recorded_at_us
end

return {
  categories = {"account"},
  event_types = {"AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "AccountClosed"},
  key = "stream",
  collections = {
    [ACCOUNTS] = {
      indexes = {
        {path = "owner", type = "string"},
        {path = "branch", type = "string"},
        {path = "status", type = "string"},
        {path = "balance_cents", type = "number"},
      },
    },
  },

  on_event = function(event, ctx)
    if event.type == "AccountOpened" then
      local d = event.data
      ctx:put(ACCOUNTS, event.stream, {
        account_id = d.account_id,
        owner = d.owner,
        branch = d.branch,
        balance_cents = 0,
        overdraft_limit_cents = d.overdraft_limit_cents or 0,
        status = "open",
        opened_at_us = event.recorded_at_us,
        last_activity_at_us = event.recorded_at_us,
      })
      return
    end
    -- Events are facts: one for an account that was never opened means the log or the filter
    -- is wrong, so stop rather than invent an account.
    local account = ctx:get(ACCOUNTS, event.stream)
    if account == nil then
      error(event.type .. " at position " .. event.position .. " for " .. event.stream ..
            ", which has no AccountOpened")
    end
    if event.type == "MoneyDeposited" then
      apply_amount(event, account, 1)
    elseif event.type == "MoneyWithdrawn" then
      apply_amount(event, account, -1)
    elseif event.type == "AccountClosed" then
      account.status = "closed"
      account.last_activity_at_us = event.recorded_at_us
    else
      return  -- a newer event type
    end
    ctx:put(ACCOUNTS, event.stream, account)
  end,
}
