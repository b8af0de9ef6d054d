--[[
  Activity on a session: it now ends session_duration_seconds from now — unless the queue has
  session renewal switched off (session_renewal = 'false'), when the expiry stays as it is. A
  session past its expiry has ended (even if admit has not removed it yet) and is not revived.

  KEYS[1] cfg     queue config hash
  KEYS[2] active  zset position id -> session expiry (ms)
  ARGV[1] position id

  Returns {expires_at, now, renewed (1|0)}, or nil when the session is not active.
]]
--- @include "store-now"

local id = ARGV[1]
local now = store_now_ms()
local current = tonumber(redis.call('ZSCORE', KEYS[2], id))
if not current or current <= now then return false end
local cfg = redis.call('HMGET', KEYS[1], 'session_duration_seconds', 'session_renewal')
local duration = tonumber(cfg[1])
if not duration then return false end
-- A missing field (a queue created before the setting existed) means renewal is on.
if cfg[2] == 'false' then return {current, now, 0} end
local expires = now + math.floor(duration * 1000)
redis.call('ZADD', KEYS[2], 'XX', string.format('%d', expires), id)
return {expires, now, 1}
