"""Pool configurations as the lifecycle hands them to a provider."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from vmpooler.settings import PoolConfig


def pool_config(provider: Any, pool: str | dict[str, Any]) -> PoolConfig:
    """The configuration of ``pool`` (a name or a pool dict) in ``provider``'s settings."""
    name = pool if isinstance(pool, str) else pool["name"]
    found = provider.settings.pool(name)
    if found is None:
        raise LookupError(f"no pool {name} is configured")
    return found


def foreign_pool(pool: PoolConfig, name: str = "no-such-pool") -> PoolConfig:
    """A pool that some other provider serves."""
    return dataclasses.replace(pool, name=name, provider="some-other-provider")


def take_all_concurrently(store: Any, pool: str, threads: int = 16) -> list[str]:
    """Check out every ready VM of ``pool`` from ``threads`` threads at once; what each got, in one list."""
    got: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        for vm in iter(lambda: store.checkout(pool), None):
            with lock:
                got.append(vm)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return got
