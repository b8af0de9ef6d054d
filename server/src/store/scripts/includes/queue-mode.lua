-- The queueing method and limits in force at `now` (domain/schedule.ts effectiveMode): a
-- scheduled event's pre-queue holds everyone (arrivals drawn when shuffled), the live event
-- overrides the queue's method and limits, before and after it the queue's own settings hold.
-- Event times are ms (empty when there is no event). Returns nil when the queue does not exist.
local function queue_mode(cfg_key, now)
  local c = redis.call('HMGET', cfg_key, 'status', 'queueing_method', 'admission_rate_per_minute',
    'max_active_users', 'event_prequeue_at', 'event_start_at', 'event_end_at', 'event_method', 'event_rate',
    'event_max_active', 'event_shuffle')
  if not c[1] then return nil end
  local mode = {status = c[1], method = c[2] or 'fifo', rate = tonumber(c[3]), max_active = tonumber(c[4]),
    phase = 'none', draw = false}
  local pre, start, stop = tonumber(c[5]), tonumber(c[6]), tonumber(c[7])
  if pre and start and stop then
    if now < pre then
      mode.phase = 'before'
    elseif now < start then
      mode.phase = 'prequeue'
      mode.method = 'queue_all'
      mode.draw = c[11] == 'true'
    elseif now < stop then
      mode.phase = 'live'
      if c[8] and c[8] ~= '' then mode.method = c[8] end
      mode.rate = tonumber(c[9]) or mode.rate
      mode.max_active = tonumber(c[10]) or mode.max_active
    else
      mode.phase = 'after'
    end
  end
  return mode
end
