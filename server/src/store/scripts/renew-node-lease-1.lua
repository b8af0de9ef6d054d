--[[
  Node `holder` is alive in this queue until now + ttl (store clock): while its lease runs, the
  sweeper keeps every position it holds however long ago their last heartbeat was.

  KEYS[1] nodes  hash node number -> lease expiry (ms)
  ARGV[1] holder: node number, > 0
  ARGV[2] ttl (ms), >= 0

  Returns the new lease expiry (ms).
]]
--- @include "store-now"

local expires = store_now_ms() + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', expires))
return expires
