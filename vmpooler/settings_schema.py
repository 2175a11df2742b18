"""Marshmallow schemas for ``vmpooler.yaml``.

Every key vmpooler 1.3.0 reads is accepted (plus the few this port adds); any
other key, or a value of the wrong type, is an error that names the key.
"""

from __future__ import annotations

import re

from limits import parse_many
from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from vmpooler.domain.numbers import ascii_int
from vmpooler.store import keys

NonNegative = validate.Range(min=0)
Positive = validate.Range(min=1)


def _key_safe(name: str) -> bool:
    """Pool, alias and provider names become parts of Redis key names."""
    if not keys.is_safe_component(name):
        raise ValidationError(f"'{name}' must contain only letters, digits, '.', '-' and single '_' "
                              f"between them")
    return True


_HOSTNAME_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")


def _hostname_prefix(prefix: str) -> bool:
    """Generated VM names start with the prefix: they must stay host names clients can send back."""
    if prefix and not _HOSTNAME_PREFIX.fullmatch(prefix):
        raise ValidationError(f"'{prefix}' must be at most 40 letters, digits and '-', starting with a letter "
                              f"or a digit (VM names start with it and must be valid host names)")
    return True


def _rate(value: str | None) -> bool:
    """A rate such as ``10 per minute`` or ``100/hour;1000/day`` (the ``limits`` notation)."""
    if value is not None:
        try:
            parse_many(value)
        except ValueError:
            raise ValidationError(f"'{value}' is not a rate such as '10 per minute' or '100/hour'") from None
    return True


class StrOrList(fields.Field):
    """A string (split on whitespace when ``split`` is set) or a list of strings.

    With ``keep_shape`` the value stays as written (a string or a list), for fields the API
    reports back in the file's own shape.
    """

    def __init__(self, split: bool = False, keep_shape: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.split = split
        self.keep_shape = keep_shape

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if self.keep_shape:
                return value
            return tuple(value.split()) if self.split else (value,)
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            return list(value) if self.keep_shape else tuple(value)
        raise ValidationError("must be a string or a list of strings")


class HostPortList(fields.Field):
    """``host:port`` entries, as a list or one comma-separated string (an environment variable)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)) or not value:
            raise ValidationError("must be a non-empty list of host:port")
        for entry in value:
            host, _, port = str(entry).rpartition(":")
            number = ascii_int(port)
            if not host or number is None or not 0 < number < 65536:
                raise ValidationError(f"'{entry}' is not host:port")
        return tuple(str(entry) for entry in value)


class ReadableFile(fields.String):
    """A path that must name a readable file when the configuration is loaded."""

    def _deserialize(self, value, attr, data, **kwargs):
        path = super()._deserialize(value, attr, data, **kwargs)
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise ValidationError(f"cannot read '{path}' ({exc.strerror})") from None
        return path


class Mapping(fields.Dict):
    def _deserialize(self, value, attr, data, **kwargs):
        if value is None:
            return {}
        return super()._deserialize(value, attr, data, **kwargs)


class GlobalSchema(Schema):
    class Meta:
        unknown = RAISE

    site_name = fields.String(load_default=None, allow_none=True)
    logfile = fields.String(load_default=None, allow_none=True)
    # Generated hostnames are "<prefix><adjective>-<noun>": host names that name Redis keys.
    prefix = fields.String(load_default="", allow_none=False, validate=_hostname_prefix)
    domain = fields.String(load_default=None, allow_none=True)
    clone_target = fields.String(load_default=None, allow_none=True)
    task_limit = fields.Integer(load_default=10, validate=Positive, strict=False)
    ondemand_clone_limit = fields.Integer(load_default=10, validate=Positive)
    max_ondemand_instances_per_request = fields.Integer(load_default=10, validate=Positive)
    ondemand_request_ttl = fields.Integer(load_default=5, validate=Positive)
    timeout = fields.Integer(load_default=15, validate=Positive, allow_none=True)
    vm_checktime = fields.Integer(load_default=1, validate=NonNegative)
    ready_ttl = fields.Integer(load_default=60, validate=NonNegative)
    vm_lifetime = fields.Integer(load_default=24, validate=NonNegative)
    vm_lifetime_auth = fields.Integer(load_default=None, allow_none=True, validate=NonNegative)
    max_lifetime_upper_limit = fields.Integer(load_default=None, allow_none=True, validate=Positive)
    allowed_tags = fields.List(fields.String(), load_default=None, allow_none=True)
    backend_weight = fields.Dict(keys=fields.String(), values=fields.Integer(validate=NonNegative),
                                 load_default=None, allow_none=True)
    experimental_features = fields.Boolean(load_default=False)
    usage_stats = fields.Boolean(load_default=False)
    request_logger = fields.Boolean(load_default=False)
    extra_config = fields.String(load_default=None, allow_none=True)
    migration_limit = fields.Integer(load_default=None, allow_none=True, validate=NonNegative)
    max_tries = fields.Integer(load_default=3, validate=Positive)
    retry_factor = fields.Integer(load_default=10, validate=NonNegative)
    check_loop_delay_min = fields.Integer(load_default=5, validate=Positive)
    check_loop_delay_max = fields.Integer(load_default=60, validate=Positive)
    check_loop_delay_decay = fields.Float(load_default=2.0)
    check_ready_vm_hostname_for_mismatch = fields.Boolean(load_default=None, allow_none=True)
    check_ready_vm_on_checkout = fields.Boolean(load_default=False)
    create_template_delta_disks = fields.Boolean(load_default=False)
    create_linked_clones = fields.Boolean(load_default=True)
    create_folders = fields.Boolean(load_default=False)
    purge_unconfigured_resources = fields.Boolean(load_default=False)
    purge_interval = fields.Integer(load_default=3600, validate=Positive)
    manage_host_selection = fields.Boolean(load_default=False)
    host_selection_max_age = fields.Integer(load_default=60, validate=NonNegative)
    utilization_limit = fields.Integer(load_default=90, validate=validate.Range(min=1, max=100))
    max_vm_retries = fields.Integer(load_default=3, validate=NonNegative)
    admin_users = fields.List(fields.String(), load_default=None, allow_none=True)
    # Limits of the API (see the README's Security section).
    max_tags_per_vm = fields.Integer(load_default=32, validate=Positive)
    max_tags_bytes = fields.Integer(load_default=8192, validate=Positive)
    max_request_bytes = fields.Integer(load_default=65536, validate=Positive)
    failed_auth_rate_limit = fields.String(load_default="10 per minute", allow_none=True, validate=_rate)
    token_rate_limit = fields.String(load_default=None, allow_none=True, validate=_rate)
    healthcheck_details = fields.Boolean(load_default=False)


class RedisSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(load_default=None, allow_none=True)
    server = fields.String(load_default=None, allow_none=True)
    port = fields.Integer(load_default=6379, validate=validate.Range(min=1, max=65535))
    password = fields.String(load_default=None, allow_none=True)
    db = fields.Integer(load_default=0, validate=NonNegative)
    data_ttl = fields.Integer(load_default=168, allow_none=True, validate=NonNegative)
    connection_pool_size = fields.Integer(load_default=10, validate=Positive)
    connection_pool_timeout = fields.Integer(load_default=5, validate=Positive)
    reconnect_attempts = fields.Integer(load_default=10, validate=NonNegative)
    username = fields.String(load_default=None, allow_none=True)
    sentinels = HostPortList(load_default=None, allow_none=True)
    sentinel_master = fields.String(load_default=None, allow_none=True)
    sentinel_password = fields.String(load_default=None, allow_none=True)
    ssl = fields.Boolean(load_default=False)
    ssl_ca_file = ReadableFile(load_default=None, allow_none=True)
    ssl_cert_file = ReadableFile(load_default=None, allow_none=True)
    ssl_key_file = ReadableFile(load_default=None, allow_none=True)
    connect_timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0, min_inclusive=False))
    socket_timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0, min_inclusive=False))
    wait_replicas = fields.Integer(load_default=0, validate=NonNegative)
    wait_timeout = fields.Integer(load_default=1000, validate=Positive)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("sentinels") and not data.get("sentinel_master"):
            raise ValidationError("sentinels need sentinel_master (the name the Sentinels monitor)",
                                  "sentinel_master")
        if data.get("sentinels") and data.get("url"):
            raise ValidationError("give either url or sentinels, not both", "url")
        if data.get("ssl_key_file") and not data.get("ssl_cert_file"):
            raise ValidationError("a client key needs its certificate (ssl_cert_file)", "ssl_cert_file")
        if data.get("url") and not data["url"].startswith(("redis://", "rediss://", "unix://")):
            raise ValidationError("must be a redis://, rediss:// or unix:// URL", "url")


class MetricsServerSchema(Schema):
    class Meta:
        unknown = RAISE

    server = fields.String(required=True)
    prefix = fields.String(load_default="vmpooler")
    port = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=65535))


class PrometheusSchema(Schema):
    class Meta:
        unknown = RAISE

    prefix = fields.String(load_default="vmpooler")
    prometheus_prefix = fields.String(load_default="vmpooler")
    prometheus_endpoint = fields.String(load_default="/prometheus")


class GraphsSchema(Schema):
    class Meta:
        unknown = RAISE

    server = fields.String(load_default=None, allow_none=True)
    prefix = fields.String(load_default="vmpooler")


class TracingSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.Raw(load_default="false")
    jaeger_host = fields.String(load_default="http://localhost:14268/api/traces")


class LdapSchema(Schema):
    class Meta:
        unknown = RAISE

    host = fields.String(required=True)
    port = fields.Integer(load_default=389, validate=validate.Range(min=1, max=65535))
    base = StrOrList(split=True, required=True)
    user_object = StrOrList(split=True, required=True)
    encryption = Mapping(load_default=dict)
    service_account_hash = Mapping(load_default=None, allow_none=True)
    bind_as = fields.String(load_default=None, allow_none=True)
    bind_password = fields.String(load_default=None, allow_none=True)


class AuthSchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.String(required=True, validate=validate.OneOf(["dummy", "ldap"]))
    ldap = fields.Nested(LdapSchema, load_default=None, allow_none=True)

    @validates_schema
    def _ldap_needs_section(self, data, **kwargs):
        if data.get("provider") == "ldap" and not data.get("ldap"):
            raise ValidationError("the ldap provider needs an ldap section", "ldap")


class CelerySchema(Schema):
    class Meta:
        unknown = RAISE

    broker_url = fields.String(load_default=None, allow_none=True)
    visibility_timeout = fields.Integer(load_default=3600, validate=Positive)


class ProviderSchema(Schema):
    """Keys every provider understands; the rest are checked by the provider class."""

    class Meta:
        unknown = INCLUDE

    provider_class = fields.String(load_default=None, allow_none=True)
    connection_pool_size = fields.Integer(load_default=None, allow_none=True, validate=Positive)
    connection_pool_timeout = fields.Integer(load_default=None, allow_none=True, validate=Positive)
    purge_unconfigured_resources = fields.Boolean(load_default=False)
    resources_allowlist = fields.List(fields.String(), load_default=list)
    domain = fields.String(load_default=None, allow_none=True)
    skip_dns_check_before_creating_vm = fields.Boolean(load_default=False)


class PoolSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=_key_safe)
    alias = StrOrList(keep_shape=True, load_default=None, allow_none=True,
                      validate=lambda names: all(_key_safe(n) for n in ([names] if isinstance(names, str) else names)))
    template = fields.String(load_default=None, allow_none=True)
    size = fields.Integer(required=True, validate=NonNegative)
    provider = fields.String(load_default=None, allow_none=True)
    clone_target = fields.String(load_default=None, allow_none=True)
    timeout = fields.Integer(load_default=None, allow_none=True, validate=Positive)
    ready_ttl = fields.Integer(load_default=None, allow_none=True, validate=NonNegative)
    check_loop_delay_min = fields.Integer(load_default=None, allow_none=True, validate=Positive)
    check_loop_delay_max = fields.Integer(load_default=None, allow_none=True, validate=Positive)
    check_loop_delay_decay = fields.Float(load_default=None, allow_none=True)
    check_hostname_for_mismatch = fields.Boolean(load_default=None, allow_none=True)
    create_linked_clone = fields.Boolean(load_default=None, allow_none=True)
    folder = fields.String(load_default=None, allow_none=True)
    datastore = fields.String(load_default=None, allow_none=True)
    datacenter = fields.String(load_default=None, allow_none=True)
    network = fields.String(load_default=None, allow_none=True)
    snapshot_mainMem_ioBlockPages = fields.Raw(load_default=None, allow_none=True)
    snapshot_mainMem_iowait = fields.Raw(load_default=None, allow_none=True)
    domain = fields.String(load_default=None, allow_none=True)


class RootSchema(Schema):
    class Meta:
        unknown = RAISE

    config = fields.Nested(GlobalSchema, load_default=lambda: GlobalSchema().load({}))
    redis = fields.Nested(RedisSchema, load_default=lambda: RedisSchema().load({}))
    statsd = fields.Nested(MetricsServerSchema, load_default=None, allow_none=True)
    graphite = fields.Nested(MetricsServerSchema, load_default=None, allow_none=True)
    prometheus = fields.Nested(PrometheusSchema, load_default=None, allow_none=True)
    graphs = fields.Nested(GraphsSchema, load_default=None, allow_none=True)
    tracing = fields.Nested(TracingSchema, load_default=None, allow_none=True)
    auth = fields.Nested(AuthSchema, load_default=None, allow_none=True)
    celery = fields.Nested(CelerySchema, load_default=lambda: CelerySchema().load({}))
    tagfilter = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    providers = fields.Dict(keys=fields.String(validate=_key_safe), values=fields.Nested(ProviderSchema),
                            load_default=dict)
    pools = fields.List(fields.Nested(PoolSchema), load_default=None, allow_none=True)

    # Runs even when fields have problems, so one check reports every problem of a file.
    @validates_schema(skip_on_field_errors=False)
    def _unique_pool_names(self, data, **kwargs):
        seen = set()
        for index, pool in enumerate(data.get("pools") or []):
            if "name" not in pool:
                continue
            if pool["name"] in seen:
                raise ValidationError({"pools": {index: {"name": [f"duplicate pool name '{pool['name']}'"]}}})
            seen.add(pool["name"])


def flatten_errors(messages, path: str = "") -> list[str]:
    """Turn marshmallow's nested error dict into ``key.path: message`` lines."""
    lines: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            lines.extend(flatten_errors(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(messages, (list, tuple)):
        for message in messages:
            if isinstance(message, (dict, list)):
                lines.extend(flatten_errors(message, path))
            else:
                lines.append(f"{path}: {_friendly(message)}")
    else:
        lines.append(f"{path}: {_friendly(messages)}")
    return lines


def _friendly(message) -> str:
    text = str(message)
    return "unknown key" if text == "Unknown field." else text


__all__ = ["RootSchema", "flatten_errors", "EXCLUDE"]
