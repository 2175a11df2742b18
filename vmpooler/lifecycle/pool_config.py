"""Live pool configuration (lifecycle.md §1.5, §2.3 steps 8–14).

The API writes overrides (size, template, clone target) and reset/undo marks to
Redis; ``Context.pool()`` applies the overrides wherever a pool is read, and the
pool's next check (woken at once) drains, prepares and refills. Changes to one
pool are serialised across the fleet by the pool's configuration lease.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

from vmpooler.domain.states import State
from vmpooler.lifecycle.completed import destroy_soon
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.wake import wake_check
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")

CONFIG_LEASE_SECONDS = 10.0
LOCK_WAIT_SECONDS = 5.0


class PoolBusy(Exception):
    """Another change of the pool did not finish in time."""


@contextlib.contextmanager
def _locked(ctx: Context, pools: Iterable[str]) -> Iterator[None]:
    leases = []
    try:
        # Always in name order, so two multi-pool changes cannot deadlock.
        for name in sorted(set(pools)):
            lease = ctx.store.pool_config.config_lease(name, CONFIG_LEASE_SECONDS)
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while not lease.acquire():
                if time.monotonic() > deadline:
                    raise PoolBusy(name)
                time.sleep(0.01)
            leases.append(lease)
        yield
    finally:
        for lease in reversed(leases):
            lease.release()


def _wake(ctx: Context, pools: Iterable[str]) -> None:
    for name in pools:
        wake_check(ctx, name)


def _override(ctx: Context, values: dict, field: str, save, label: str | None = None) -> list[str]:
    """Store the overrides that change something, under the pools' config locks;
    returns the pools that changed (and wakes them)."""
    changed = []
    with _locked(ctx, values):
        for name, value in values.items():
            before = getattr(ctx.pool(name), field)
            if before != value:
                save(name, value)
                if label:
                    log.info("[*] [%s] %s updated from %s to %s", name, label, before, value)
                changed.append(name)
    _wake(ctx, changed)
    return changed


def set_sizes(ctx: Context, sizes: dict[str, int]) -> list[str]:
    """Override pool sizes; returns the pools whose size changed."""
    return _override(ctx, sizes, "size", ctx.store.pool_config.set_size, "size")


def set_templates(ctx: Context, templates: dict[str, str]) -> list[str]:
    """Override pool templates; the next check drains the pools and refills them from the new one."""
    return _override(ctx, templates, "template", ctx.store.pool_config.set_template)


def set_clone_targets(ctx: Context, targets: dict[str, str]) -> list[str]:
    """Override clone targets; the pools are reset so their VMs move there."""
    return _override(ctx, targets, "clone_target", ctx.store.pool_config.set_clone_target, "clone")


@dataclass(frozen=True)
class Undo:
    current: object
    configured: object

    @property
    def changed(self) -> bool:
        return self.current != self.configured


def _undo(ctx: Context, name: str, field: str, forget) -> Undo:
    with _locked(ctx, [name]):
        undo = Undo(getattr(ctx.pool(name), field), getattr(ctx.settings.pool(name), field))
        if undo.changed:
            forget(name)
    if undo.changed:
        _wake(ctx, [name])
    return undo


def undo_size(ctx: Context, name: str) -> Undo:
    """Back to the configured size."""
    return _undo(ctx, name, "size", ctx.store.pool_config.undo_size)


def undo_template(ctx: Context, name: str) -> Undo:
    """Back to the configured template (the pool is drained and refilled)."""
    return _undo(ctx, name, "template", ctx.store.pool_config.undo_template)


def reset_pools(ctx: Context, names: Iterable[str]) -> None:
    """Replace every ready and pending VM of the pools."""
    names = list(dict.fromkeys(names))
    with _locked(ctx, names):
        for name in names:
            ctx.store.pool_config.request_reset(name)
    _wake(ctx, names)


def filling(ctx: Context, pending: set[str]) -> set[str]:
    """The pending VMs that fill the pool: not those cloned for an on-demand
    request, which belong to their request whatever the pool's size or template."""
    fields = ctx.store.vm_fields(pending, ["request_id"])
    return {vm for vm in pending if not fields[vm]["request_id"]}


def retire(ctx: Context, pool_name: str, vm: str, state: State) -> bool:
    """Move a ready or pending VM to completed and queue its destroy now rather
    than at the pool's next check (a VM still being cloned waits for that)."""
    if not ctx.store.move(pool_name, vm, state, State.COMPLETED):
        return False
    destroy_soon(ctx, pool_name, vm)
    return True


def drain(ctx: Context, pool: PoolConfig) -> None:
    """Send the pool's ready and pending VMs to completed (template or clone
    target change, reset).

    Pending first, then a fresh look at ready: a clone that becomes ready
    meanwhile is caught by the second look instead of slipping through."""
    for state, label in ((State.PENDING, "pending"), (State.READY, "ready")):
        members = ctx.store.snapshot(pool.name)[state]
        if state is State.PENDING:
            members = filling(ctx, members)
        if members:
            log.info("[*] [%s] removing %s instances", pool.name, label)
        for vm in members:
            retire(ctx, pool.name, vm, state)


def apply_marks(ctx: Context, pool: PoolConfig) -> None:
    """Worker side, during a check: act on the reset and undo marks the API (this
    one or a Ruby one) left. Overrides themselves need nothing here: the pool
    the check works with already has them applied."""
    reset, size_undone, template_undone = ctx.store.pool_config.take_marks(pool.name)
    if size_undone:
        log.info("[*] [%s] size override removed, size is %s", pool.name, pool.size)
    if template_undone:
        log.info("[*] [%s] template override removed, template is %s", pool.name, pool.template)
    if reset:
        drain(ctx, pool)
        log.info("[*] [%s] reset has cleared ready and pending instances", pool.name)


def configuration(ctx: Context) -> list[dict]:
    """Every pool as configured, with its overrides and ``template_ready``."""
    pools = [pool for pool in (ctx.pool(p.name) for p in ctx.settings.pools) if pool is not None]
    prepared = ctx.store.pool_config.prepared_templates([pool.name for pool in pools])
    shown = []
    for pool in pools:
        values = dict(pool.raw)
        values["size"] = pool.size
        for key in ("template", "clone_target"):
            if getattr(pool, key) is not None:
                values[key] = getattr(pool, key)
        values["template_ready"] = pool.template is not None and prepared[pool.name] == pool.template
        shown.append(values)
    return shown
