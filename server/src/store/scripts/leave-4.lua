--[[
  Gives up a waiting position; a removal bumps the wait set's version.

  KEYS[1] wait   zset of waiting position ids
  KEYS[2] shard  heartbeat shard hash of this position id (caller computes it from the id)
  KEYS[3] stats  counters hash
  KEYS[4] ver    wait-set version counter
  ARGV[1] position id

  Returns {score, version, queue_length} when the position was waiting (and is now cancelled),
  else nil.
]]
--- @include "version"

local id = ARGV[1]
-- Dropped either way: a field whose id no longer waits is an orphan the sweeper would delete.
redis.call('HDEL', KEYS[2], id)
local score = tonumber(redis.call('ZSCORE', KEYS[1], id))
if not score then return false end
redis.call('ZREM', KEYS[1], id)
redis.call('HINCRBY', KEYS[3], 'cancelled', 1)
return {score, bump_version(KEYS[4]), redis.call('ZCARD', KEYS[1])}
