"""Schemas of the pool configuration endpoints (they feed the OpenAPI document)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class PoolSizeRequest(Schema):
    """New sizes by pool name, e.g. ``{"debian-7": 5}``."""

    class Meta:
        additional_properties = fields.Raw(metadata={"oneOf": [
            {"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\s*[+]?[0-9]+\s*$"}]})


class PoolTemplateRequest(Schema):
    """New templates by pool name, e.g. ``{"debian-7": "templates/debian-7-v2"}`` (a path with a '/' inside)."""

    class Meta:
        additional_properties = fields.String()


class CloneTargetRequest(Schema):
    """New clone targets (clusters) by pool name; the pools are then reset."""

    class Meta:
        additional_properties = fields.String()


class PoolResetRequest(Schema):
    """Pools to reset, as keys (the values are ignored), e.g. ``{"debian-7": "1"}``."""

    class Meta:
        additional_properties = fields.Raw()


class ConfigMessage(Schema):
    """An answer of the configuration endpoints; on a 400 it names what was refused."""

    class Meta:
        unknown = INCLUDE

    ok = fields.Boolean(required=True)
    not_configured = fields.List(fields.String(), metadata={"description": "pools or sizes refused"})
    bad_templates = fields.List(fields.String(), metadata={"description": "pools or values refused"})
    bad_pools = fields.List(fields.String())
    message = fields.String()
    error = fields.String()


class PoolSizeUndo(Schema):
    ok = fields.Boolean(required=True)
    pool_size_before_reset = fields.Integer()
    pool_size_before_overrides = fields.Integer()


class PoolTemplateUndo(Schema):
    ok = fields.Boolean(required=True)
    template_before_reset = fields.String()
    template_before_overrides = fields.String()


class ConfiguredPool(Schema):
    """A pool as configured, with its overrides applied and whether its template is prepared."""

    class Meta:
        unknown = INCLUDE
        additional_properties = fields.Raw()

    name = fields.String(required=True)
    size = fields.Integer(required=True)
    template = fields.String()
    clone_target = fields.String()
    template_ready = fields.Boolean(required=True)


class ConfigStatus(Schema):
    ok = fields.Boolean(required=True)


class PoolConfiguration(Schema):
    pool_configuration = fields.List(fields.Nested(ConfiguredPool), required=True)
    status = fields.Nested(ConfigStatus, required=True)
