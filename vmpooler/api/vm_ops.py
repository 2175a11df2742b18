"""Disks and snapshots of a VM: the API checks and answers 202, a worker does the work.

The task carries the VM and its argument; the worker records ``disk`` or
``snapshot:<name>`` in the VM hash when the provider is done. The original's
task sets (``keys.DISK_TASKS`` and the snapshot ones) are not written: only the Ruby pool
manager read them, and a Ruby manager still attached to the same Redis would
then run every operation a second time.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from vmpooler.api import schemas
from vmpooler.api.auth import auth_enabled, require_token
from vmpooler.api.errors import ApiError
from vmpooler.api.ownership import require_owner
from vmpooler.api.state import context
from vmpooler.api.validation import shown
from vmpooler.api.vm import short_hostname
from vmpooler.domain.numbers import ascii_int
from vmpooler.store.tokens import new_token

blueprint = Blueprint("vm_ops", __name__)

MAX_DISK_GB = 2048


def _vm(hostname: str) -> tuple[str, dict[str, str]]:
    """The VM's name and hash; its owner's (or an admin's) token when it was checked out with one."""
    if auth_enabled():
        require_token()
    ctx = context()
    name = short_hostname(hostname, ctx.settings)
    fields = ctx.store.vm(name)
    if not fields or fields.get("destroy"):
        raise ApiError(404, f"no VM named '{name}'")
    require_owner(fields, f"VM '{name}'")
    return name, fields


@blueprint.post("/api/v1/vm/<hostname>/disk/<size>")
def add_disk(hostname: str, size: str):
    """Attach a new disk of ``size`` GB (1 to 2048); the VM's ``disk`` list shows it once attached.
    ---
    responses: {202: DiskQueued, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    name, _ = _vm(hostname)
    gb = ascii_int(size) if size == size.strip() else None
    if gb is None or not 0 < gb <= MAX_DISK_GB:
        raise ApiError(400, f"the disk size must be a whole number of GB from 1 to {MAX_DISK_GB}, got {shown(size)}")
    context().dispatch.create_disk(name, str(gb))
    return jsonify({"ok": True, name: {"disk": f"+{gb}gb"}}), 202


@blueprint.post("/api/v1/vm/<hostname>/snapshot")
def snapshot(hostname: str):
    """Take a snapshot; its name is returned and listed in the VM's ``snapshots`` once taken.
    ---
    responses: {202: SnapshotQueued, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    name, _ = _vm(hostname)
    snapshot_name = new_token()
    context().dispatch.snapshot(name, snapshot_name)
    return jsonify({"ok": True, name: {"snapshot": snapshot_name}}), 202


@blueprint.post("/api/v1/vm/<hostname>/snapshot/<snapshot_name>")
def revert(hostname: str, snapshot_name: str):
    """Revert the VM to one of its snapshots.
    ---
    responses: {202: Ok, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    name, fields = _vm(hostname)
    if not schemas.SNAPSHOT_RE.match(snapshot_name) or not fields.get(f"snapshot:{snapshot_name}"):
        raise ApiError(404, f"'{name}' has no snapshot named '{snapshot_name}'")
    context().dispatch.revert_snapshot(name, snapshot_name)
    return jsonify({"ok": True}), 202
