"""What every lifecycle function works with."""

from __future__ import annotations

import dataclasses
import logging
import random
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from vmpooler.domain.numbers import ascii_int
from vmpooler.metrics import Metrics, NullMetrics
from vmpooler.providers.base import Provider
from vmpooler.settings import PoolConfig, Settings
from vmpooler.store.redis_store import RedisStore

log = logging.getLogger("vmpooler.lifecycle")

# A task working on a VM keeps a lease alive with a heartbeat; if its process
# dies the lease lapses after this long and the next check takes over.
LEASE_SECONDS = 20.0
# A VM check holds its lease only for one provider call.
CHECK_LEASE_SECONDS = 120.0
# How long a destroy may sit in the queue before a check enqueues it again.
DESTROY_QUEUE_SECONDS = 600.0


class Dispatcher(Protocol):
    """Starts work elsewhere (Celery in production)."""

    def clone(self, pool: str, vm: str) -> None: ...
    def destroy(self, pool: str, vm: str) -> None: ...
    def repopulate(self, pool: str) -> None: ...
    def check(self, pool: str) -> None: ...
    def migrate(self, pool: str) -> None: ...
    def ondemand(self) -> None: ...
    # Disk and snapshot work asked for through the API (the VM's pool is re-read from Redis).
    def create_disk(self, vm: str, size_gb: str) -> None: ...
    def snapshot(self, vm: str, snapshot: str) -> None: ...
    def revert_snapshot(self, vm: str, snapshot: str) -> None: ...


# The stale-DNS check of a new clone's name runs under the pool's lease; a resolver
# that drops a query would hold the whole pool for its 5 s retry.
DNS_TIMEOUT_SECONDS = 0.5


def _resolve(name: str) -> str:
    """The address ``name`` resolves to; OSError when it does not, or not in time."""
    answer: dict = {}

    def lookup() -> None:
        try:
            answer["address"] = socket.gethostbyname(name)
        except OSError as exc:
            answer["error"] = exc

    thread = threading.Thread(target=lookup, name="dns-lookup", daemon=True)
    thread.start()
    thread.join(DNS_TIMEOUT_SECONDS)
    if "address" in answer:
        return answer["address"]
    raise answer.get("error") or TimeoutError(f"no DNS answer for {name} within {DNS_TIMEOUT_SECONDS} s")


@dataclass
class Context:
    settings: Settings
    store: RedisStore
    providers: Mapping[str, Provider]
    dispatch: Dispatcher
    metrics: Metrics = field(default_factory=NullMetrics)
    rng: random.Random = field(default_factory=random.Random)
    resolve: Callable[[str], str] = _resolve

    def pool(self, name: str) -> PoolConfig | None:
        return effective_pool(self.settings, self.store, name)

    def provider_for(self, pool: PoolConfig) -> Provider:
        return self.providers[pool.provider]


def effective_pool(settings: Settings, store: RedisStore, name: str) -> PoolConfig | None:
    """The pool's configuration with the runtime overrides of Redis applied."""
    base = settings.pool(name)
    if base is None:
        return None
    changes: dict[str, Any] = {}
    size, template, target = store.pool_overrides(name)
    number = ascii_int(size)
    if number is not None:
        changes["size"] = number
    if template:
        changes["template"] = template
    if target:
        changes["clone_target"] = target
    return dataclasses.replace(base, **changes) if changes else base
