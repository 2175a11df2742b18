"""Lua scripts that make each state transition atomic."""

# KEYS[1]=source set, KEYS[2]=destination set (absent to only remove); ARGV[1]=vm,
# ARGV[2]=JSON list of follow-up commands, run only when the VM was in the source.
MOVE = """
local moved
if KEYS[2] == nil then
  moved = redis.call('SREM', KEYS[1], ARGV[1])
else
  moved = redis.call('SMOVE', KEYS[1], KEYS[2], ARGV[1])
end
if moved == 0 then return 0 end
for _, op in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(op)) end
return 1
"""

# Hand out the oldest ready VM: pop the head of the ready order (O(log N)) and
# take it if it is still ready; order entries whose VM left ready some other way
# are dropped, at most ARGV[4] per call. KEYS: ready, running, ready order,
# migrating, active, and a pool-wake flag ('' for none); ARGV: checkout time, vm-hash
# key prefix, JSON list of extra hash fields, stale limit, flag ttl ms. Returns {VM,
# 1 if the flag was down and is now raised else 0} (the caller then queues the wake-up),
# or 0 (no ready VM), 1 (ready VMs the order does not know: reconcile, then call again),
# 2 (stale limit reached: call again).
CHECKOUT = """
for _ = 1, tonumber(ARGV[4]) do
  local head = redis.call('ZPOPMIN', KEYS[3])
  if #head == 0 then
    if redis.call('SCARD', KEYS[1]) > 0 then return 1 end
    return 0
  end
  local vm = head[1]
  if redis.call('SMOVE', KEYS[1], KEYS[2], vm) == 1 then
    redis.call('SADD', KEYS[4], vm)
    redis.call('HSET', KEYS[5], vm, ARGV[1])
    redis.call('HSET', ARGV[2] .. vm, 'checkout', ARGV[1], unpack(cjson.decode(ARGV[3])))
    local woke = 0
    if KEYS[6] ~= '' and redis.call('SET', KEYS[6], '1', 'NX', 'PX', ARGV[5]) then woke = 1 end
    return {vm, woke}
  end
end
return 2
"""

# Put ready VMs the order does not know into it, and drop order entries whose VM
# is no longer ready; each candidate is re-checked here, so a VM that moved since
# the caller read the sets is left alone. KEYS: ready, ready order; ARGV: number
# of (score, vm) pairs to add, those pairs, then the VMs to drop.
RECONCILE_READY_ORDER = """
local adds = tonumber(ARGV[1])
local added = 0
for i = 2, 2 * adds, 2 do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i + 1]) == 1 then
    added = added + redis.call('ZADD', KEYS[2], 'NX', ARGV[i], ARGV[i + 1])
  end
end
for i = 2 * adds + 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then redis.call('ZREM', KEYS[2], ARGV[i]) end
end
return added
"""

# A user gives a running VM back: running -> completed in one step, after the
# checks the API needs. KEYS: vm hash, the VM's lock, the destroy-request list, hash
# of the token the request sent (absent if none: an empty key name would fall outside
# an ACL user's key pattern); ARGV: vm, running-set prefix, completed-set prefix, migrating-set
# prefix, now, JSON list of users who may return any VM or '' (then any valid token
# may return a token-bound VM, as in 1.3.0), the token, lock ttl in ms (0: leave
# the lock), lock value. The VM's pool is its hash's 'template'; a hash with a
# token but no user (written by hand) is the token's own. Once the VM is returned
# its lock is raised (NX) and '<pool> <vm>' pushed on the destroy-request list: the
# destroy is asked for in the same atomic step, and a worker queues it. Returns
# {outcome, pool, owner, 1 if the lock was raised else 0}; outcome: returned,
# unknown, not_running, needs_token, bad_token, not_owner.
GIVE_BACK = """
local f = redis.call('HMGET', KEYS[1], 'template', 'token:token', 'token:user')
local pool, bound, owner = f[1], f[2], f[3] or ''
if not pool then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown', '', ''} end
  return {'not_running', '', owner}
end
if bound and bound ~= '' then
  if KEYS[4] == nil then return {'needs_token', pool, owner} end
  if redis.call('EXISTS', KEYS[4]) == 0 then return {'bad_token', pool, owner} end
  redis.call('HSET', KEYS[4], 'last', ARGV[5])
  if ARGV[6] ~= '' then
    local user = redis.call('HGET', KEYS[4], 'user') or ''
    local allowed = (owner ~= '' and user == owner) or (owner == '' and ARGV[7] == bound)
    for _, admin in ipairs(cjson.decode(ARGV[6])) do allowed = allowed or admin == user end
    if not allowed then return {'not_owner', pool, owner} end
  end
end
if redis.call('SMOVE', ARGV[2] .. pool, ARGV[3] .. pool, ARGV[1]) == 0 then return {'not_running', pool, owner} end
redis.call('SREM', ARGV[4] .. pool, ARGV[1])
local queued = 0
if tonumber(ARGV[8]) > 0 and redis.call('SET', KEYS[2], ARGV[9], 'NX', 'PX', ARGV[8]) then
  redis.call('RPUSH', KEYS[3], pool .. ' ' .. ARGV[1])
  queued = 1
end
return {'returned', pool, owner, queued}
"""

# The size of each pool's state sets: one call, however many pools, and consistent
# as a MULTI would be. ARGV: number of state-set prefixes, those prefixes, then the
# pools. Returns the sizes pool by pool, in prefix order within a pool. The keys are
# put together here: the request then carries pools + states names, not their product.
COUNT_MEMBERS = """
local states = tonumber(ARGV[1])
local sizes = {}
for p = states + 2, #ARGV do
  for s = 2, states + 1 do sizes[#sizes + 1] = redis.call('SCARD', ARGV[s] .. ARGV[p]) end
end
return sizes
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
