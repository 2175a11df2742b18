"""Composition root: settings -> Redis client, store, providers, metrics."""

from __future__ import annotations

import importlib.util
import logging
import random
import threading
from functools import cached_property
from typing import Any, Mapping

from vmpooler.domain.capacity import redis_connections, worker_threads
from vmpooler.lifecycle.context import Context, Dispatcher
from vmpooler.metrics import Metrics, make_metrics
from vmpooler.providers import registry
from vmpooler.providers.base import Provider, ProviderDeps
from vmpooler.settings import Settings, load_settings, with_pools
from vmpooler.store.connection import Broker, broker_settings, make_client
from vmpooler.store.provider_state import ProviderState
from vmpooler.store.redis_store import RedisStore

log = logging.getLogger("vmpooler")


class Services:
    """Everything a process needs, created lazily (after a worker has forked)."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None,
                 provider_extras: Mapping[str, Mapping] | None = None):
        self.settings = settings
        self.metrics = metrics or make_metrics(settings, lambda: self.redis)
        self._provider_extras = provider_extras or {}
        self._providers: dict[str, Provider] = {}
        self._lock = threading.Lock()

    @property
    def broker(self) -> Broker:
        return broker_settings(self.settings.redis)

    @cached_property
    def redis(self):
        # A worker runs up to worker_threads() tasks at once, each with a lease heartbeat beside it.
        config = self.settings.config
        return make_client(self.settings.redis, min_connections=redis_connections(
            worker_threads(config.task_limit, config.ondemand_clone_limit)))

    @cached_property
    def store(self) -> RedisStore:
        return RedisStore(self.redis, self.settings.redis.data_ttl)

    def provider(self, name: str) -> Provider:
        with self._lock:
            if name not in self._providers:
                config = self.settings.providers[name]
                deps = ProviderDeps(settings=self.settings, metrics=self.metrics,
                                    state=ProviderState(self.redis, name),
                                    extras=self._provider_extras.get(name, {}))
                self._providers[name] = registry.create(config, deps)
            return self._providers[name]

    @property
    def providers(self) -> Mapping[str, Provider]:
        return _LazyProviders(self)

    def context(self, dispatch: Dispatcher) -> Context:
        return Context(settings=self.settings, store=self.store, providers=self.providers,
                       dispatch=dispatch, metrics=self.metrics, rng=random.Random())

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()


class _LazyProviders(Mapping):
    def __init__(self, services: Services):
        self._services = services

    def __getitem__(self, name: str) -> Provider:
        if name not in self._services.settings.providers:
            raise KeyError(name)
        return self._services.provider(name)

    def __iter__(self):
        return iter(self._services.settings.providers)

    def __len__(self) -> int:
        return len(self._services.settings.providers)


def validate(settings: Settings) -> list[str]:
    """Problems that need the provider classes (their own option schemas)."""
    return check_providers(settings.auth, settings.pools, settings.providers)


def check_providers(auth, pools, providers: Mapping) -> list[str]:
    problems: list[str] = []
    provider = auth.get("provider") if isinstance(auth, Mapping) else getattr(auth, "provider", None)
    if provider == "ldap" and importlib.util.find_spec("ldap3") is None:
        problems.append(f"auth.provider: LDAP authentication needs ldap3: {registry.install_hint('ldap')}")
    used = {pool.provider for pool in pools}
    for name, config in providers.items():
        if name in used or config.options:
            problems.extend(registry.validate(config))
    return problems


def load(path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load and fully validate the settings (raises ConfigError listing every problem)."""
    return load_settings(path, env, check=check_providers)


def with_pools_from_redis(settings: Settings, store: RedisStore) -> Settings:
    """An API without ``pools`` serves the pools a worker published to Redis."""
    wanted = ("template", "provider", "clone_target", "timeout", "ready_ttl", "domain")
    pools = []
    for name, values in store.published_pools().items():
        pool: dict[str, Any] = {key: values[key] for key in wanted if values.get(key)}
        pool["name"], pool["size"] = name, int(values.get("size") or 0)
        # 1.3.0 crashed here on a pool without an alias.
        if values.get("alias"):
            pool["alias"] = [alias for alias in values["alias"].split(",") if alias]
        pools.append(pool)
    return with_pools(settings, pools)


def publish_pools(settings: Settings, store: RedisStore) -> None:
    """Write ``vmpooler__pools`` and ``vmpooler__pool__<name>`` as 1.3.0 does."""
    store.publish_pools({
        pool.name: {key: ",".join(value) if isinstance(value, list) else str(value)
                    for key, value in pool.raw.items() if value is not None}
        for pool in settings.pools
    })
