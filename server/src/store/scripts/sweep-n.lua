--[[
  One step of the heartbeat sweeper over a batch of heartbeat shards (the caller picks the batch
  from the sweep hash and the ids counter, so every shard key is declared). For every field of
  each shard: an id no longer waiting (admitted or left) is an orphan and is deleted; a waiting
  id whose deadline has passed is expired. A held id (holder marker -n) is kept while node n's
  lease runs; once it lapsed at L (a missing lease: L = now) the id's deadline is
  floor(L / 1000) + heartbeat_timeout_seconds: expired now if that has passed, else written
  into the shard, so it runs on as a detached position. Expiring anyone bumps the version once
  for the whole step. Idempotent: several nodes may sweep at once.
  Variable key count ("-n"): 6 fixed keys, then one per shard.

  KEYS[1]     wait    zset of waiting position ids
  KEYS[2]     stats   counters hash
  KEYS[3]     sweep   sweeper state hash (cursor, low)
  KEYS[4]     cfg     queue config hash (heartbeat_timeout_seconds)
  KEYS[5]     nodes   hash node number -> lease expiry (ms)
  KEYS[6]     ver     wait-set version counter
  KEYS[7..]   shard   heartbeat shard hashes, ascending shard index (none: only reads)
  ARGV[1]     high    the highest shard index in use (the ids counter)
  ARGV[2..]   shard index of KEYS[i + 5], same order

  Returns {now, version, queue_length, {id1, score1, id2, score2, ...}} (the expired ids with
  the scores they had; version and queue length after the step).
]]
--- @include "store-now"
--- @include "version"

local FIRST_SHARD_KEY = 7
-- Leases lapsed this long ago belong to nodes that are gone; their fields are dropped.
local STALE_LEASE_MS = 86400000

local now = store_now_ms()
local now_sec = math.floor(now / 1000)
local high = tonumber(ARGV[1])
local low = tonumber(redis.call('HGET', KEYS[3], 'low')) or 0
local expired, count = {}, 0
local last

-- Once per cycle (the step that starts at the low mark), forget the leases of long-gone nodes.
if tonumber(ARGV[2]) == low then
  local all = redis.call('HGETALL', KEYS[5])
  for j = 1, #all, 2 do
    if tonumber(all[j + 1]) < now - STALE_LEASE_MS then redis.call('HDEL', KEYS[5], all[j]) end
  end
end

local timeout
local leases = {}
-- The deadline of a position held by `node`: nil while the node's lease runs.
local function held_deadline(node)
  local lease = leases[node]
  if lease == nil then
    lease = tonumber(redis.call('HGET', KEYS[5], string.format('%d', node))) or false
    leases[node] = lease
  end
  if lease and lease >= now then return nil end
  timeout = timeout or tonumber(redis.call('HGET', KEYS[4], 'heartbeat_timeout_seconds')) or 0
  return math.floor((lease or now) / 1000) + timeout
end

for i = FIRST_SHARD_KEY, #KEYS do
  local shard_key = KEYS[i]
  local shard = tonumber(ARGV[i - FIRST_SHARD_KEY + 2])
  local fields = redis.call('HGETALL', shard_key)
  for j = 1, #fields, 2 do
    local id = fields[j]
    local score = redis.call('ZSCORE', KEYS[1], id)
    if not score then
      redis.call('HDEL', shard_key, id)
    else
      local deadline = tonumber(fields[j + 1])
      if deadline < 0 then
        deadline = held_deadline(-deadline)
        if deadline and deadline >= now_sec then
          redis.call('HSET', shard_key, id, string.format('%d', deadline))
        end
      end
      if deadline and deadline < now_sec then
        redis.call('ZREM', KEYS[1], id)
        redis.call('HDEL', shard_key, id)
        count = count + 1
        expired[2 * count - 1], expired[2 * count] = id, score
      end
    end
  end
  -- Old blocks empty out for good: stop visiting them (enqueue pulls low back if one refills).
  if shard == low and low < high and redis.call('EXISTS', shard_key) == 0 then low = low + 1 end
  last = shard
end

local version
if count > 0 then
  redis.call('HINCRBY', KEYS[2], 'expired', string.format('%d', count))
  version = bump_version(KEYS[6])
else
  version = read_version(KEYS[6])
end
if last then
  local cursor = low
  if last + 1 <= high then cursor = math.max(low, last + 1) end
  redis.call('HSET', KEYS[3], 'cursor', string.format('%d', cursor), 'low', string.format('%d', low))
end
return {now, version, redis.call('ZCARD', KEYS[1]), expired}
