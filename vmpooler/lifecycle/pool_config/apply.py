"""Live pool configuration, the worker's side: a pool check acts on the marks the API
left (reset, undo) and drains a pool whose template or clone target changed."""

from __future__ import annotations

import logging

from vmpooler.domain.states import State
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


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
