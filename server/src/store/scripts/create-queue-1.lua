--[[
  Creates a queue's config hash unless it already exists.

  KEYS[1] cfg    hash of the QueueConfig fields
  ARGV    field1, value1, field2, value2, ...  (numbers as decimal strings)

  Returns 1 when created, 0 when the queue already existed (nothing changed).
]]
local unpack = table.unpack or unpack

if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
