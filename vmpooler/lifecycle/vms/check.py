"""One pass over a pool, in the original's order: inventory, discovery, running,
ready, pending, completed, template, repopulate, excess."""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from vmpooler.domain.states import State
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.pool_config.apply import apply_marks
from vmpooler.lifecycle.vms.clone import reap_dead_clones
from vmpooler.lifecycle.vms.completed import discover, schedule_destroys
from vmpooler.lifecycle.vms.pending import check_pending_vm, fail_if_timed_out
from vmpooler.lifecycle.vms.ready import check_ready_vm
from vmpooler.lifecycle.vms.repopulate import remove_excess, repopulate
from vmpooler.lifecycle.vms.running import check_running_vm
from vmpooler.lifecycle.vms.template import evaluate_template
from vmpooler.lifecycle.wake import wake_migrate
from vmpooler.settings import PoolConfig
from vmpooler.store.pool_config import WAKE_FIELD

log = logging.getLogger("vmpooler.lifecycle")

MAX_PARALLEL_VM_CHECKS = 8


@dataclass
class PassResult:
    discovered: int = 0
    checked_running: int = 0
    checked_ready: int = 0
    checked_pending: int = 0
    destroys_queued: int = 0
    migrations_queued: int = 0
    cloned: int = 0

    @property
    def busy(self) -> bool:
        """The original resets the loop delay after a pass that cloned, checked
        pending VMs or discovered some."""
        return bool(self.cloned or self.checked_pending or self.discovered)


def _each(items: Iterable[str], work: Callable[[str], object], workers: int) -> list:
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(work, items))


def check_pool(ctx: Context, pool_name: str) -> PassResult:
    """Run one full pass. The caller holds the pool's lease."""
    result = PassResult()
    # Cleared before the configuration is read: a change made during this pass wakes the next one.
    ctx.store.pool_config.clear_wake(pool_name)
    pool = ctx.pool(pool_name)
    if pool is None:  # removed from the configuration since the task was queued
        return result
    provider = ctx.provider_for(pool)
    reap_dead_clones(ctx)
    try:
        inventory = set(provider.vms_in_pool(pool))
    except provider.errors as exc:  # nothing else can be judged without the inventory
        log.warning("[!] [%s] _check_pool failed with an error while running create_inventory: %s", pool.name, exc)
        return result
    ctx.store.reconcile_ready_order(pool.name)
    snapshot = ctx.store.snapshot(pool.name)
    locked = ctx.store.locked_vms(snapshot[State.PENDING] | snapshot[State.COMPLETED])
    result.discovered = discover(ctx, pool, snapshot, inventory)
    workers = min(MAX_PARALLEL_VM_CHECKS, provider.connections.size)
    result.checked_running = _check_running(ctx, pool, snapshot[State.RUNNING], inventory)
    result.checked_ready = _check_ready(ctx, pool, snapshot[State.READY], inventory, workers)
    result.checked_pending = _check_pending(ctx, pool, snapshot[State.PENDING] - locked, inventory, workers)
    result.destroys_queued = schedule_destroys(ctx, pool, ctx.store.snapshot(pool.name), inventory, locked)
    if snapshot[State.MIGRATING]:
        if wake_migrate(ctx, pool.name):
            result.migrations_queued = len(snapshot[State.MIGRATING])
        elif not ctx.settings.config.migration_limit:
            # Checkouts list their VMs for migration as 1.3.0 does; without migration nobody reads the list.
            ctx.store.forget_migrating(pool.name, snapshot[State.MIGRATING])
    evaluate_template(ctx, pool)
    apply_marks(ctx, pool)
    result.cloned = repopulate(ctx, pool)
    remove_excess(ctx, pool)
    return result


def _check_running(ctx: Context, pool: PoolConfig, running: set[str], inventory: set[str]) -> int:
    active = ctx.store.active_times(pool.name)
    lifetimes = ctx.store.vm_fields(running, ["lifetime"])
    for vm in sorted(running):
        if vm not in inventory:
            if ctx.store.complete_running(pool.name, vm):
                log.debug("[!] [%s] '%s' is a running VM but is missing from inventory.  Marking as completed.",
                          pool.name, vm)
            continue
        check_running_vm(ctx, pool, vm, active.get(vm), lifetimes[vm]["lifetime"])
    return len(running)


def _check_ready(ctx: Context, pool: PoolConfig, ready: set[str], inventory: set[str], workers: int) -> int:
    fields = ctx.store.vm_fields(ready, ["check", "ready"])
    present = []
    for vm in sorted(ready):
        if vm in inventory:
            present.append(vm)
        elif ctx.store.move(pool.name, vm, State.READY, State.COMPLETED):
            log.debug("[!] [%s] '%s' is a ready VM but is missing from inventory.  Marking as completed.",
                      pool.name, vm)
    _each(present, lambda vm: check_ready_vm(ctx, pool, vm, fields[vm]), workers)
    return len(ready)


def _check_pending(ctx: Context, pool: PoolConfig, pending: set[str], inventory: set[str], workers: int) -> int:
    for vm in sorted(pending - inventory):
        fail_if_timed_out(ctx, pool, vm, in_inventory=False)
    _each(sorted(pending & inventory), lambda vm: check_pending_vm(ctx, pool, vm), workers)
    return len(pending)


def pass_due(ctx: Context, pool: PoolConfig, now: float | None = None) -> bool:
    """Adaptive pacing of the original: a pool is checked when its delay has passed,
    or at once when something happened (pending VMs, ready count changed, template change,
    a configuration change through the API)."""
    now = time.time() if now is None else now
    state = ctx.store.check_state(pool.name)
    if not state or state.get(WAKE_FIELD) or now >= float(state.get("next", 0)):
        return True
    counts = ctx.store.counts([pool.name], (State.PENDING, State.READY))[pool.name]
    if counts[State.PENDING] or str(counts[State.READY]) != state.get("ready"):
        return True
    prepared = ctx.store.prepared_template(pool.name)
    return pool.template is not None and prepared != pool.template


def postpone(ctx: Context, pool: PoolConfig, now: float | None = None) -> None:
    """A check that did not run a pass (not due, or failed) is due again after the
    pool's shortest delay, not on every tick."""
    now = time.time() if now is None else now
    ctx.store.pacing.set_due(pool.name, now + ctx.settings.check_delays(pool)[0])


def record_pass(ctx: Context, pool: PoolConfig, result: PassResult, now: float | None = None) -> int:
    """Store when the next pass is due; returns the delay in seconds."""
    now = time.time() if now is None else now
    low, high, decay = ctx.settings.check_delays(pool)
    previous = int(ctx.store.check_state(pool.name).get("delay", low))
    delay = low if result.busy else min(high, math.floor(previous * decay))
    ready = ctx.store.counts([pool.name], (State.READY,))[pool.name][State.READY]
    ctx.store.set_check_state(pool.name, {"delay": delay, "next": now + delay, "ready": ready})
    ctx.store.pacing.set_due(pool.name, now + delay)
    return delay
