"""Request and response schemas of the REST API.

Request schemas validate what clients send (errors become 400s); response
schemas describe what is answered and feed the OpenAPI document. Several
answers are keyed by pool, VM or token names: their schema names the fixed keys
and describe the rest with ``Meta.additional_properties`` (see ``vmpooler.api.openapi``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields

from vmpooler.api.errors import ApiError
from vmpooler.domain.numbers import ascii_int

MAX_VMS_PER_POOL = 100
MAX_LIFETIME_HOURS = 24 * 365 * 10
HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", re.I)
TAG_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
SNAPSHOT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def whole_number(value: Any) -> int | None:
    """An int from an int or a string of ASCII digits (surrounding blanks allowed), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return ascii_int(value)
    return None


class Count(fields.Field):
    """How many VMs: an integer or a string of digits, 0 to ``MAX_VMS_PER_POOL``."""

    def __init__(self, **kwargs):
        metadata = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": MAX_VMS_PER_POOL},
                              {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}]}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        count = whole_number(value)
        if count is None:
            raise ValidationError(f"the count must be a whole number, got {json.dumps(value)}")
        if count < 0:
            raise ValidationError(f"the count cannot be negative, got {count}")
        if count > MAX_VMS_PER_POOL:
            raise ValidationError(f"at most {MAX_VMS_PER_POOL} VMs of one pool per request, got {count}")
        return count


class Lifetime(fields.Field):
    """Hours since checkout: a positive integer or a string of digits."""

    def __init__(self, **kwargs):
        metadata = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_LIFETIME_HOURS},
                              {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}]}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        hours = whole_number(value)
        if hours is None or hours <= 0:
            raise ValidationError(f"You provided a lifetime ({_show(value)}) but you must provide a positive number.")
        if hours > MAX_LIFETIME_HOURS:
            raise ValidationError(f"You provided a lifetime ({_show(value)}) longer than ten years "
                                  f"({MAX_LIFETIME_HOURS} hours).")
        return hours


def tag_value(name: str, value: Any) -> str | None:
    """A tag value as stored: strings as sent, numbers and booleans as text, null skipped."""
    if value is None or isinstance(value, str):
        if value is not None and len(value) > 1024:
            raise ValidationError(f"the value of tag '{name}' is longer than 1024 characters")
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    raise ValidationError(f"the value of tag '{name}' must be a string, got {json.dumps(value)}")


class Tags(fields.Dict):
    """Tag names to values; every bad name or value is reported."""

    def __init__(self, **kwargs):
        value = {"oneOf": [{"type": "string", "maxLength": 1024}, {"type": "number"}, {"type": "boolean"}],
                 "nullable": True}
        super().__init__(keys=fields.String(), metadata={"additionalProperties": value}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(f"You provided tags ({_show(value)}) as something other than a hash.")
        tags: dict[str, str | None] = {}
        problems: list[str] = []
        for name, item in value.items():
            if not TAG_NAME_RE.match(name):
                problems.append(f"tag name '{name}' is not 1 to 100 letters, digits, '_', '.', ':' or '-'")
                continue
            try:
                tags[name] = tag_value(name, item)
            except ValidationError as exc:
                problems.extend(exc.messages)
        if problems:
            raise ValidationError(problems)
        return tags


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ---------------------------------------------------------------- requests


class CheckoutRequest(Schema):
    """``POST /vm``: how many VMs of each pool or alias, e.g. ``{"debian-7": 2}``."""

    class Meta:
        additional_properties = Count()


class ModifyVmRequest(Schema):
    """``PUT /vm/<hostname>``: new lifetime and/or tags."""

    class Meta:
        unknown = EXCLUDE  # reported one by one with the original's message

    lifetime = Lifetime()
    tags = Tags()


def parse_json_body(raw: bytes, empty: Any = None) -> Any:
    """The request body as JSON whatever its content type (clients send JSON as a form).

    Its size is bounded before it is read (see ``vmpooler.api.body_limit``).
    """
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        if empty is not None:
            return empty
        raise ApiError(400, "the request body is empty; send a JSON object")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "the request body is nested too deeply") from None


def json_object(raw: bytes, empty: Any = None) -> dict:
    body = parse_json_body(raw, empty)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def load_counts(body: dict) -> list[tuple[str, int]]:
    """``{"pool": count, ...}`` in request order; 400 on any bad count."""
    problems: list[str] = []
    counts: list[tuple[str, int]] = []
    field = Count()
    for name, value in body.items():
        try:
            counts.append((name, field.deserialize(value, attr=name)))
        except ValidationError as exc:
            problems.append(f"{name}: {exc.messages[0]}")
    if problems:
        raise ApiError(400, "; ".join(problems))
    return counts


def check_hostname(name: str) -> str:
    if len(name) > 253 or not HOSTNAME_RE.match(name):
        raise ApiError(400, f"'{name}' is not a valid hostname")
    return name


# ---------------------------------------------------------------- responses


class Ok(Schema):
    ok = fields.Boolean(required=True)


class Error(Schema):
    """Every error: ``ok`` is false and ``error`` says why."""

    class Meta:
        unknown = INCLUDE

    ok = fields.Boolean(required=True, metadata={"enum": [False]})
    error = fields.String()
    failure = fields.List(fields.String())


class Duration(Schema):
    average = fields.Float()
    min = fields.Float()
    max = fields.Float()
    total = fields.Float()


class CountTotal(Schema):
    total = fields.Integer()


class TaskSummary(Schema):
    duration = fields.Nested(Duration)
    count = fields.Nested(CountTotal)


class Capacity(Schema):
    current = fields.Integer()
    total = fields.Integer()
    percent = fields.Float()


class PoolStatus(Schema):
    ready = fields.Integer()
    running = fields.Integer()
    pending = fields.Integer()
    max = fields.Integer()
    lastBoot = fields.String()
    alias = fields.Raw(metadata={"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})


class Queue(Schema):
    requested = fields.Integer()
    pending = fields.Integer()
    cloning = fields.Integer()
    booting = fields.Integer()
    ready = fields.Integer()
    running = fields.Integer()
    completed = fields.Integer()
    total = fields.Integer()


class StatusMessage(Schema):
    ok = fields.Boolean()
    message = fields.String()
    empty = fields.List(fields.String())
    uptime = fields.Float()


class Status(Schema):
    boot = fields.Nested(TaskSummary)
    capacity = fields.Nested(Capacity)
    clone = fields.Nested(TaskSummary)
    pools = fields.Dict(keys=fields.String(), values=fields.Nested(PoolStatus))
    queue = fields.Nested(Queue)
    status = fields.Nested(StatusMessage, required=True)


class PoolStat(Schema):
    max = fields.Integer()
    alias = fields.Raw(metadata={"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
    ready = fields.Integer()


class Poolstat(Schema):
    pools = fields.Dict(keys=fields.String(), values=fields.Nested(PoolStat), required=True)


class TotalRunning(Schema):
    running = fields.Integer(required=True)


class Summary(Schema):
    """Daily and aggregated boot/clone times and tag counts (``/summary/<route>`` has a subset)."""

    daily = fields.List(fields.Dict(), required=True)
    boot = fields.Dict()
    clone = fields.Dict()
    tag = fields.Dict()


class TokenCreated(Schema):
    ok = fields.Boolean(required=True)
    token = fields.String(required=True)


class TokenTimes(Schema):
    created = fields.String()
    last = fields.String()


class TokenList(Schema):
    """The caller's tokens, keyed by token."""

    class Meta:
        additional_properties = fields.Nested(TokenTimes)

    ok = fields.Boolean(required=True)


class TokenVms(Schema):
    running = fields.List(fields.String())


class TokenDetails(Schema):
    class Meta:
        unknown = INCLUDE

    user = fields.String()
    created = fields.String()
    last = fields.String()
    vms = fields.Nested(TokenVms)


class TokenInfo(Schema):
    """One token, keyed by itself."""

    class Meta:
        additional_properties = fields.Nested(TokenDetails)

    ok = fields.Boolean(required=True)


class Hostnames(Schema):
    hostname = fields.Raw(required=True, metadata={
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})


class Checkout(Schema):
    """The VMs handed out, keyed by the requested pool or alias."""

    class Meta:
        additional_properties = fields.Nested(Hostnames)

    ok = fields.Boolean(required=True)
    domain = fields.String(metadata={"description": "v1 only: the domain of the short hostnames"})


class VmDetails(Schema):
    template = fields.String()
    lifetime = fields.Integer()
    running = fields.Float()
    remaining = fields.Float()
    start_time = fields.String()
    end_time = fields.String()
    state = fields.String(metadata={"enum": ["pending", "ready", "running", "destroyed"]})
    tags = fields.Dict(keys=fields.String(), values=fields.String())
    snapshots = fields.List(fields.String())
    disk = fields.List(fields.String())
    ip = fields.String()
    domain = fields.String(metadata={"description": "v1 only"})
    fqdn = fields.String(metadata={"description": "v3 only"})
    host = fields.String()
    migrated = fields.String()


class VmInfo(Schema):
    """One VM, keyed by its short hostname."""

    class Meta:
        additional_properties = fields.Nested(VmDetails)

    ok = fields.Boolean(required=True)


class DiskTask(Schema):
    disk = fields.String()


class DiskQueued(Schema):
    class Meta:
        additional_properties = fields.Nested(DiskTask)

    ok = fields.Boolean(required=True)


class SnapshotTask(Schema):
    snapshot = fields.String()


class SnapshotQueued(Schema):
    class Meta:
        additional_properties = fields.Nested(SnapshotTask)

    ok = fields.Boolean(required=True)
