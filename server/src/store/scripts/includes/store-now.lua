-- The store's clock in ms. Every node takes time from here, never from its own clock
-- (DESIGN §2), so nodes with skewed clocks still agree on windows and deadlines.
local function store_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
