-- Runs a variadic command over many arguments in slices, because unpack() of thousands of
-- values can overflow the Lua C stack. `items` is a flat list; `step` keeps pairs together.
local unpack = table.unpack or unpack
local function call_chunked(command, key, items, step)
  local size = 500 * step
  for i = 1, #items, size do
    redis.call(command, key, unpack(items, i, math.min(i + size - 1, #items)))
  end
end
