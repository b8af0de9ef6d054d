--[[
  Activity on a session: it now ends session_duration_seconds from now. A session past its
  expiry has ended (even if admit has not removed it yet) and is not revived.

  KEYS[1] cfg     queue config hash
  KEYS[2] active  zset position id -> session expiry (ms)
  ARGV[1] position id

  Returns {expires_at, now}, or nil when the session is not active.
]]
--- @include "store-now"

local id = ARGV[1]
local now = store_now_ms()
local current = tonumber(redis.call('ZSCORE', KEYS[2], id))
if not current or current <= now then return false end
local duration = tonumber(redis.call('HGET', KEYS[1], 'session_duration_seconds'))
if not duration then return false end
local expires = now + math.floor(duration * 1000)
redis.call('ZADD', KEYS[2], 'XX', string.format('%d', expires), id)
return {expires, now}
