-- Admissions of the sliding 60 s window (now - 60000, now] from the admission log: their count
-- and the oldest admission time (false when none). Counts by score, so it is exact even when
-- the log has not been trimmed since.
local function admission_window(admlog_key, now)
  local since = string.format('(%d', now - 60000)
  local count = redis.call('ZCOUNT', admlog_key, since, '+inf')
  local oldest = false
  if count > 0 then
    local first = redis.call('ZRANGEBYSCORE', admlog_key, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    oldest = tonumber(first[2])
  end
  return count, oldest
end
