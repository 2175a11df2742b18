"""Coalesced pool work and check due times.

A wake-up of a pool sets a per-pool, per-kind flag with SET NX and enqueues a
task only when the flag was not already up; the task clears the flag when it
starts, so a wake-up after that point enqueues a fresh task. The flag expires,
so a task lost with its broker message cannot silence its pool for long.
"""

from __future__ import annotations

from typing import Iterable

import redis

from vmpooler.store import keys
from vmpooler.store.replies import scored

# KEYS[1]: due zset; ARGV: now, flag ttl ms, flag key prefix, pool names...
# Returns the pools that are due (never checked, or past their due time) and
# were not already queued; their flags are raised in the same step.
_DUE = """
local now = tonumber(ARGV[1])
local sent = {}
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ARGV, 4))
for i = 4, #ARGV do
  local score = scores[i - 3]
  if (not score or tonumber(score) <= now)
     and redis.call('SET', ARGV[3] .. ARGV[i], '1', 'NX', 'PX', ARGV[2]) then
    sent[#sent + 1] = ARGV[i]
  end
end
return sent
"""


class PacingStore:
    def __init__(self, client: redis.Redis):
        self.r = client
        self._due = client.register_script(_DUE)

    def claim(self, kind: str, pool: str, ttl: float) -> bool:
        """Raise the pool's ``kind`` flag; True when it was down (the caller enqueues the task)."""
        return bool(self.r.set(keys.queued_work(kind, pool), "1", nx=True, px=int(ttl * 1000)))

    def release(self, kind: str, pool: str) -> None:
        self.r.delete(keys.queued_work(kind, pool))

    def claim_due_checks(self, pools: Iterable[str], now: float, ttl: float) -> list[str]:
        """The pools whose check is due and not already queued, flagged as queued; one round trip."""
        names = list(pools)
        if not names:
            return []
        prefix = keys.queued_work_prefix("check")
        return self._due(keys=[keys.CHECK_DUE], args=[repr(now), int(ttl * 1000), prefix, *names])

    def set_due(self, pool: str, when: float) -> None:
        self.r.zadd(keys.CHECK_DUE, {pool: when})

    def bring_due_forward(self, pool: str, when: float) -> None:
        """The next check runs no later than ``when`` (an earlier due time stays)."""
        self.r.zadd(keys.CHECK_DUE, {pool: when}, lt=True)

    def due_times(self) -> dict[str, float]:
        return dict(scored(self.r.zrange(keys.CHECK_DUE, 0, -1, withscores=True)))
