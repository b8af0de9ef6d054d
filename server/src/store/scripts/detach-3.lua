--[[
  The socket holding a position closed: a waiting, held position (negative holder marker) gets
  the deadline now (s) + heartbeat_timeout_seconds, the grace period to reconnect. A position
  that is not held (a REST visitor, or already detached) or not waiting is left alone.

  KEYS[1] cfg    queue config hash
  KEYS[2] wait   zset of waiting position ids
  KEYS[3] shard  heartbeat shard hash of this position id (caller computes it from the id)
  ARGV[1] position id
  ARGV[2] holder: the node whose socket closed; a position another node holds by now (the
          visitor reconnected there first) is left alone

  Returns 1 when the position was held by that node and now runs on its deadline, else 0.
]]
--- @include "store-now"
--- @include "holder-marker"

local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[2], id) then return 0 end
if redis.call('HGET', KEYS[3], id) ~= holder_marker(tonumber(ARGV[2])) then return 0 end
local timeout = tonumber(redis.call('HGET', KEYS[1], 'heartbeat_timeout_seconds')) or 0
set_deadline(KEYS[3], id, math.floor(store_now_ms() / 1000) + timeout)
return 1
