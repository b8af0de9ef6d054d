--[[
  One step of the heartbeat sweeper over a batch of heartbeat shards (the caller picks the batch
  from the sweep hash and the ids counter, so every shard key is declared). For every field of
  each shard: an id no longer waiting (admitted or left) is an orphan and is deleted; a waiting
  id whose deadline has passed is expired. Idempotent: several nodes may sweep at once.
  Variable key count ("-n"): 3 fixed keys, then one per shard.

  KEYS[1]     wait    zset of waiting position ids
  KEYS[2]     stats   counters hash
  KEYS[3]     sweep   sweeper state hash (cursor, low)
  KEYS[4..]   shard   heartbeat shard hashes, ascending shard index
  ARGV[1]     high    the highest shard index in use (the ids counter)
  ARGV[2..]   shard index of KEYS[i + 2], same order

  Returns {now, {expired position ids}}.
]]
--- @include "store-now"

local now = store_now_ms()
local now_sec = math.floor(now / 1000)
local high = tonumber(ARGV[1])
local low = tonumber(redis.call('HGET', KEYS[3], 'low')) or 0
local expired = {}
local last

for i = 4, #KEYS do
  local shard_key = KEYS[i]
  local shard = tonumber(ARGV[i - 2])
  local fields = redis.call('HGETALL', shard_key)
  for j = 1, #fields, 2 do
    local id = fields[j]
    if not redis.call('ZSCORE', KEYS[1], id) then
      redis.call('HDEL', shard_key, id)
    elseif tonumber(fields[j + 1]) < now_sec then
      redis.call('ZREM', KEYS[1], id)
      redis.call('HDEL', shard_key, id)
      expired[#expired + 1] = id
    end
  end
  -- Old blocks empty out for good: stop visiting them (enqueue pulls low back if one refills).
  if shard == low and low < high and redis.call('EXISTS', shard_key) == 0 then low = low + 1 end
  last = shard
end

if #expired > 0 then redis.call('HINCRBY', KEYS[2], 'expired', string.format('%d', #expired)) end
local cursor = low
if last and last + 1 <= high then cursor = math.max(low, last + 1) end
redis.call('HSET', KEYS[3], 'cursor', string.format('%d', cursor), 'low', string.format('%d', low))
return {now, expired}
