--[[
  Reads a session in one round trip: its expiry and the store's clock. A session past its
  expiry has ended, even before admit removes it.

  KEYS[1] active  zset position id -> session expiry (ms)
  ARGV[1] position id

  Returns {expires_at, now}, or nil when the session is not active (never started, expired,
  released or revoked).
]]
--- @include "store-now"

local expires = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if not expires then return false end
local now = store_now_ms()
if expires <= now then return false end
return {expires, now}
