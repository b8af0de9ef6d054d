--[[
  Gives up a waiting position.

  KEYS[1] wait   zset of waiting position ids
  KEYS[2] shard  heartbeat shard hash of this position id (caller computes it from the id)
  KEYS[3] stats  counters hash
  ARGV[1] position id

  Returns 1 when the position was waiting (and is now cancelled), else 0.
]]
local id = ARGV[1]
-- Dropped either way: a field whose id no longer waits is an orphan the sweeper would delete.
redis.call('HDEL', KEYS[2], id)
if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], 'cancelled', 1)
return 1
