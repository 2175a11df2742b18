"""Load ``vmpooler.yaml`` (plus environment overrides) into frozen settings.

Accepts the original's symbol-style keys (``:config:``) and plain keys, the
``VMPOOLER_CONFIG`` / ``VMPOOLER_CONFIG_FILE`` sources, ``extra_config`` files,
the environment overrides of vmpooler 1.3.0 (with real booleans), and migrates
deprecated locations with a warning. Validation happens once, here.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Callable, TypeVar

from marshmallow import ValidationError

from vmpooler import settings_schema as schemas
from vmpooler.settings_env import apply_env
from vmpooler.settings_files import ConfigError, read_raw
from vmpooler.settings_sections import (
    AuthConfig,
    CeleryConfig,
    GlobalConfig,
    GraphsConfig,
    LdapConfig,
    MetricsServerConfig,
    PrometheusConfig,
    RedisConfig,
    TracingConfig,
)

log = logging.getLogger("vmpooler.settings")

BUILTIN_PROVIDER_CLASSES = ("dummy", "vsphere")
_S = TypeVar("_S")


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    provider_class: str
    connection_pool_size: int | None
    connection_pool_timeout: int | None
    purge_unconfigured_resources: bool
    resources_allowlist: tuple[str, ...]
    domain: str | None
    options: Mapping[str, Any]
    """Class-specific keys (e.g. vSphere ``server`` or dummy ``createvm_max_time``)."""
    skip_dns_check_before_creating_vm: bool = False


@dataclass(frozen=True)
class PoolConfig:
    name: str
    size: int
    provider: str
    template: str | None = None
    alias: tuple[str, ...] = ()
    alias_raw: Sequence[str] | None = None
    clone_target: str | None = None
    timeout: int | None = None
    ready_ttl: int = 60
    check_loop_delay_min: int | None = None
    check_loop_delay_max: int | None = None
    check_loop_delay_decay: float | None = None
    check_hostname_for_mismatch: bool | None = None
    create_linked_clone: bool | None = None
    folder: str | None = None
    datastore: str | None = None
    datacenter: str | None = None
    network: str | None = None
    snapshot_mainMem_ioBlockPages: Any = None
    snapshot_mainMem_iowait: Any = None
    domain: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The pool as configured (after defaults): what ``GET /config`` shows."""


@dataclass(frozen=True)
class Settings:
    config: GlobalConfig
    redis: RedisConfig
    pools: tuple[PoolConfig, ...]
    providers: Mapping[str, ProviderConfig]
    statsd: MetricsServerConfig | None = None
    graphite: MetricsServerConfig | None = None
    prometheus: PrometheusConfig | None = None
    graphs: GraphsConfig | None = None
    tracing: TracingConfig | None = None
    auth: AuthConfig | None = None
    celery: CeleryConfig = field(default_factory=CeleryConfig)
    tagfilter: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pools_from_redis: bool = False
    source: str = ""

    @cached_property
    def pool_names(self) -> frozenset[str]:
        """Pool names plus every alias: the names a request may use (built once: every
        checkout asks)."""
        return frozenset([p.name for p in self.pools] + list(self.aliases))

    def pool(self, name: str) -> PoolConfig | None:
        return self._pool_index.get(name)

    @property
    def _pool_index(self) -> Mapping[str, PoolConfig]:
        index = self.__dict__.get("_index")
        if index is None:
            index = {p.name: p for p in self.pools}
            object.__setattr__(self, "_index", index)
        return index

    def pools_of_provider(self, provider: str) -> list[PoolConfig]:
        return [p for p in self.pools if p.provider == provider]

    def domain_for(self, pool: PoolConfig) -> str | None:
        provider = self.providers.get(pool.provider)
        return pool.domain or (provider.domain if provider else None) or self.config.domain

    def pool_timeout(self, pool: PoolConfig) -> int:
        return pool.timeout or self.config.timeout or 15

    def check_delays(self, pool: PoolConfig) -> tuple[int, int, float]:
        """(min, max, decay) of a pool's check loop, with the original's clamps."""
        low = pool.check_loop_delay_min or self.config.check_loop_delay_min
        high = pool.check_loop_delay_max or self.config.check_loop_delay_max
        decay = pool.check_loop_delay_decay or self.config.check_loop_delay_decay
        if decay <= 1.0:
            decay = 2.0
        return low, max(low, high), decay


# ---------------------------------------------------------------- loading


Check = Callable[[Any, tuple["PoolConfig", ...], Mapping[str, "ProviderConfig"]], list[str]]
"""Further checks of (auth section, pools, providers), e.g. the provider classes' own options."""


def load_settings(path: str | None = None, env: Mapping[str, str] | None = None,
                  check: Check | None = None) -> Settings:
    """Load, validate and freeze the configuration; ConfigError lists every problem found."""
    env = os.environ if env is None else env
    raw, source = read_raw(path, env)
    problems: list[str] = []
    raw = apply_env(raw, env, problems)
    return build_settings(raw, env, source, check=check, problems=problems)


def build_settings(raw: Mapping[str, Any], env: Mapping[str, str] | None = None, source: str = "",
                   check: Check | None = None, problems: list[str] | None = None) -> Settings:
    """Validate an already-normalised mapping (used by tests and the loader).

    Every check runs on whatever part of the file is valid, so one run reports every problem.
    """
    env = os.environ if env is None else env
    problems = list(problems or [])
    try:
        data = schemas.RootSchema().load(_plain(raw))
    except ValidationError as exc:
        problems.extend(schemas.flatten_errors(exc.messages))
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        data = _with_defaults(valid)
    if data["auth"] and data["auth"].get("provider") == "dummy" and not env.get("VMPOOLER_DEBUG"):
        problems.append("auth.provider: dummy authentication accepts any password; "
                        "set VMPOOLER_DEBUG=true to use it outside production")
    providers = _build_providers(data, problems)
    pools, aliases = _build_pools(data, providers, problems)
    if check is not None:
        problems.extend(check(data["auth"], pools, providers))
    if problems:
        raise ConfigError(problems)
    auth = None
    if data["auth"]:
        auth = AuthConfig(provider=data["auth"]["provider"], ldap=_section(LdapConfig, data["auth"].get("ldap")))
    return Settings(
        config=GlobalConfig(**data["config"]),
        redis=RedisConfig(**data["redis"]),
        pools=pools,
        providers=MappingProxyType(providers),
        statsd=_section(MetricsServerConfig, data["statsd"]),
        graphite=_section(MetricsServerConfig, data["graphite"]),
        prometheus=_section(PrometheusConfig, data["prometheus"]),
        graphs=_section(GraphsConfig, data["graphs"]),
        tracing=_section(TracingConfig, data["tracing"]),
        auth=auth,
        celery=CeleryConfig(**data["celery"]),
        tagfilter=MappingProxyType(dict(data["tagfilter"])),
        aliases=MappingProxyType(aliases),
        pools_from_redis=data["pools"] is None,
        source=source,
    )


def _section(cls: type[_S], values: Mapping[str, Any] | None) -> _S | None:
    """An optional section: absent (or empty) in the file means None."""
    return cls(**values) if values else None


def with_pools(settings: Settings, pools: list[dict]) -> Settings:
    """The same settings serving another list of pools (validated like the file's)."""
    try:
        loaded = schemas.PoolSchema(many=True).load(pools)
    except ValidationError as exc:
        raise ConfigError(schemas.flatten_errors({"pools": exc.messages})) from None
    problems: list[str] = []
    providers = dict(settings.providers)
    data = {"pools": loaded, "config": dataclasses.asdict(settings.config)}
    built, aliases = _build_pools(data, providers, problems)
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(settings, pools=built, aliases=MappingProxyType(aliases),
                               providers=MappingProxyType(providers), pools_from_redis=True)


def _with_defaults(partial: Mapping[str, Any]) -> dict:
    """The valid part of a file that has problems, completed with defaults, for the later checks."""
    defaults = schemas.RootSchema().load({})
    data = {**defaults, **partial}
    data["config"] = {**defaults["config"], **(partial.get("config") or {})}
    data["providers"] = partial.get("providers") or {}
    data["pools"] = partial.get("pools") or []
    return data


def _plain(value: Any) -> Any:
    return copy.deepcopy(dict(value)) if isinstance(value, Mapping) else value


def _build_providers(data: dict, problems: list[str]) -> dict[str, ProviderConfig]:
    known = set(schemas.ProviderSchema().fields)
    providers: dict[str, ProviderConfig] = {}
    for name, section in data["providers"].items():
        options = {k: v for k, v in section.items() if k not in known}
        providers[name] = ProviderConfig(
            name=name,
            provider_class=section.get("provider_class") or name,
            connection_pool_size=section.get("connection_pool_size"),
            connection_pool_timeout=section.get("connection_pool_timeout"),
            purge_unconfigured_resources=bool(section.get("purge_unconfigured_resources")
                                              or data["config"]["purge_unconfigured_resources"]),
            resources_allowlist=tuple(section.get("resources_allowlist") or ()),
            domain=section.get("domain"),
            options=MappingProxyType(options),
            skip_dns_check_before_creating_vm=bool(section.get("skip_dns_check_before_creating_vm")),
        )
    return providers


def _default_provider(providers: Mapping[str, ProviderConfig]) -> str:
    if len(providers) == 1:
        return next(iter(providers))
    return "vsphere"


def _build_pools(data: dict, providers: dict[str, ProviderConfig], problems: list[str]):
    pools: list[PoolConfig] = []
    aliases: dict[str, list[str]] = {}
    pool_names = {p["name"] for p in data["pools"] or [] if "name" in p}
    for index, raw in enumerate(data["pools"] or []):
        if "name" not in raw or "size" not in raw:
            continue  # already reported; the file's other pools are still checked
        values = dict(raw)
        if not values.get("provider"):
            values["provider"] = _default_provider(providers)
            log.warning("[!] Setting provider for pool '%s' to '%s' as default", values["name"], values["provider"])
        provider = values["provider"]
        if provider not in providers:
            if provider in BUILTIN_PROVIDER_CLASSES:
                providers[provider] = ProviderConfig(provider, provider, None, None,
                                                     data["config"]["purge_unconfigured_resources"], (), None,
                                                     MappingProxyType({}))
            else:
                problems.append(f"pools.{index}.provider: unknown provider '{provider}' "
                                f"(not a key of providers)")
                continue
        if values.get("ready_ttl") is None:
            values["ready_ttl"] = data["config"]["ready_ttl"]
        alias = _alias_names(values.get("alias"))
        for name in alias:
            if name in pool_names:
                problems.append(f"pools.{index}.alias: '{name}' is already the name of a pool")
            aliases.setdefault(name, [])
            if values["name"] not in aliases[name]:
                aliases[name].append(values["name"])
        # /status, /poolstat and /config show the alias as the file wrote it (string or list), as 1.3.0 does.
        shown = {k: v for k, v in raw.items() if v is not None and v != []}
        shown["provider"] = provider
        shown["ready_ttl"] = values["ready_ttl"]
        values["alias_raw"] = shown.get("alias")
        values["alias"] = tuple(alias)
        pools.append(PoolConfig(**values, raw=MappingProxyType(shown)))
    return tuple(pools), {k: tuple(v) for k, v in aliases.items()}


def _alias_names(alias: str | list[str] | None) -> tuple[str, ...]:
    if isinstance(alias, str):
        return (alias,)
    return tuple(alias or ())
