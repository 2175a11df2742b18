"""Typed, frozen sections of the settings, one per schema in ``settings_schema``.

Each class mirrors one marshmallow schema field for field (a unit test keeps
them in step): the schema validates and fills defaults, these classes give the
rest of the code real types. Defaults here matter only to code that builds a
section by hand (tests); the loader always passes every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GlobalConfig:
    """The ``config:`` section."""

    site_name: str | None = None
    logfile: str | None = None
    prefix: str = ""
    domain: str | None = None
    clone_target: str | None = None
    task_limit: int = 10
    ondemand_clone_limit: int = 10
    max_ondemand_instances_per_request: int = 10
    ondemand_request_ttl: int = 5
    timeout: int | None = 15
    vm_checktime: int = 1
    ready_ttl: int = 60
    vm_lifetime: int = 24
    vm_lifetime_auth: int | None = None
    max_lifetime_upper_limit: int | None = None
    allowed_tags: list[str] | None = None
    backend_weight: dict[str, int] | None = None
    experimental_features: bool = False
    usage_stats: bool = False
    request_logger: bool = False
    extra_config: str | None = None
    migration_limit: int | None = None
    max_tries: int = 3
    retry_factor: int = 10
    check_loop_delay_min: int = 5
    check_loop_delay_max: int = 60
    check_loop_delay_decay: float = 2.0
    check_ready_vm_hostname_for_mismatch: bool | None = None
    check_ready_vm_on_checkout: bool = False
    create_template_delta_disks: bool = False
    create_linked_clones: bool = True
    create_folders: bool = False
    purge_unconfigured_resources: bool = False
    purge_interval: int = 3600
    manage_host_selection: bool = False
    host_selection_max_age: int = 60
    utilization_limit: int = 90
    max_vm_retries: int = 3
    admin_users: list[str] | None = None
    max_tags_per_vm: int = 32
    max_tags_bytes: int = 8192
    max_request_bytes: int = 65536
    failed_auth_rate_limit: str | None = "10 per minute"
    token_rate_limit: str | None = None
    healthcheck_details: bool = False


@dataclass(frozen=True)
class RedisConfig:
    """The ``redis:`` section."""

    url: str | None = None
    server: str | None = None
    port: int = 6379
    password: str | None = None
    db: int = 0
    data_ttl: int | None = 168
    connection_pool_size: int = 10
    connection_pool_timeout: int = 5
    reconnect_attempts: int = 10
    username: str | None = None
    sentinels: tuple[str, ...] | None = None
    sentinel_master: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False
    ssl_ca_file: str | None = None
    ssl_cert_file: str | None = None
    ssl_key_file: str | None = None
    connect_timeout: float = 5.0
    socket_timeout: float = 5.0
    wait_replicas: int = 0
    wait_timeout: int = 1000


@dataclass(frozen=True)
class MetricsServerConfig:
    """A ``statsd:`` or ``graphite:`` section."""

    server: str
    prefix: str = "vmpooler"
    port: int | None = None


@dataclass(frozen=True)
class PrometheusConfig:
    prefix: str = "vmpooler"
    prometheus_prefix: str = "vmpooler"
    prometheus_endpoint: str = "/prometheus"


@dataclass(frozen=True)
class GraphsConfig:
    server: str | None = None
    prefix: str = "vmpooler"


@dataclass(frozen=True)
class TracingConfig:
    # ``enabled`` is kept as written (the original accepts "true" or true).
    enabled: Any = "false"
    jaeger_host: str = "http://localhost:14268/api/traces"


@dataclass(frozen=True)
class LdapConfig:
    host: str
    base: tuple[str, ...]
    user_object: tuple[str, ...]
    port: int = 389
    encryption: dict[str, Any] = field(default_factory=dict)
    service_account_hash: dict[str, Any] | None = None
    bind_as: str | None = None
    bind_password: str | None = None


@dataclass(frozen=True)
class AuthConfig:
    provider: str
    ldap: LdapConfig | None = None


@dataclass(frozen=True)
class CeleryConfig:
    broker_url: str | None = None
    visibility_timeout: int = 3600
