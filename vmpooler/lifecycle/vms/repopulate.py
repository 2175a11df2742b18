"""Keep ready + pending at the pool's size, within the fleet-wide ``task_limit``."""

from __future__ import annotations

import logging
import time

from vmpooler.domain.states import State
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.pool_config.apply import filling, retire
from vmpooler.lifecycle.vms.clone import HostnameExhausted, start_clone
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


def repopulate(ctx: Context, pool: PoolConfig) -> int:
    """Start clones for the missing VMs; returns how many were started.

    Must run under the pool's lease so two callers never count the same gap.
    """
    # One consistent read: a clone finishing between two reads would be counted in neither set.
    snapshot = ctx.store.snapshot(pool.name)
    ready = len(snapshot[State.READY])
    pending = len(filling(ctx, snapshot[State.PENDING]))
    ctx.metrics.gauge(f"ready.{pool.name}", ready)
    ctx.metrics.gauge(f"running.{pool.name}", len(snapshot[State.RUNNING]))
    if pool.size != 0 and ctx.store.set_empty(pool.name, ready == 0) and ready == 0:
        log.info("[!] [%s] is empty", pool.name)
    started = 0
    for _ in range(pool.size - (ready + pending)):
        try:
            vm = start_clone(ctx, pool)
        except HostnameExhausted as exc:
            log.warning("[!] [%s] clone failed during check_pool with an error: %s", pool.name, exc)
            break
        if vm is None:
            # No slot for this pool now: it waits in line and is woken when one frees.
            _watch_pending(ctx, pool, started)
            return started
        started += 1
    ctx.store.stop_waiting(pool.name)
    _watch_pending(ctx, pool, started)
    return started


def _watch_pending(ctx: Context, pool: PoolConfig, started: int) -> None:
    """New clones are watched at the quickest check pace until they are ready."""
    if started:
        ctx.store.pacing.bring_due_forward(pool.name, time.time() + ctx.settings.check_delays(pool)[0])


def remove_excess(ctx: Context, pool: PoolConfig) -> int:
    """When a pool shrinks, move surplus VMs to completed (ready ones first, oldest
    first). Pending VMs still being cloned are left to become ready first."""
    snapshot = ctx.store.snapshot(pool.name)
    pending = filling(ctx, snapshot[State.PENDING])
    excess = len(snapshot[State.READY]) + len(pending) - pool.size
    if excess <= 0:
        return 0
    # A clone's lock is taken with its registration, so any VM of this snapshot
    # still being cloned shows here.
    locked = ctx.store.locked_vms(pending)
    removed = 0
    for vm in ctx.store.ready_oldest_first(pool.name)[:excess]:
        if retire(ctx, pool.name, vm, State.READY):
            removed += 1
    for vm in sorted(pending - locked)[: excess - removed]:
        if retire(ctx, pool.name, vm, State.PENDING):
            removed += 1
    if removed:
        log.info("[*] [%s] removed %s VMs above the pool size of %s", pool.name, removed, pool.size)
    return removed
