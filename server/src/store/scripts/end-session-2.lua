--[[
  Ends an active session at once (revoke / early release). A session already past its expiry
  is left for admit, which ends it and reports it as timed out.

  KEYS[1] active  zset position id -> session expiry (ms)
  KEYS[2] stats   counters hash
  ARGV[1] position id

  Returns 1 when the session was active and is now ended, else 0.
]]
--- @include "store-now"

local id = ARGV[1]
local expires = tonumber(redis.call('ZSCORE', KEYS[1], id))
if not expires or expires <= store_now_ms() then return 0 end
redis.call('ZREM', KEYS[1], id)
redis.call('HINCRBY', KEYS[2], 'sessions_ended', 1)
return 1
