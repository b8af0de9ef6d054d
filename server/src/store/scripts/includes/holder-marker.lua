-- Heartbeat shard values: a deadline (unix seconds, >= 0), or `-n` while node n's open socket
-- holds the position (connection = heartbeat). A held position needs no heartbeats; only
-- detach, or the sweeper seeing node n's lease lapse, turns the marker back into a deadline.
local function holder_marker(holder)
  return string.format('%d', -holder)
end

-- Is the position held? (A missing field counts as not held.)
local function is_held(shard_key, id)
  local value = tonumber(redis.call('HGET', shard_key, id))
  return value ~= nil and value < 0
end

local function set_deadline(shard_key, id, deadline_sec)
  redis.call('HSET', shard_key, id, string.format('%d', deadline_sec))
end
