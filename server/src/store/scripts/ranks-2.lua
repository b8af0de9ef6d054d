--[[
  Exact 1-based positions of many waiting ids, all read at one version of the wait set (a node
  resynchronises the positions of its sockets with this, then follows the versioned changes).
  Read-only. The caller bounds the number of ids (MAX_RANK_IDS).

  KEYS[1] wait  zset of waiting position ids
  KEYS[2] ver   wait-set version counter
  ARGV    position ids

  Returns {version, queue_length, now, {position|nil per id, in ARGV order}}.
]]
--- @include "store-now"
--- @include "version"

local ranks = {}
for i = 1, #ARGV do
  local rank = redis.call('ZRANK', KEYS[1], ARGV[i])
  -- false (not waiting) becomes a nil reply; a Lua nil would cut the list short.
  if rank then ranks[i] = rank + 1 else ranks[i] = false end
end
return {read_version(KEYS[2]), redis.call('ZCARD', KEYS[1]), store_now_ms(), ranks}
