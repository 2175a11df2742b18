"""On-demand requests in Redis, laid out as vmpooler 1.3.0 does (lifecycle.md §1.6).

A request is the hash ``odrequest__<id>`` (``requested`` = ``"<alias>:<pool>:<n>,..."``),
queued in the ``provisioning__request`` zset, expanded into ``odcreate__task``
members ``"<alias>:<pool>:<n>:<id>"`` and watched in ``provisioning__processing``
until every ``<id>__<alias>__<pool>`` set holds its count. Each change that
touches more than one key is a single Lua script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Mapping

import redis

from vmpooler.domain.numbers import ascii_int
from vmpooler.domain.outcomes import Promotion, RequestEnd, Requeue
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import format_time
from vmpooler.store import keys
from vmpooler.store.locks import Lease
from vmpooler.store.replies import scored, text_hash, texts

READY_TTL = 30 * 24 * 3600
DELETED_TTL = 15 * 24 * 3600


@dataclass(frozen=True)
class Entry:
    """``count`` VMs of ``pool`` asked for under the name ``alias``."""

    alias: str
    pool: str
    count: int

    def __str__(self) -> str:
        return f"{self.alias}:{self.pool}:{self.count}"


def parse_requested(value: str | None) -> list[Entry]:
    entries = []
    for part in (value or "").split(","):
        alias, _, rest = part.partition(":")
        pool, _, count = rest.partition(":")
        number = ascii_int(count)
        if alias and pool and number is not None:
            entries.append(Entry(alias, pool, number))
    return entries


def parse_task(member: str) -> tuple[Entry, str] | None:
    """``"<alias>:<pool>:<n>:<id>"`` -> (entry, request id)."""
    parts = member.split(":", 3)
    number = ascii_int(parts[2]) if len(parts) == 4 else None
    if number is None:
        return None
    return Entry(parts[0], parts[1], number), parts[3]


# Finds the task of one alias/pool/request whatever its count.
_FIND_TASK = """
local function find_task(key, alias, pool, id)
  local prefix, suffix = alias .. ':' .. pool .. ':', ':' .. id
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if #m > #prefix + #suffix and string.sub(m, 1, #prefix) == prefix and string.sub(m, -#suffix) == suffix then
      local n = tonumber(string.sub(m, #prefix + 1, #m - #suffix))
      if n then return m, n end
    end
  end
  return nil, 0
end
"""

# KEYS: request hash, request zset; ARGV: id, score, JSON field/value list.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[3])))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: request zset, processing zset, tasks zset; ARGV: id, score, now, task members...
_EXPAND = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
for i = 4, #ARGV do redis.call('ZADD', KEYS[3], ARGV[3], ARGV[i]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# One clone of a task has started. KEYS: tasks; ARGV: alias, pool, id.
_CONSUME = _FIND_TASK + """
local m, n = find_task(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if not m then return 0 end
local score = redis.call('ZSCORE', KEYS[1], m)
redis.call('ZREM', KEYS[1], m)
if n > 1 then redis.call('ZADD', KEYS[1], score, ARGV[1] .. ':' .. ARGV[2] .. ':' .. (n - 1) .. ':' .. ARGV[3]) end
return 1
"""

# A clone of the request failed. KEYS: request hash, tasks; ARGV: alias, pool, id,
# max retries, now, back-off base and cap (s). Adds one to the task of that
# alias/pool (so two failures never collapse into one retry), due after a back-off
# that doubles with each retry, unless the budget is spent.
_REQUEUE = _FIND_TASK + """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'status') then return 'ignored' end
local tries = redis.call('HINCRBY', KEYS[1], 'retry_count', 1)
if tries > tonumber(ARGV[4]) then return 'exhausted' end
local m, n = find_task(KEYS[2], ARGV[1], ARGV[2], ARGV[3])
local score = tonumber(ARGV[5]) + math.min(tonumber(ARGV[7]), tonumber(ARGV[6]) * 2 ^ (tries - 1))
if m then
  score = math.max(score, tonumber(redis.call('ZSCORE', KEYS[2], m)))
  redis.call('ZREM', KEYS[2], m)
end
redis.call('ZADD', KEYS[2], score, ARGV[1] .. ':' .. ARGV[2] .. ':' .. (n + 1) .. ':' .. ARGV[3])
return 'retry'
"""

# KEYS: request hash, processing zset, then one set per entry;
# ARGV: id, ttl, then the count of each entry (same positions as its set).
_MARK_READY = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'status') then return 0 end
for i = 3, #KEYS do
  if redis.call('SCARD', KEYS[i]) < tonumber(ARGV[i]) then return 0 end
end
redis.call('HSET', KEYS[1], 'status', 'ready')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# End a request as 'failed' or 'deleted': no more clones, its running VMs to completed.
# KEYS: request hash, request zset, processing zset, tasks, then (set, running,
# completed) per entry. ARGV: id, status, hash ttl, set ttl ('' = delete the sets), reason.
_RETIRE = """
local missing = redis.call('HEXISTS', KEYS[1], 'requested') == 0
local current = redis.call('HGET', KEYS[1], 'status')
if not missing and (current == 'deleted' or (ARGV[2] == 'failed' and current)) then return current end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local suffix = ':' .. ARGV[1]
for _, m in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  if #m > #suffix and string.sub(m, -#suffix) == suffix then redis.call('ZREM', KEYS[4], m) end
end
-- A request whose hash expired (or was never written) is only taken off the queues.
if missing then return 'missing' end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'failure_reason', ARGV[5]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 5, #KEYS, 3 do
  for _, vm in ipairs(redis.call('SMEMBERS', KEYS[i])) do redis.call('SMOVE', KEYS[i + 1], KEYS[i + 2], vm) end
  if ARGV[4] == '' then redis.call('DEL', KEYS[i]) else redis.call('EXPIRE', KEYS[i], ARGV[4]) end
end
return 'ok'
"""

# A VM cloned for a request is ready: pending -> running for the request, or
# pending -> completed when the request no longer wants it.
# KEYS: pending, running, completed, request hash, request set, active, vm hash.
# ARGV: vm, now, count, lifetime hours (0 = none), JSON list of extra commands.
_PROMOTE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 'gone' end
local status = redis.call('HGET', KEYS[4], 'status')
if redis.call('EXISTS', KEYS[4]) == 0 or status == 'failed' or status == 'deleted' then
  redis.call('SMOVE', KEYS[1], KEYS[3], ARGV[1])
  return status or 'missing'
end
if redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[3]) then
  redis.call('SMOVE', KEYS[1], KEYS[3], ARGV[1])
  return 'surplus'
end
redis.call('SMOVE', KEYS[1], KEYS[2], ARGV[1])
redis.call('HSET', KEYS[6], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[7], 'checkout', ARGV[2], 'ready', ARGV[2])
local token = redis.call('HGET', KEYS[4], 'token:token')
if token then
  redis.call('HSET', KEYS[7], 'token:token', token, 'token:user', redis.call('HGET', KEYS[4], 'token:user') or '')
  if tonumber(ARGV[4]) > 0 then redis.call('HSET', KEYS[7], 'lifetime', ARGV[4]) end
end
redis.call('SADD', KEYS[5], ARGV[1])
for _, op in ipairs(cjson.decode(ARGV[5])) do redis.call(unpack(op)) end
return 'running'
"""


class OndemandStore:
    def __init__(self, client: redis.Redis, data_ttl: int):
        self.r = client
        self.data_ttl = data_ttl
        self._create = client.register_script(_CREATE)
        self._expand = client.register_script(_EXPAND)
        self._consume = client.register_script(_CONSUME)
        self._requeue = client.register_script(_REQUEUE)
        self._mark_ready = client.register_script(_MARK_READY)
        self._retire = client.register_script(_RETIRE)
        self._promote = client.register_script(_PROMOTE)

    # ---- the API side

    def create(self, request_id: str, entries: Iterable[Entry], score: int,
               fields: Mapping[str, str] | None = None) -> bool:
        """Record and queue a new request; False if the id is taken."""
        values = {"requested": ",".join(str(e) for e in entries), **(fields or {})}
        flat = [str(x) for kv in values.items() for x in kv]
        return bool(self._create(keys=[keys.odrequest(request_id), keys.PROVISIONING_REQUEST],
                                 args=[request_id, score, json.dumps(flat)]))

    def request(self, request_id: str) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.odrequest(request_id)))

    def allocated(self, request_id: str, entries: list[Entry]) -> list[set[str]]:
        """The VMs already running for each entry (same order)."""
        pipe = self.r.pipeline(transaction=False)
        for entry in entries:
            pipe.smembers(keys.request_vms(request_id, entry.alias, entry.pool))
        return [set(members) for members in pipe.execute()] if entries else []

    def delete(self, request_id: str, entries: list[Entry]) -> RequestEnd:
        return self._finish(request_id, entries, "deleted", DELETED_TTL, "", "")

    # ---- the worker side

    def waiting(self) -> list[tuple[str, float]]:
        return scored(self.r.zrange(keys.PROVISIONING_REQUEST, 0, -1, withscores=True))

    def processing(self) -> list[tuple[str, float]]:
        return scored(self.r.zrange(keys.PROVISIONING_PROCESSING, 0, -1, withscores=True))

    def due_tasks(self, now: float) -> list[str]:
        """Clone tasks whose time has come, oldest first."""
        return texts(self.r.zrangebyscore(keys.ODCREATE_TASK, "-inf", now))

    def drop_waiting(self, request_id: str) -> None:
        self.r.zrem(keys.PROVISIONING_REQUEST, request_id)

    def expand(self, request_id: str, entries: list[Entry], score: float, now: float) -> bool:
        """Turn a queued request into clone tasks and watch it in processing."""
        members = [f"{entry}:{request_id}" for entry in entries]
        return bool(self._expand(
            keys=[keys.PROVISIONING_REQUEST, keys.PROVISIONING_PROCESSING, keys.ODCREATE_TASK],
            args=[request_id, repr(score), repr(now), *members]))

    def consume_task(self, entry: Entry, request_id: str) -> bool:
        return bool(self._consume(keys=[keys.ODCREATE_TASK], args=[entry.alias, entry.pool, request_id]))

    def requeue(self, entry: Entry, request_id: str, max_retries: int, now: float,
                backoff: tuple[float, float]) -> Requeue:
        """Queue one more clone after a failure; ``backoff`` is (base, cap) in seconds."""
        return Requeue(self._requeue(keys=[keys.odrequest(request_id), keys.ODCREATE_TASK],
                                     args=[entry.alias, entry.pool, request_id, max_retries, repr(now), *backoff]))

    def mark_ready(self, request_id: str, entries: list[Entry]) -> bool:
        sets = [keys.request_vms(request_id, e.alias, e.pool) for e in entries]
        return bool(self._mark_ready(keys=[keys.odrequest(request_id), keys.PROVISIONING_PROCESSING, *sets],
                                     args=[request_id, READY_TTL, *[e.count for e in entries]]))

    def fail(self, request_id: str, entries: list[Entry], reason: str) -> bool:
        ttl = str(self.data_ttl)
        return self._finish(request_id, entries, "failed", self.data_ttl, ttl, reason) is RequestEnd.OK

    def _finish(self, request_id: str, entries: list[Entry], status: str, hash_ttl: int, set_ttl: str,
                reason: str) -> RequestEnd:
        entry_keys = []
        for e in entries:
            entry_keys += [keys.request_vms(request_id, e.alias, e.pool), keys.state_set(State.RUNNING, e.pool),
                           keys.state_set(State.COMPLETED, e.pool)]
        return RequestEnd(self._retire(
            keys=[keys.odrequest(request_id), keys.PROVISIONING_REQUEST, keys.PROVISIONING_PROCESSING,
                  keys.ODCREATE_TASK, *entry_keys],
            args=[request_id, status, hash_ttl, set_ttl, reason]))

    def promote(self, pool: str, vm: str, request_id: str, entry: Entry, lifetime_hours: int,
                boot_seconds: float | None, day: str) -> Promotion:
        now = format_time()
        extra = [["HSET", keys.LASTBOOT, pool, now]]
        if boot_seconds is not None:
            extra.append(["HSET", keys.boot_stats(day), f"{pool}:{vm}", f"{boot_seconds:.2f}"])
        return Promotion(self._promote(
            keys=[keys.state_set(State.PENDING, pool), keys.state_set(State.RUNNING, pool),
                  keys.state_set(State.COMPLETED, pool), keys.odrequest(request_id),
                  keys.request_vms(request_id, entry.alias, pool), keys.active(pool), keys.vm(vm)],
            args=[vm, now, entry.count, lifetime_hours, json.dumps(extra)]))

    # ---- running the queue once at a time across the fleet

    def lease(self, ttl: float) -> Lease:
        return Lease(self.r, keys.ONDEMAND_LOCK, ttl, heartbeat=True)

    def wake(self) -> None:
        self.r.set(keys.ONDEMAND_WAKE, "1")

    def woken(self) -> bool:
        return bool(self.r.exists(keys.ONDEMAND_WAKE))

    def clear_wake(self) -> None:
        self.r.delete(keys.ONDEMAND_WAKE)
