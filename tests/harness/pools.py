"""Pool configurations as the lifecycle hands them to a provider."""

from __future__ import annotations

import dataclasses
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
