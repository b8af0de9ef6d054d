--[[
  A consistent snapshot of a queue's counts, from one clock reading.

  KEYS[1] wait    zset of waiting position ids
  KEYS[2] active  zset position id -> session expiry (ms)
  KEYS[3] admlog  zset position id -> admission time (ms)
  KEYS[4] stats   counters hash
  KEYS[5] ver     wait-set version counter

  Returns {now, waiting, active (sessions not yet expired), admitted_in_window,
           oldest_admission|nil, enqueued, admitted, expired, cancelled, sessions_ended, version}
]]
--- @include "store-now"
--- @include "admission-window"
--- @include "version"

local now = store_now_ms()
local count, oldest = admission_window(KEYS[3], now)
local c = redis.call('HMGET', KEYS[4], 'enqueued', 'admitted', 'expired', 'cancelled', 'sessions_ended')
return {
  now,
  redis.call('ZCARD', KEYS[1]),
  redis.call('ZCOUNT', KEYS[2], string.format('(%d', now), '+inf'),
  count,
  oldest,
  tonumber(c[1]) or 0, tonumber(c[2]) or 0, tonumber(c[3]) or 0, tonumber(c[4]) or 0, tonumber(c[5]) or 0,
  read_version(KEYS[5]),
}
