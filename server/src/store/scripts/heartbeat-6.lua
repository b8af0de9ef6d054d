--[[
  As get-position, and a waiting position's heartbeat deadline becomes
  now (s) + heartbeat_timeout_seconds, unless a node's socket holds it (a negative holder
  marker): a heartbeat never takes a position away from its holder. Admitted and gone
  positions are left alone.

  KEYS[1] cfg     queue config hash
  KEYS[2] wait    zset of waiting position ids
  KEYS[3] active  zset position id -> session expiry (ms)
  KEYS[4] admlog  zset position id -> admission time (ms)
  KEYS[5] shard   heartbeat shard hash of this position id (caller computes it from the id)
  KEYS[6] ver     wait-set version counter
  ARGV[1] position id

  Returns the get-position reply.
]]
--- @include "store-now"
--- @include "position-state"
--- @include "holder-marker"

local id = ARGV[1]
local now = store_now_ms()
local state = position_state(KEYS[2], KEYS[3], KEYS[4], KEYS[6], id, now)
if state[1] == 'waiting' and not is_held(KEYS[5], id) then
  local timeout = tonumber(redis.call('HGET', KEYS[1], 'heartbeat_timeout_seconds'))
  if timeout then set_deadline(KEYS[5], id, math.floor(now / 1000) + timeout) end
end
return state
