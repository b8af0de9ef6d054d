-- Where a position stands, as the reply every position script shares:
--   {'waiting', position (1-based), score, version, queue_length, admitted_in_window,
--    oldest_admission|nil, now}
--   {'admitted', session_expires_at, now}
--   {'gone'}
-- A session past its expiry counts as ended even before admit removes it.
--- @include "admission-window"
--- @include "version"

local function waiting_facts(wait_key, admlog_key, ver_key, id, now)
  local rank = redis.call('ZRANK', wait_key, id)
  if not rank then return nil end
  local score = tonumber(redis.call('ZSCORE', wait_key, id))
  local count, oldest = admission_window(admlog_key, now)
  return {'waiting', rank + 1, score, read_version(ver_key), redis.call('ZCARD', wait_key), count, oldest, now}
end

local function position_state(wait_key, active_key, admlog_key, ver_key, id, now)
  local facts = waiting_facts(wait_key, admlog_key, ver_key, id, now)
  if facts then return facts end
  local expires = tonumber(redis.call('ZSCORE', active_key, id))
  if expires and expires > now then return {'admitted', expires, now} end
  return {'gone'}
end
