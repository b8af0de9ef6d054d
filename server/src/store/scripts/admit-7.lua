--[[
  One admission step (the rules of domain/admission.ts, which the memory store runs as is):
  ends sessions past their expiry, refills the token bucket, then admits from the head of the
  queue as many as the bucket, the sliding 60 s window, max_active_users and maxBatch allow.
  Atomic, so any number of nodes may run it on every tick without over-admitting.
  Heartbeat shard fields of admitted ids are left for the sweeper (their keys are unknown here).

  KEYS[1] cfg     queue config hash
  KEYS[2] wait    zset of waiting position ids
  KEYS[3] active  zset position id -> session expiry (ms)
  KEYS[4] admlog  zset position id -> admission time (ms)
  KEYS[5] bucket  hash tokens, ts
  KEYS[6] stats   counters hash
  KEYS[7] ver     wait-set version counter (bumped once when anyone was admitted)
  ARGV[1] max batch (admit at most this many)

  Returns {now, session_expires_at, {admitted ids in queue order}, {ids whose session ended},
           version, queue_length} (version and queue length after the step);
  {now, 0, {}, {}, version, queue_length} when the queue does not exist.
]]
--- @include "store-now"
--- @include "chunked"
--- @include "version"

local now = store_now_ms()
local max_batch = tonumber(ARGV[1])

local cfg = redis.call('HMGET', KEYS[1], 'status', 'admission_rate_per_minute', 'max_active_users',
  'session_duration_seconds')
if not cfg[1] then return {now, 0, {}, {}, read_version(KEYS[7]), redis.call('ZCARD', KEYS[2])} end
local rate = tonumber(cfg[2])
local max_active = tonumber(cfg[3])
local expires = now + math.floor(tonumber(cfg[4]) * 1000)

-- Sessions end at their expiry, freeing their slots before anyone is admitted.
local ended = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now), 'LIMIT', 0, 1000)
if #ended > 0 then
  call_chunked('ZREM', KEYS[3], ended, 1)
  redis.call('HINCRBY', KEYS[6], 'sessions_ended', string.format('%d', #ended))
end

-- Token bucket: at most two seconds' worth of admissions and at least one (bucketCapacity),
-- refilled even while not admitting; a new bucket starts with one token.
local capacity = math.max(1, (rate * 2) / 60)
local tokens
local bucket = redis.call('HMGET', KEYS[5], 'tokens', 'ts')
if bucket[1] and bucket[2] then
  local elapsed = math.max(0, now - tonumber(bucket[2]))
  tokens = math.min(capacity, tonumber(bucket[1]) + (elapsed * rate) / 60000)
else
  tokens = math.min(capacity, 1)
end

local admitted = {}
if cfg[1] == 'active' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', string.format('%d', now - 60000))
  -- admissibleCount
  local n = math.min(math.floor(tokens),
    rate - redis.call('ZCARD', KEYS[4]),
    max_active - redis.call('ZCARD', KEYS[3]),
    redis.call('ZCARD', KEYS[2]),
    max_batch)
  if n > 0 then
    admitted = redis.call('ZRANGE', KEYS[2], 0, string.format('%d', n - 1))
    local sessions, log = {}, {}
    local expires_s, now_s = string.format('%d', expires), string.format('%d', now)
    for i, id in ipairs(admitted) do
      sessions[2 * i - 1], sessions[2 * i] = expires_s, id
      log[2 * i - 1], log[2 * i] = now_s, id
    end
    call_chunked('ZREM', KEYS[2], admitted, 1)
    call_chunked('ZADD', KEYS[3], sessions, 2)
    call_chunked('ZADD', KEYS[4], log, 2)
    redis.call('HINCRBY', KEYS[6], 'admitted', string.format('%d', #admitted))
    tokens = tokens - #admitted
  end
end

local version
if #admitted > 0 then version = bump_version(KEYS[7]) else version = read_version(KEYS[7]) end
redis.call('HSET', KEYS[5], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%d', now))
return {now, expires, admitted, ended, version, redis.call('ZCARD', KEYS[2])}
