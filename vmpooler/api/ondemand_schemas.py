"""Schemas of the on-demand endpoints (they feed the OpenAPI document)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

COUNT = fields.Raw(metadata={"oneOf": [{"type": "integer", "minimum": 0},
                                       {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}]})


class OndemandRequest(Schema):
    """How many VMs of each pool or alias, e.g. ``{"debian-7": 2, "request_id": "mine-1"}``."""

    class Meta:
        additional_properties = COUNT

    request_id = fields.String(metadata={"description": "optional; a new UUID when absent. "
                                                        "1 to 100 letters, digits, '.' or '-', starting with a "
                                                        "letter or digit; not a kind of key such as 'token'"})


class OndemandCreated(Schema):
    ok = fields.Boolean(required=True)
    request_id = fields.String(required=True)
    domain = fields.String(metadata={"description": "v1 only, when configured"})


class OndemandProgress(Schema):
    """Per requested name: its hostnames once ready, else how many are ready and pending."""

    hostname = fields.List(fields.String())
    ready = fields.String(metadata={"description": "while provisioning: a count, as a string"})
    pending = fields.String(metadata={"description": "while provisioning: a count, as a string"})


class OndemandStatus(Schema):
    """A request, keyed by the requested pool or alias names."""

    class Meta:
        additional_properties = fields.Nested(OndemandProgress)

    ok = fields.Boolean(required=True)
    request_id = fields.String(required=True)
    ready = fields.Boolean(required=True)
    message = fields.String(metadata={"description": "why a request failed, or that it was deleted"})
    failure_reason = fields.String()
    domain = fields.String()


class OndemandMessage(Schema):
    """An on-demand answer with a ``message`` (an error, or an already deleted request)."""

    class Meta:
        unknown = INCLUDE

    ok = fields.Boolean(required=True)
    message = fields.String()
    bad_templates = fields.List(fields.String())
    request_id = fields.String()
