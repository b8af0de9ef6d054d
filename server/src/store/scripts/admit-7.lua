--[[
  One admission step (the rules of domain/admission.ts and domain/schedule.ts, which the memory
  store runs as is): ends sessions past their expiry, refills the token bucket, then admits as
  many as the bucket, the sliding 60 s window, max_active_users and maxBatch allow (passthrough:
  everyone up to maxBatch; queue_all and a pre-queue: nobody). Each admitted visitor comes from
  the lane pick_lane chooses (strict priority, or weighted lanes), and inside that lane from its
  head (fifo, reject) or drawn by the lottery (random). Atomic, so any number of nodes may run it
  on every tick without over-admitting. Heartbeat shard fields of admitted ids are left for the
  sweeper (their keys are unknown here).

  KEYS[1] cfg     queue config hash
  KEYS[2] wait    zset of waiting position ids
  KEYS[3] active  zset position id -> session expiry (ms)
  KEYS[4] admlog  zset position id -> admission time (ms)
  KEYS[5] bucket  hash tokens, ts, and the weighted lanes' stride state p0..p3, vt
  KEYS[6] stats   counters hash
  KEYS[7] ver     wait-set version counter (bumped once when anyone was admitted)
  ARGV[1] max batch (admit at most this many)
  ARGV[2] lottery seed, 1..2^31-2 (used by `random` only)

  Returns {now, session_expires_at, {admitted ids in admission order}, {ids whose session ended},
           version, queue_length, {scores of the admitted ids}} (version and queue length after
  the step); {now, 0, {}, {}, version, queue_length, {}} when the queue does not exist.
]]
--- @include "store-now"
--- @include "chunked"
--- @include "version"
--- @include "queue-mode"
--- @include "token-bucket"
--- @include "lanes"

local now = store_now_ms()
local max_batch = tonumber(ARGV[1])
local lottery = tonumber(ARGV[2])

local mode = queue_mode(KEYS[1], now)
if not mode then return {now, 0, {}, {}, read_version(KEYS[7]), redis.call('ZCARD', KEYS[2]), {}} end
local cfg = redis.call('HMGET', KEYS[1], 'session_duration_seconds', 'lane_weights', 'lane0_min_share')
local expires = now + math.floor(tonumber(cfg[1]) * 1000)

-- Sessions end at their expiry, freeing their slots before anyone is admitted.
local ended = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now), 'LIMIT', 0, 1000)
if #ended > 0 then
  call_chunked('ZREM', KEYS[3], ended, 1)
  redis.call('HINCRBY', KEYS[6], 'sessions_ended', string.format('%d', #ended))
end

local tokens = refill_bucket(KEYS[5], mode.rate, now)

-- Takes n visitors out of the wait set, lane by lane as pick_lane says.
local function take(n)
  local weights = parse_weights(cfg[2])
  if not weights and mode.method ~= 'random' then
    -- Strict priority in arrival order is the zset's own order: the n lowest scores at once.
    local flat = redis.call('ZRANGE', KEYS[2], 0, string.format('%d', n - 1), 'WITHSCORES')
    local ids, scores = {}, {}
    for i = 1, #flat, 2 do
      ids[#ids + 1], scores[#scores + 1] = flat[i], flat[i + 1]
    end
    call_chunked('ZREM', KEYS[2], ids, 1)
    return ids, scores
  end
  local share = tonumber(cfg[3]) or 0
  local counts = {}
  for lane = 0, 3 do
    counts[lane] = redis.call('ZCOUNT', KEYS[2], string.format('%d', lane_low(lane)),
      '(' .. string.format('%d', lane_low(lane - 1)))
  end
  local state = {pass = {}, vt = 0}
  if weights then
    local s = redis.call('HMGET', KEYS[5], 'p0', 'p1', 'p2', 'p3', 'vt')
    for lane = 0, 3 do state.pass[lane] = tonumber(s[lane + 1]) or 0 end
    state.vt = tonumber(s[5]) or 0
  end
  local ids, scores = {}, {}
  for i = 1, n do
    local lane = pick_lane(counts, weights, share, state)
    if lane < 0 then break end
    local offset = 0
    if mode.method == 'random' then
      lottery = (lottery * 16807) % 2147483647
      offset = math.floor((lottery / 2147483647) * counts[lane])
    end
    local first = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. string.format('%d', lane_low(lane)))
    local rank = string.format('%d', first + offset)
    local hit = redis.call('ZRANGE', KEYS[2], rank, rank, 'WITHSCORES')
    redis.call('ZREM', KEYS[2], hit[1])
    ids[i], scores[i] = hit[1], hit[2]
    counts[lane] = counts[lane] - 1
  end
  if weights then
    redis.call('HSET', KEYS[5], 'p0', string.format('%.17g', state.pass[0]), 'p1', string.format('%.17g', state.pass[1]),
      'p2', string.format('%.17g', state.pass[2]), 'p3', string.format('%.17g', state.pass[3]),
      'vt', string.format('%.17g', state.vt))
  end
  return ids, scores
end

local admitted, scores = {}, {}
if mode.status == 'active' and mode.method ~= 'queue_all' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', string.format('%d', now - 60000))
  local waiting = redis.call('ZCARD', KEYS[2])
  local n
  if mode.method == 'passthrough' then
    n = math.min(waiting, max_batch)
  else
    -- admissibleCount
    n = math.min(math.floor(tokens),
      mode.rate - redis.call('ZCARD', KEYS[4]),
      mode.max_active - redis.call('ZCARD', KEYS[3]),
      waiting,
      max_batch)
  end
  if n > 0 then
    admitted, scores = take(n)
    local sessions, log = {}, {}
    local expires_s, now_s = string.format('%d', expires), string.format('%d', now)
    for i, id in ipairs(admitted) do
      sessions[2 * i - 1], sessions[2 * i] = expires_s, id
      log[2 * i - 1], log[2 * i] = now_s, id
    end
    call_chunked('ZADD', KEYS[3], sessions, 2)
    call_chunked('ZADD', KEYS[4], log, 2)
    redis.call('HINCRBY', KEYS[6], 'admitted', string.format('%d', #admitted))
    -- Passthrough admits past the limits on purpose and leaves the bucket as it is.
    if mode.method ~= 'passthrough' then tokens = tokens - #admitted end
  end
end

local version
if #admitted > 0 then version = bump_version(KEYS[7]) else version = read_version(KEYS[7]) end
save_bucket(KEYS[5], tokens, now)
return {now, expires, admitted, ended, version, redis.call('ZCARD', KEYS[2]), scores}
