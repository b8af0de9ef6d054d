--[[
  Adds a waiting position, checking the queue's status, method and size in the same step. A new
  position bumps the wait set's version; repeating it for a position that already waits changes
  nothing but its liveness: with a holder the position is now held by that node, without one its
  heartbeat deadline is renewed (as heartbeat does: a held position stays held).
  The method in force (includes/queue-mode.lua) decides what a new position gets: `reject`
  refuses it, `passthrough` admits it at once, and with queue_only_when_needed a visitor who
  finds nobody waiting is admitted at once when the bucket, the 60 s window and
  max_active_users have room (so those limits hold as in admit). During a shuffled pre-queue the
  position is placed by its draw key (computed by the node from the event's seed) and recorded
  in the draw list for the audit. A per-IP limit refuses a new waiting position while that address
  already has its most positions waiting (`ip_limit`).

  KEYS[1]  cfg     queue config hash
  KEYS[2]  wait    zset position id -> score (includes/lanes.lua)
  KEYS[3]  seq     enqueue order counter
  KEYS[4]  shard   heartbeat shard hash of this position id (caller computes it from the id)
  KEYS[5]  stats   counters hash
  KEYS[6]  admlog  zset position id -> admission time (ms)
  KEYS[7]  sweep   sweeper state hash (cursor, low)
  KEYS[8]  ver     wait-set version counter
  KEYS[9]  active  zset position id -> session expiry (ms)
  KEYS[10] bucket  admission token bucket hash
  KEYS[11] draw    list of 'lane:id' of the pre-queue's drawn arrivals
  KEYS[12] ipbucket  per-IP positions bucket of ARGV[5] (any bucket of the queue when ARGV[6] is 0)
  ARGV[1] position id
  ARGV[2] lane, 0..3
  ARGV[3] heartbeat shard index of the position id
  ARGV[4] holder: the node number whose socket holds the position, 0 for none (REST)
  ARGV[5] client IP key ('' for none)
  ARGV[6] most waiting positions of that IP key, 0 for no limit
  ARGV[7] draw key, 0..2^39-1, or -1 when the queue has no shuffled pre-queue

  Returns {'no_queue'} | {'maintenance'} | {'queue_full'} | {'rejected'} |
          {'ip_limit', waiting of that IP} |
          {'admitted', session_expires_at, now} |
          {'waiting', position, score, version, queue_length, admitted_in_window,
           oldest_admission|nil, now}
]]
--- @include "store-now"
--- @include "position-state"
--- @include "holder-marker"
--- @include "queue-mode"
--- @include "token-bucket"
--- @include "lanes"
--- @include "ip-limit"

local id = ARGV[1]
local lane = tonumber(ARGV[2])
local shard = tonumber(ARGV[3])
local holder = tonumber(ARGV[4])
local draw_key = tonumber(ARGV[7])
local now = store_now_ms()

local mode = queue_mode(KEYS[1], now)
if not mode then return {'no_queue'} end
if mode.status == 'maintenance' then return {'maintenance'} end
local cfg = redis.call('HMGET', KEYS[1], 'max_queue_size', 'heartbeat_timeout_seconds', 'queue_only_when_needed',
  'session_duration_seconds')

-- Is there room to admit a newcomer now, without jumping anyone? (consumes a token when so)
local function room_now()
  if cfg[3] ~= 'true' or (mode.method ~= 'fifo' and mode.method ~= 'random') then return false end
  if redis.call('ZCARD', KEYS[2]) > 0 then return false end
  if redis.call('ZCARD', KEYS[9]) >= mode.max_active then return false end
  local count = admission_window(KEYS[6], now)
  if count >= mode.rate then return false end
  local tokens = refill_bucket(KEYS[10], mode.rate, now)
  if tokens < 1 then return false end
  save_bucket(KEYS[10], tokens - 1, now)
  return true
end

local repeated = redis.call('ZSCORE', KEYS[2], id) and true or false
if not repeated then
  if mode.method == 'reject' then return {'rejected'} end
  if mode.status == 'active' and (mode.method == 'passthrough' or room_now()) then
    local expires = now + math.floor(tonumber(cfg[4]) * 1000)
    redis.call('ZADD', KEYS[9], string.format('%d', expires), id)
    redis.call('ZADD', KEYS[6], string.format('%d', now), id)
    redis.call('HINCRBY', KEYS[5], 'enqueued', 1)
    redis.call('HINCRBY', KEYS[5], 'admitted', 1)
    return {'admitted', expires, now}
  end
  if redis.call('ZCARD', KEYS[2]) >= tonumber(cfg[1]) then return {'queue_full'} end
  local ip_max, ip_live = tonumber(ARGV[6]), nil
  if ip_max > 0 then
    ip_live = ip_waiting(KEYS[12], KEYS[2], ARGV[5])
    if #ip_live >= ip_max then return {'ip_limit', #ip_live} end
  end
  local score
  if mode.draw and draw_key >= 0 then
    score = (3 - lane) * LANE_STRIDE - DRAW_SPAN + draw_key
    redis.call('RPUSH', KEYS[11], string.format('%d', lane) .. ':' .. id)
  else
    score = (3 - lane) * LANE_STRIDE + redis.call('INCR', KEYS[3])
  end
  redis.call('ZADD', KEYS[2], 'NX', string.format('%d', score), id)
  redis.call('HINCRBY', KEYS[5], 'enqueued', 1)
  bump_version(KEYS[8])
  if ip_live then ip_record(KEYS[12], ARGV[5], ip_live, id) end
  -- The sweeper skips leading empty shards; a node may enqueue into an old block after the
  -- sweeper moved past it, so pull the sweeper's low mark back down to this shard.
  local low = tonumber(redis.call('HGET', KEYS[7], 'low'))
  if low and shard < low then redis.call('HSET', KEYS[7], 'low', string.format('%d', shard)) end
end

if holder > 0 then
  redis.call('HSET', KEYS[4], id, holder_marker(holder))
elseif not (repeated and is_held(KEYS[4], id)) then
  set_deadline(KEYS[4], id, math.floor(now / 1000) + tonumber(cfg[2]))
end
return waiting_facts(KEYS[2], KEYS[6], KEYS[8], id, now)
