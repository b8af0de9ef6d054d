--[[
  Node `holder` leaves the queue (graceful drain): its lease lapses now, so the grace period of
  every position it still holds starts now. The field is kept (lapsed and missing leases mean
  the same to the sweeper, which drops fields lapsed long ago).

  KEYS[1] nodes  hash node number -> lease expiry (ms)
  ARGV[1] holder: node number, > 0

  Returns the lapse time (ms).
]]
--- @include "store-now"

local now = store_now_ms()
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now))
return now
