--[[
  Merges fields into an existing queue's config; a deleted or unknown queue is not recreated.

  KEYS[1] cfg    hash of the QueueConfig fields
  ARGV    field1, value1, field2, value2, ...  (at least updated_at)

  Returns the whole config after the change as HGETALL's flat field/value list, or nil when
  the queue does not exist.
]]
local unpack = table.unpack or unpack

if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], unpack(ARGV))
return redis.call('HGETALL', KEYS[1])
