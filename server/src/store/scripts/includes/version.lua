-- The wait set's version (DESIGN: positions kept exact from an ordered stream of changes).
-- Every script that changes the wait set bumps it exactly once, in the same step as the change;
-- every other script reports it as it is (0 before the first change).
local function read_version(ver_key)
  return tonumber(redis.call('GET', ver_key)) or 0
end

local function bump_version(ver_key)
  return redis.call('INCR', ver_key)
end
