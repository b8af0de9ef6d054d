--[[
  The dashboard's history: records a queue's counts as the sample of the current time bucket,
  unless the bucket has one already (every node calls this once a bucket; the first one wins).

  KEYS[1] hist    zset bucket start (ms) -> "at:waiting:active:sockets:enqueued:admitted:expired:
                  cancelled:sessions_ended:rate:status"
  KEYS[2] wait    zset of waiting position ids
  KEYS[3] active  zset position id -> session expiry (ms)
  KEYS[4] stats   counters hash
  KEYS[5] cfg     hash of the QueueConfig fields
  ARGV[1] bucket length (ms), > 0
  ARGV[2] retention (ms), > 0: older samples are dropped
  ARGV[3] open sockets (the caller's view; sockets are not in the store)

  Returns 1 when a sample was recorded, 0 when the bucket had one or the queue does not exist.
]]
--- @include "store-now"

local bucket_ms = tonumber(ARGV[1])
local retain_ms = tonumber(ARGV[2])
local now = store_now_ms()
local bucket = now - (now % bucket_ms)
local bucket_text = string.format('%d', bucket)

if #redis.call('ZRANGEBYSCORE', KEYS[1], bucket_text, bucket_text, 'LIMIT', 0, 1) > 0 then return 0 end
local cfg = redis.call('HMGET', KEYS[5], 'admission_rate_per_minute', 'status')
if not cfg[2] then return 0 end

local c = redis.call('HMGET', KEYS[4], 'enqueued', 'admitted', 'expired', 'cancelled', 'sessions_ended')
local sample = string.format(
  '%d:%d:%d:%d:%d:%d:%d:%d:%d:%d:%s',
  now,
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCOUNT', KEYS[3], string.format('(%d', now), '+inf'),
  tonumber(ARGV[3]),
  tonumber(c[1]) or 0, tonumber(c[2]) or 0, tonumber(c[3]) or 0, tonumber(c[4]) or 0, tonumber(c[5]) or 0,
  tonumber(cfg[1]) or 0,
  cfg[2]
)
redis.call('ZADD', KEYS[1], bucket_text, sample)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', bucket - retain_ms))
-- A deleted queue's history goes away on its own.
redis.call('PEXPIRE', KEYS[1], string.format('%d', retain_ms + bucket_ms))
return 1
