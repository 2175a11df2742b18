"""Waking pools: at most one queued task of each kind per pool.

Every event that may leave a pool short (a checkout, a 503, a freed clone slot,
a failed clone) wakes its repopulation; a flag in Redis coalesces the wake-ups
into one queued task, which lowers the flag when it starts. The ``pools`` queue
thus holds at most a few tasks per pool, however many requests arrive. A checkout
raises its pool's repopulation flag inside its own script (no extra round trip) and
sends the task when that raised it (``vms.checkout``).
"""

from __future__ import annotations

from vmpooler.lifecycle.context import Context

REPOPULATE = "repopulate"
CHECK = "check"
MIGRATE = "migrate"
ONDEMAND = "ondemand"
ONDEMAND_QUEUES = "queues"
"""The on-demand queues are one unit of work: their flag is kept under this name."""

QUEUED_TTL_SECONDS = 60.0
"""A flag outlives its task by at most this long (a task lost with a dead broker
connection would otherwise silence its pool's wake-ups)."""


def wake_repopulate(ctx: Context, pool_name: str) -> bool:
    """Queue the pool's repopulation unless one is already queued; True if queued now."""
    if not ctx.store.pacing.claim(REPOPULATE, pool_name, QUEUED_TTL_SECONDS):
        return False
    ctx.dispatch.repopulate(pool_name)
    return True


def wake_check(ctx: Context, pool_name: str) -> bool:
    """Queue a check of the pool unless one is already queued."""
    if not ctx.store.pacing.claim(CHECK, pool_name, QUEUED_TTL_SECONDS):
        return False
    ctx.dispatch.check(pool_name)
    return True


def wake_migrate(ctx: Context, pool_name: str) -> bool:
    """Queue the evaluation of the pool's checked-out VMs, only when migration is configured."""
    if not ctx.settings.config.migration_limit:
        return False
    if not ctx.store.pacing.claim(MIGRATE, pool_name, QUEUED_TTL_SECONDS):
        return False
    ctx.dispatch.migrate(pool_name)
    return True


def wake_ondemand(ctx: Context) -> bool:
    """Queue a pass over the on-demand queues unless one is already queued."""
    if not ctx.store.pacing.claim(ONDEMAND, ONDEMAND_QUEUES, QUEUED_TTL_SECONDS):
        return False
    ctx.dispatch.ondemand()
    return True


def started(ctx: Context, kind: str, pool_name: str) -> None:
    """The queued task of ``kind`` runs now: a later wake-up queues a new one."""
    ctx.store.pacing.release(kind, pool_name)


def send_due_checks(ctx: Context, now: float) -> list[str]:
    """Queue the check of every pool that is due and not already queued (one Redis round trip)."""
    due = ctx.store.pacing.claim_due_checks((pool.name for pool in ctx.settings.pools), now, QUEUED_TTL_SECONDS)
    for pool_name in due:
        ctx.dispatch.check(pool_name)
    return due
