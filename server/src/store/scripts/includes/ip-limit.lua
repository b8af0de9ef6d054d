-- Per-IP concurrent positions. A bucket hash maps an IP key to the comma-separated ids of the
-- positions that address created; an id counts only while it is still in the wait set, so a
-- position stops counting the moment it is admitted, leaves or expires — no script that removes
-- positions needs to know about addresses. Ids that stopped waiting are dropped here and by
-- prune-ip-limits.

-- The ids of `ip` that still wait.
local function ip_waiting(bucket_key, wait_key, ip)
  local live = {}
  local listed = redis.call('HGET', bucket_key, ip)
  if listed then
    for id in string.gmatch(listed, '[^,]+') do
      if redis.call('ZSCORE', wait_key, id) then live[#live + 1] = id end
    end
  end
  return live
end

-- Records `id` as one more waiting position of `ip` (`live` from ip_waiting).
local function ip_record(bucket_key, ip, live, id)
  live[#live + 1] = id
  redis.call('HSET', bucket_key, ip, table.concat(live, ','))
end
