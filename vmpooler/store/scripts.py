"""Lua scripts that make each state transition atomic."""

# KEYS[1]=source set, KEYS[2]=destination set ('' to only remove); ARGV[1]=vm,
# ARGV[2]=JSON list of follow-up commands, run only when the VM was in the source.
MOVE = """
local moved
if KEYS[2] == '' then
  moved = redis.call('SREM', KEYS[1], ARGV[1])
else
  moved = redis.call('SMOVE', KEYS[1], KEYS[2], ARGV[1])
end
if moved == 0 then return 0 end
for _, op in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(op)) end
return 1
"""

# Hand out the oldest ready VM. KEYS: ready, running, ready order, migrating,
# active; ARGV: checkout time, vm-hash key prefix, JSON list of extra hash fields.
# VMs missing from the order (written by another vmpooler) count as oldest.
CHECKOUT = """
local members = redis.call('SMEMBERS', KEYS[1])
if #members == 0 then return false end
local best, best_score
for _, vm in ipairs(members) do
  local score = tonumber(redis.call('ZSCORE', KEYS[3], vm) or '0')
  if best == nil or score < best_score or (score == best_score and vm < best) then
    best, best_score = vm, score
  end
end
redis.call('SMOVE', KEYS[1], KEYS[2], best)
redis.call('ZREM', KEYS[3], best)
redis.call('SADD', KEYS[4], best)
redis.call('HSET', KEYS[5], best, ARGV[1])
redis.call('HSET', ARGV[2] .. best, 'checkout', ARGV[1], unpack(cjson.decode(ARGV[3])))
return best
"""

# Register a new clone: the name must be unused and a slot free.
# KEYS: vm hash, slots zset, counter, pending set, vm lock, waiting pools zset;
# ARGV: vm, limit, now (score), lock ttl ms, JSON list of hash field/value pairs,
# pool, 'fair' to share the slots among pools.
# Fair sharing: pools that found every slot taken queue up (FIFO); the free slots
# are reserved for the first of them, so a pool takes one only while fewer
# waiting pools stand ahead of it than there are free slots, and then goes to
# the back of the line (round robin). A hot pool thus cannot keep every slot.
REGISTER_CLONE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'taken' end
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[2])
if ARGV[7] == 'fair' then
  local rank = redis.call('ZRANK', KEYS[6], ARGV[6])
  local ahead = rank or redis.call('ZCARD', KEYS[6])
  if free <= ahead then
    redis.call('ZADD', KEYS[6], 'NX', ARGV[3], ARGV[6])
    return 'full'
  end
  if rank then redis.call('ZADD', KEYS[6], 'XX', ARGV[3], ARGV[6]) end
elseif free <= 0 then
  return 'full'
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SET', KEYS[3], redis.call('ZCARD', KEYS[2]))
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[5])))
redis.call('SET', KEYS[5], 'queued', 'PX', ARGV[4])
return 'ok'
"""

# Give a clone slot back. KEYS: slots zset, counter; ARGV: vm.
RELEASE_SLOT = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], redis.call('ZCARD', KEYS[1]))
return removed
"""

# Set hash field ARGV[1] of KEYS[1] to ARGV[2] only while the hash exists (a VM
# destroyed meanwhile is not brought back); ARGV[3]='append' joins with ':' instead.
SET_FIELD_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local value = ARGV[2]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] == 'append' and current and current ~= '' then value = current .. ':' .. value end
redis.call('HSET', KEYS[1], ARGV[1], value)
return 1
"""

# KEYS: migrations set; ARGV: vm, limit.
BEGIN_MIGRATION = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""
