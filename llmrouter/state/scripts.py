"""The Lua scripts :class:`~llmrouter.state.redis_store.RedisStore` runs: one per operation, so
each is atomic on the server and costs one round trip.

Time comes from the Redis server (``TIME``), so instances with drifting clocks still agree on
windows, cooldowns and budget periods. Every key gets an expiry. Numbers go back as strings
(Lua numbers would be truncated to integers on the way out). The rules mirror
:mod:`llmrouter.state.local` and :func:`llmrouter.state.base.cooldown_until`.
"""

from __future__ import annotations

__all__ = ["ADMIT", "COOLING", "FAILED", "NEXT_TURN", "RECORD_USAGE", "SPEND", "SUCCEEDED"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS[1] the pool's counter.
NEXT_TURN = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 86400)
return n - 1
"""

# KEYS: one cooldown hash per model ({f: failures, u: till}). Returns per key 0 (clean),
# 1 (failures on record, not cooling), 2 (cooling).
COOLING = _NOW + """
local out = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'f', 'u')
  if not state[1] and not state[2] then out[i] = 0
  elseif tonumber(state[2] or '0') > now then out[i] = 2
  else out[i] = 1 end
end
return out
"""

# KEYS[1] the model's cooldown hash; ARGV after, seconds, retry_after (0: none).
# Returns 1 when the model is cooling after this failure.
FAILED = _NOW + """
local after, seconds, retry = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
local till = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if failures >= after then till = math.max(till, now + seconds) end
if retry > 0 then till = math.max(till, now + math.min(retry, seconds)) end
if till > now then redis.call('HSET', KEYS[1], 'u', tostring(till)) end
redis.call('EXPIRE', KEYS[1], math.ceil(seconds) + 3600)
if till > now then return 1 end
return 0
"""

# KEYS[1] the model's cooldown hash: it answered, so its failures are forgotten.
SUCCEEDED = """
return redis.call('DEL', KEYS[1])
"""

# A sliding minute of per-second buckets in a hash {second: amount}; old buckets are dropped.
_WINDOW = """
local sec = math.floor(now)
local function window(key)
  local used, oldest = 0, sec
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local s = tonumber(flat[i])
    if s <= sec - 60 then redis.call('HDEL', key, flat[i])
    else
      used = used + tonumber(flat[i + 1])
      if s < oldest then oldest = s end
    end
  end
  return used, math.max(oldest + 60 - now, 1)
end
"""

# KEYS: requests window, tokens window, spend base (the period start is appended).
# ARGV: rpm, tpm, budget, period (-1: no such limit). Returns nil or {reason, retry_after}.
ADMIT = _NOW + _WINDOW + """
local rpm, tpm, budget, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if budget >= 0 then
  local start = math.floor(now / period) * period
  local spent = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3] .. ':' .. start)) do spent = spent + tonumber(v) end
  if spent >= budget - 1e-9 then return {'budget', tostring(math.max(start + period - now, 1))} end
end
if tpm >= 0 then
  local used, wait = window(KEYS[2])
  if used >= tpm then return {'tpm', tostring(wait)} end
end
if rpm >= 0 then
  local used, wait = window(KEYS[1])
  if used + 1 > rpm then return {'rpm', tostring(wait)} end
  redis.call('HINCRBY', KEYS[1], sec, 1)
  redis.call('EXPIRE', KEYS[1], 61)
end
return false
"""

# KEYS: tokens window, spend base. ARGV: model, tokens, usd, period.
RECORD_USAGE = _NOW + """
local tokens, usd, period = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if tokens > 0 then
  redis.call('HINCRBY', KEYS[1], math.floor(now), tokens)
  redis.call('EXPIRE', KEYS[1], 61)
end
local start = math.floor(now / period) * period
local spend = KEYS[2] .. ':' .. start
redis.call('HINCRBYFLOAT', spend, ARGV[1], ARGV[3])
redis.call('EXPIREAT', spend, start + period + 86400)
return 1
"""

# KEYS: spend base. ARGV: period. Returns the current period's {model, usd, ...}.
SPEND = _NOW + """
local period = tonumber(ARGV[1])
return redis.call('HGETALL', KEYS[1] .. ':' .. (math.floor(now / period) * period))
"""
