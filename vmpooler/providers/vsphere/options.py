"""The keys a vSphere provider section accepts (beyond the common provider keys)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

_Port = validate.Range(min=1, max=65535)
_Seconds = validate.Range(min=0, min_inclusive=False)


class VSphereOptions(Schema):
    class Meta:
        unknown = RAISE

    server = fields.String(required=True)
    username = fields.String(required=True)
    password = fields.String(required=True)
    port = fields.Integer(load_default=443, validate=_Port)
    insecure = fields.Boolean(load_default=False)
    datacenter = fields.String(load_default=None, allow_none=True)
    create_linked_clones = fields.Boolean(load_default=None, allow_none=True)
    ready_check_port = fields.Integer(load_default=22, validate=_Port)
    ready_check_timeout = fields.Float(load_default=5.0, validate=_Seconds)
    vsphere_timeout = fields.Float(load_default=60.0, validate=_Seconds)
    task_timeout = fields.Float(load_default=3600.0, validate=_Seconds)
