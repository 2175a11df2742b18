"""Shared JSON records for providers whose 'hypervisor' lives in Redis (dummy).

Every worker process sees the same inventory, so a VM cloned by one process can
be checked and destroyed by another.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import redis

from vmpooler.store import keys
from vmpooler.store.replies import text_set, texts

Record = dict[str, Any]


class ProviderState:
    def __init__(self, client: redis.Redis, provider: str):
        self.r = client
        self.provider = provider

    def _key(self, pool: str) -> str:
        return keys.dummy_inventory(self.provider, pool)

    def names(self, pool: str) -> list[str]:
        return texts(self.r.hkeys(self._key(pool)))

    def get(self, pool: str, vm: str) -> Record | None:
        raw = self.r.hget(self._key(pool), vm)
        return json.loads(raw) if raw else None

    def put(self, pool: str, vm: str, record: Record) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self._key(pool), vm, json.dumps(record))
        pipe.sadd(keys.dummy_pools(self.provider), pool)
        pipe.execute()

    def update(self, pool: str, vm: str, change: Callable[[Record], None]) -> Record | None:
        """Apply ``change`` to a record atomically (optimistic, retried on conflict)."""
        key = self._key(pool)
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, vm)
                    if raw is None:
                        pipe.unwatch()
                        return None
                    record = json.loads(raw)
                    change(record)
                    pipe.multi()
                    pipe.hset(key, vm, json.dumps(record))
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue

    def delete(self, pool: str, vm: str) -> bool:
        return bool(self.r.hdel(self._key(pool), vm))

    def drop_pool(self, pool: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self._key(pool))
        pipe.srem(keys.dummy_pools(self.provider), pool)
        pipe.execute()

    def pools(self) -> list[str]:
        return sorted(text_set(self.r.smembers(keys.dummy_pools(self.provider))))
