--[[
  Merges fields into an existing queue's config; a deleted or unknown queue is not recreated.
  A scheduled event with another seed (or none) starts an empty draw list.

  KEYS[1] cfg    hash of the QueueConfig fields
  KEYS[2] draw   list of the pre-queue's drawn arrivals
  ARGV[1] the patch's event seed ('none': the event is removed), '0' when the event is unchanged
  ARGV[2..] field1, value1, field2, value2, ...  (at least updated_at)

  Returns the whole config after the change as HGETALL's flat field/value list, or nil when
  the queue does not exist.
]]
local unpack = table.unpack or unpack

if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] ~= '0' and redis.call('HGET', KEYS[1], 'event_seed') ~= ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return redis.call('HGETALL', KEYS[1])
