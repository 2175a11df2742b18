"""The body of ``GET /vm/<hostname>``, computed from the VM's hash."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Mapping

from vmpooler.api.naming import Naming
from vmpooler.domain.numbers import ascii_int
from vmpooler.domain.timefmt import parse_time
from vmpooler.views.status import ruby_round

MAX_HOURS = 24 * 365 * 1000


def _hours(delta: timedelta) -> float:
    return ruby_round(delta.total_seconds() / 3600, 2)


def _lifetime(fields: Mapping[str, str], default: int | None) -> int:
    hours = ascii_int(fields.get("lifetime"))
    if hours is None:
        hours = int(default or 0)
    # Another writer of the hash could store anything; keep dates computable.
    return min(hours, MAX_HOURS)


def vm_details(vm: str, fields: Mapping[str, str], *, now: datetime, default_lifetime: int | None,
               naming: Naming, resolve: Callable[[str], str]) -> dict:
    """The VM's template, lifetime, state and times, tags, snapshots, disks and address.

    Unlike 1.3.0, ``remaining`` and ``end_time`` use the lifetime shown (the
    configured default when the VM has none of its own), so they agree with it.
    """
    lifetime = _lifetime(fields, default_lifetime)
    details: dict = {"template": fields.get("template", ""), "lifetime": lifetime}
    checkout = parse_time(fields.get("checkout"))
    destroyed = parse_time(fields.get("destroy"))
    if destroyed is not None:
        details["state"] = "destroyed"
        if checkout is not None:
            details["running"] = _hours(destroyed - checkout)
    elif checkout is not None:
        end = checkout + timedelta(hours=lifetime)
        details.update(running=_hours(now - checkout), remaining=_hours(end - now),
                       start_time=checkout.isoformat(timespec="seconds"),
                       end_time=end.isoformat(timespec="seconds"), state="running")
    else:
        details["state"] = "ready" if fields.get("check") else "pending"
    tags = {name[4:]: value for name, value in fields.items() if name.startswith("tag:")}
    if tags:
        details["tags"] = tags
    snapshots = [name[9:] for name in fields if name.startswith("snapshot:")]
    if snapshots:
        details["snapshots"] = snapshots
    if fields.get("disk"):
        details["disk"] = fields["disk"].split(":")
    try:
        details["ip"] = resolve(naming.fqdn(vm, fields.get("template")))
    except (OSError, UnicodeError):
        details["ip"] = ""
    details.update(naming.details(vm, fields.get("template")))
    for name in ("host", "migrated"):
        if fields.get(name):
            details[name] = fields[name]
    return details
