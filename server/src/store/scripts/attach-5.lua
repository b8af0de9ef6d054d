--[[
  As get-position, and a waiting position is now held by node `holder`'s open socket: its
  heartbeat shard value becomes the holder marker -holder (connection = heartbeat). Admitted
  and gone positions are left alone. The wait set does not change: the version is only read.

  KEYS[1] wait    zset of waiting position ids
  KEYS[2] active  zset position id -> session expiry (ms)
  KEYS[3] admlog  zset position id -> admission time (ms)
  KEYS[4] shard   heartbeat shard hash of this position id (caller computes it from the id)
  KEYS[5] ver     wait-set version counter
  ARGV[1] position id
  ARGV[2] holder: node number (from registerNode), > 0

  Returns the get-position reply.
]]
--- @include "store-now"
--- @include "position-state"
--- @include "holder-marker"

local id = ARGV[1]
local state = position_state(KEYS[1], KEYS[2], KEYS[3], KEYS[5], id, store_now_ms())
if state[1] == 'waiting' then redis.call('HSET', KEYS[4], id, holder_marker(tonumber(ARGV[2]))) end
return state
