--[[
  Where a position stands, without side effects.

  KEYS[1] wait    zset of waiting position ids
  KEYS[2] active  zset position id -> session expiry (ms)
  KEYS[3] admlog  zset position id -> admission time (ms)
  KEYS[4] ver     wait-set version counter
  ARGV[1] position id

  Returns {'waiting', position, score, version, queue_length, admitted_in_window,
           oldest_admission|nil, now} |
          {'admitted', session_expires_at, now} | {'gone'}
]]
--- @include "store-now"
--- @include "position-state"

return position_state(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], store_now_ms())
