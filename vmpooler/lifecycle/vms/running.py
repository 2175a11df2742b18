"""Running VMs: returned to the destroy queue when their lifetime is over."""

from __future__ import annotations

import logging
import math

from vmpooler.domain.numbers import ascii_int
from vmpooler.domain.timefmt import seconds_since
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


def check_running_vm(ctx: Context, pool: PoolConfig, vm: str, checkout: str | None, lifetime: str | None) -> bool:
    """Move an expired running VM to completed; True if it moved.

    The lifetime clock is ``vmpooler__active__<pool>``; the lifetime is the VM's
    own ``lifetime`` field (hours), else ``vm_lifetime``. 0 means never expire.
    """
    age = seconds_since(checkout)
    if age is None:
        return _complete(ctx, pool, vm, "is listed as running, but has no checkouttime data. Removing from running")
    hours = _lifetime_hours(ctx, lifetime)
    if hours > 0 and math.floor(age / 3600) >= hours:
        return _complete(ctx, pool, vm, f"reached end of TTL after {hours} hours")
    return False


def _lifetime_hours(ctx: Context, lifetime: str | None) -> int:
    hours = ascii_int(lifetime, negative=True)
    if hours is not None:
        return hours
    configured = ctx.settings.config.vm_lifetime
    return 12 if configured is None else configured


def _complete(ctx: Context, pool: PoolConfig, vm: str, reason: str) -> bool:
    moved = ctx.store.complete_running(pool.name, vm)
    if moved:
        log.debug("[!] [%s] '%s' %s", pool.name, vm, reason)
        destroy_soon(ctx, pool.name, vm)
    return moved
