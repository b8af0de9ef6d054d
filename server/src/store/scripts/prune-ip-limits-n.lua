--[[
  One step of pruning the per-IP position buckets (see includes/ip-limit.lua): ids that no
  longer wait are dropped, and an address with none left loses its field, so the buckets hold
  only addresses that still wait. Counting never depends on this (enqueue checks every id
  against the wait set); it only bounds memory. Idempotent: several nodes may prune at once.
  Variable key count ("-n"): the wait set, then the buckets of this step.

  KEYS[1]    wait      zset of waiting position ids
  KEYS[2..]  ipbucket  per-IP positions bucket hashes

  Returns the number of address fields removed.
]]
local removed = 0
for i = 2, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  for j = 1, #fields, 2 do
    local live = {}
    local count = 0
    for id in string.gmatch(fields[j + 1], '[^,]+') do
      count = count + 1
      if redis.call('ZSCORE', KEYS[1], id) then live[#live + 1] = id end
    end
    if #live == 0 then
      redis.call('HDEL', KEYS[i], fields[j])
      removed = removed + 1
    elseif #live < count then
      redis.call('HSET', KEYS[i], fields[j], table.concat(live, ','))
    end
  end
end
return removed
