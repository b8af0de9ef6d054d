--[[
  As get-position, and a waiting position's heartbeat deadline becomes
  now (s) + heartbeat_timeout_seconds. Admitted and gone positions are left alone.

  KEYS[1] cfg     queue config hash
  KEYS[2] wait    zset of waiting position ids
  KEYS[3] active  zset position id -> session expiry (ms)
  KEYS[4] admlog  zset position id -> admission time (ms)
  KEYS[5] shard   heartbeat shard hash of this position id (caller computes it from the id)
  ARGV[1] position id

  Returns the get-position reply.
]]
--- @include "store-now"
--- @include "position-state"

local id = ARGV[1]
local now = store_now_ms()
local state = position_state(KEYS[2], KEYS[3], KEYS[4], id, now)
if state[1] == 'waiting' then
  local timeout = tonumber(redis.call('HGET', KEYS[1], 'heartbeat_timeout_seconds'))
  if timeout then
    redis.call('HSET', KEYS[5], id, string.format('%d', math.floor(now / 1000) + timeout))
  end
end
return state
