"""The typed settings classes and the marshmallow schemas cannot drift apart.

Every schema field must have a dataclass field of a compatible type, and every
dataclass field must come from the schema (or be one of the few the loader
derives, listed here with the reason).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import operator
import types
import typing
from typing import Any, Union

import pytest
from marshmallow import fields

from vmpooler import settings, settings_schema, settings_sections

PAIRS = [
    (settings_schema.GlobalSchema, settings_sections.GlobalConfig),
    (settings_schema.RedisSchema, settings_sections.RedisConfig),
    (settings_schema.MetricsServerSchema, settings_sections.MetricsServerConfig),
    (settings_schema.PrometheusSchema, settings_sections.PrometheusConfig),
    (settings_schema.GraphsSchema, settings_sections.GraphsConfig),
    (settings_schema.TracingSchema, settings_sections.TracingConfig),
    (settings_schema.LdapSchema, settings_sections.LdapConfig),
    (settings_schema.AuthSchema, settings_sections.AuthConfig),
    (settings_schema.CelerySchema, settings_sections.CeleryConfig),
    (settings_schema.ProviderSchema, settings.ProviderConfig),
    (settings_schema.PoolSchema, settings.PoolConfig),
    (settings_schema.RootSchema, settings.Settings),
]
NESTED = {schema: cls for schema, cls in PAIRS}

# Fields the loader adds: they have no schema key of their own.
DERIVED = {
    settings.ProviderConfig: {"name", "options"},  # the providers: key; the class-specific keys
    settings.PoolConfig: {"alias_raw", "raw"},  # the pool as written, for GET /config
    settings.Settings: {"aliases", "pools_from_redis", "source"},
}
# Optional in the schema, always filled by the loader.
FILLED = {
    settings.ProviderConfig: {"provider_class"},
    settings.PoolConfig: {"provider", "ready_ttl", "alias"},
    settings.Settings: {"pools"},
}


def _optional(field: fields.Field) -> bool:
    return bool(field.allow_none) or (not field.required and field.load_default is None)


def _schema_type(field: fields.Field) -> Any:
    """The Python type a loaded value of this field has."""
    if isinstance(field, fields.Nested):
        return NESTED[field.nested]
    if isinstance(field, fields.List):
        return list[_schema_type(field.inner)]
    if isinstance(field, fields.Dict):
        key = _schema_type(field.key_field) if field.key_field else Any
        value = _schema_type(field.value_field) if field.value_field else Any
        return dict[key, value]
    if isinstance(field, (settings_schema.StrOrList, settings_schema.HostPortList)):
        return tuple[str, ...]
    simple = [(fields.Boolean, bool), (fields.Integer, int), (fields.Float, float), (fields.String, str)]
    for kind, python in simple:
        if isinstance(field, kind):
            return python
    return Any


def _split_optional(hint: Any) -> tuple[Any, bool]:
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return (args[0] if len(args) == 1 else functools.reduce(operator.or_, args)), len(args) < len(typing.get_args(hint))
    return hint, False


def _compatible(expected: Any, actual: Any) -> bool:
    """Equal, or a read-only view of it: a tuple for a list, a Mapping for a dict."""
    if expected is Any or actual is Any:
        return expected is actual
    if expected == actual:
        return True
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    actual_origin, actual_args = typing.get_origin(actual), typing.get_args(actual)
    if origin is list and actual_origin is tuple and actual_args[1:] == (Ellipsis,):
        return _compatible(args[0], actual_args[0])
    if origin is dict and actual_origin in (dict, collections.abc.Mapping):
        # An untyped mapping in the schema may be narrowed by the class (YAML keys are strings).
        return all(e is Any or _compatible(e, a) for e, a in zip(args, actual_args, strict=True))
    return False


@pytest.mark.parametrize(("schema", "cls"), PAIRS, ids=[cls.__name__ for _, cls in PAIRS])
def test_dataclass_fields_match_schema_fields(schema, cls):
    schema_fields = schema().fields
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    assert names - DERIVED.get(cls, set()) == set(schema_fields)
    for name, field in schema_fields.items():
        actual, actual_optional = _split_optional(hints[name])
        expected = _schema_type(field)
        assert _compatible(expected, actual), f"{cls.__name__}.{name}: {hints[name]} does not hold {expected}"
        if actual is not Any and name not in FILLED.get(cls, set()):
            assert actual_optional == _optional(field), f"{cls.__name__}.{name}: None allowed differs"


def test_the_checker_notices_a_wrong_type():
    assert not _compatible(int, str)
    assert not _compatible(list[str], tuple[int, ...])
    assert _compatible(list[str], tuple[str, ...])
    assert not _compatible(Any, str)
    assert _compatible(dict[str, int], collections.abc.Mapping[str, int])


def test_loaded_sections_are_the_typed_classes():
    loaded = settings.build_settings(
        {"config": {"task_limit": 3, "allowed_tags": ["a"]}, "redis": {"server": "r"},
         "statsd": {"server": "s"}, "tracing": {"enabled": True},
         "auth": {"provider": "ldap", "ldap": {"host": "h", "base": "dc=x", "user_object": "uid"}},
         "pools": [{"name": "p", "size": 1, "provider": "dummy"}]}, env={})
    assert isinstance(loaded.config, settings_sections.GlobalConfig)
    assert (loaded.config.task_limit, loaded.config.allowed_tags, loaded.config.prefix) == (3, ["a"], "")
    assert (loaded.redis.server, loaded.redis.port) == ("r", 6379)
    assert loaded.statsd == settings_sections.MetricsServerConfig(server="s", prefix="vmpooler", port=None)
    assert loaded.graphite is None and loaded.prometheus is None
    assert loaded.tracing == settings_sections.TracingConfig(enabled=True)
    assert loaded.auth is not None and loaded.auth.ldap is not None
    assert (loaded.auth.provider, loaded.auth.ldap.base, loaded.auth.ldap.port) == ("ldap", ("dc=x",), 389)
    assert loaded.celery == settings_sections.CeleryConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.config.task_limit = 4  # type: ignore[misc]  # frozen: that is the point
