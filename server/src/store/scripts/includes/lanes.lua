-- Lanes in the wait set: lane l scores (3 - l) * LANE_STRIDE + seq in arrival order, or
-- (3 - l) * LANE_STRIDE - DRAW_SPAN + key for a pre-queue arrival drawn by key
-- (domain/schedule.ts). So lane l holds the scores [lane_low(l), lane_low(l - 1)).
local LANE_STRIDE = 1000000000000
local DRAW_SPAN = 549755813888

local function lane_low(lane)
  return (3 - lane) * LANE_STRIDE - DRAW_SPAN
end

-- "1,2,3,4" -> {[0]=1, 2, 3, 4}; nil for '' or a missing field (strict priority).
local function parse_weights(raw)
  if not raw or raw == '' then return nil end
  local weights, lane = {}, 0
  for w in string.gmatch(raw, '[^,]+') do
    weights[lane] = tonumber(w)
    lane = lane + 1
  end
  return weights
end

-- domain/admission.ts pickLane, step for step (the memory store runs that one): strict priority
-- without weights, else stride scheduling among the waiting lanes with lane 0's minimum share.
local function pick_lane(counts, weights, share, state)
  if not weights then
    for lane = 3, 0, -1 do
      if counts[lane] > 0 then return lane end
    end
    return -1
  end
  local others = 0
  for lane = 1, 3 do
    if counts[lane] > 0 then others = others + weights[lane] end
  end
  local best = -1
  for lane = 3, 0, -1 do
    if counts[lane] > 0 then
      if state.pass[lane] < state.vt then state.pass[lane] = state.vt end
      if best < 0 or state.pass[lane] < state.pass[best] then best = lane end
    end
  end
  if best < 0 then return best end
  local weight = weights[best]
  if best == 0 then weight = math.max(weight, (share / (1 - share)) * others) end
  state.vt = state.pass[best]
  state.pass[best] = state.pass[best] + 1 / weight
  return best
end
