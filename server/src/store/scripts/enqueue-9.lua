--[[
  Adds a waiting position, checking the queue's status and size in the same step. A new position
  bumps the wait set's version; repeating it for a position that already waits changes nothing
  but its liveness: with a holder the position is now held by that node, without one its
  heartbeat deadline is renewed (as heartbeat does: a held position stays held).

  KEYS[1] cfg     queue config hash
  KEYS[2] wait    zset position id -> (3 - lane) * 1e12 + seq (higher lane first, FIFO inside)
  KEYS[3] seq     enqueue order counter
  KEYS[4] shard   heartbeat shard hash of this position id (caller computes it from the id)
  KEYS[5] stats   counters hash
  KEYS[6] admlog  zset position id -> admission time (ms)
  KEYS[7] sweep   sweeper state hash (cursor, low)
  KEYS[8] ver     wait-set version counter
  KEYS[9] ipbucket  per-IP positions bucket of ARGV[5] (any bucket of the queue when ARGV[6] is 0)
  ARGV[1] position id
  ARGV[2] lane, 0..3
  ARGV[3] heartbeat shard index of the position id
  ARGV[4] holder: the node number whose socket holds the position, 0 for none (REST)
  ARGV[5] client IP key ('' for none)
  ARGV[6] most waiting positions of that IP key, 0 for no limit

  Returns {'no_queue'} | {'maintenance'} | {'queue_full'} | {'ip_limit', waiting of that IP} |
          {'waiting', position, score, version, queue_length, admitted_in_window,
           oldest_admission|nil, now}
]]
--- @include "store-now"
--- @include "position-state"
--- @include "holder-marker"
--- @include "ip-limit"

local id = ARGV[1]
local lane = tonumber(ARGV[2])
local shard = tonumber(ARGV[3])
local holder = tonumber(ARGV[4])
local now = store_now_ms()

local cfg = redis.call('HMGET', KEYS[1], 'status', 'max_queue_size', 'heartbeat_timeout_seconds')
if not cfg[1] then return {'no_queue'} end
if cfg[1] == 'maintenance' then return {'maintenance'} end

local repeated = redis.call('ZSCORE', KEYS[2], id) and true or false
if not repeated then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(cfg[2]) then return {'queue_full'} end
  local ip_max, ip_live = tonumber(ARGV[6]), nil
  if ip_max > 0 then
    ip_live = ip_waiting(KEYS[9], KEYS[2], ARGV[5])
    if #ip_live >= ip_max then return {'ip_limit', #ip_live} end
  end
  local seq = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], 'NX', string.format('%d', (3 - lane) * 1000000000000 + seq), id)
  redis.call('HINCRBY', KEYS[5], 'enqueued', 1)
  bump_version(KEYS[8])
  if ip_live then ip_record(KEYS[9], ARGV[5], ip_live, id) end
  -- The sweeper skips leading empty shards; a node may enqueue into an old block after the
  -- sweeper moved past it, so pull the sweeper's low mark back down to this shard.
  local low = tonumber(redis.call('HGET', KEYS[7], 'low'))
  if low and shard < low then redis.call('HSET', KEYS[7], 'low', string.format('%d', shard)) end
end

if holder > 0 then
  redis.call('HSET', KEYS[4], id, holder_marker(holder))
elseif not (repeated and is_held(KEYS[4], id)) then
  set_deadline(KEYS[4], id, math.floor(now / 1000) + tonumber(cfg[3]))
end
return waiting_facts(KEYS[2], KEYS[6], KEYS[8], id, now)
