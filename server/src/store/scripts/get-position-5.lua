--[[
  Where a position stands, without side effects.

  KEYS[1] wait    zset of waiting position ids
  KEYS[2] active  zset position id -> session expiry (ms)
  KEYS[3] admlog  zset position id -> admission time (ms)
  KEYS[4] ver     wait-set version counter
  KEYS[5] shard   heartbeat shard hash of this position id (caller computes it from the id)
  ARGV[1] position id

  Returns {'waiting', position, score, version, queue_length, admitted_in_window,
           oldest_admission|nil, now, heartbeat} |
          {'admitted', session_expires_at, now} | {'gone'}
  where heartbeat is the shard's value: the deadline (unix seconds, >= 0), `-n` while node n's
  socket holds the position, or nil. A status read reports the deadline the place really has.
]]
--- @include "store-now"
--- @include "position-state"

local state = position_state(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], store_now_ms())
if state[1] == 'waiting' then
  state[9] = tonumber(redis.call('HGET', KEYS[5], ARGV[1])) or false
end
return state
