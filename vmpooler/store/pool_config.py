"""Runtime pool configuration in Redis (lifecycle.md §1.5).

Overrides live in the 1.3.0 hashes and sets, so they survive a restart and a
Ruby vmpooler sharing the Redis sees them. Each change also raises the pool's
``wake`` flag in its check state, in the same transaction: the next check of
the pool runs even when its adaptive delay has not passed yet.
"""

from __future__ import annotations

from typing import Iterable

import redis

from vmpooler.store import keys
from vmpooler.store.locks import Lease
from vmpooler.store.replies import optional_texts

WAKE_FIELD = "wake"


class PoolConfigStore:
    def __init__(self, client: redis.Redis):
        self.r = client

    def config_lease(self, pool: str, ttl: float) -> Lease:
        return Lease(self.r, keys.config_lock(pool), ttl)

    # ---- writes (API)

    def _write(self, pool: str, *commands: tuple) -> None:
        pipe = self.r.pipeline(transaction=True)
        for name, *args in commands:
            getattr(pipe, name)(*args)
        pipe.hset(keys.pool_check_state(pool), WAKE_FIELD, "1")
        pipe.execute()

    def set_size(self, pool: str, size: int) -> None:
        self._write(pool, ("hset", keys.CONFIG_POOLSIZE, pool, str(size)))

    def undo_size(self, pool: str) -> None:
        self._write(pool, ("hdel", keys.CONFIG_POOLSIZE, pool), ("sadd", keys.UNDO_SIZE_OVERRIDE, pool))

    def set_template(self, pool: str, template: str) -> None:
        self._write(pool, ("hset", keys.CONFIG_TEMPLATE, pool, template))

    def undo_template(self, pool: str) -> None:
        self._write(pool, ("hdel", keys.CONFIG_TEMPLATE, pool), ("sadd", keys.UNDO_TEMPLATE_OVERRIDE, pool))

    def set_clone_target(self, pool: str, target: str) -> None:
        """VMs cloned to the old target are replaced: the pool is reset as well."""
        self._write(pool, ("hset", keys.CONFIG_CLONE_TARGET, pool, target), ("sadd", keys.POOLRESET, pool))

    def request_reset(self, pool: str) -> None:
        self._write(pool, ("sadd", keys.POOLRESET, pool))

    # ---- reads and hand-offs (worker)

    def take_marks(self, pool: str) -> tuple[bool, bool, bool]:
        """(reset asked, size undone, template undone) since the last look; clears them."""
        pipe = self.r.pipeline(transaction=True)
        pipe.srem(keys.POOLRESET, pool)
        pipe.srem(keys.UNDO_SIZE_OVERRIDE, pool)
        pipe.srem(keys.UNDO_TEMPLATE_OVERRIDE, pool)
        reset, size, template = pipe.execute()
        return bool(reset), bool(size), bool(template)

    def woken(self, pool: str) -> bool:
        return bool(self.r.hget(keys.pool_check_state(pool), WAKE_FIELD))

    def clear_wake(self, pool: str) -> None:
        self.r.hdel(keys.pool_check_state(pool), WAKE_FIELD)

    def prepared_templates(self, pools: Iterable[str]) -> dict[str, str | None]:
        pools = list(pools)
        if not pools:
            return {}
        return dict(zip(pools, optional_texts(self.r.hmget(keys.TEMPLATE_PREPARED, pools))))
