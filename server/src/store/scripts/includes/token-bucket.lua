-- The admission token bucket (domain/admission.ts refillBucket): at most two seconds' worth of
-- admissions and at least one, refilled by elapsed time; a new bucket starts with one token.
local function refill_bucket(bucket_key, rate, now)
  local capacity = math.max(1, (rate * 2) / 60)
  local bucket = redis.call('HMGET', bucket_key, 'tokens', 'ts')
  if bucket[1] and bucket[2] then
    local elapsed = math.max(0, now - tonumber(bucket[2]))
    return math.min(capacity, tonumber(bucket[1]) + (elapsed * rate) / 60000)
  end
  return math.min(capacity, 1)
end

local function save_bucket(bucket_key, tokens, now)
  redis.call('HSET', bucket_key, 'tokens', string.format('%.17g', tokens), 'ts', string.format('%d', now))
end
