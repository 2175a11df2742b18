"""Templates: prepared once (delta disks), and a pool drained when its template changes."""

from __future__ import annotations

import logging

from vmpooler.domain.states import State
from vmpooler.lifecycle.context import DESTROY_QUEUE_SECONDS, Context
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


def evaluate_template(ctx: Context, pool: PoolConfig) -> None:
    """Prepare the pool's (effective) template if it has not been; drain the pool
    first when a different template was prepared before."""
    if not pool.template:
        return
    prepared = ctx.store.prepared_template(pool.name)
    if prepared == pool.template:
        return
    if prepared is not None:
        log.info("[*] [%s] template updated from %s to %s", pool.name, prepared, pool.template)
        drain(ctx, pool)
        log.info("[*] [%s] preparing pool template for deployment", pool.name)
    prepare_template(ctx, pool)
    if prepared is not None:
        log.info("[*] [%s] is ready for use", pool.name)


def prepare_template(ctx: Context, pool: PoolConfig) -> None:
    if ctx.settings.config.create_template_delta_disks and not ctx.store.template_has_deltas(pool.template):
        try:
            ctx.provider_for(pool).create_template_delta_disks(pool)
            ctx.store.add_template_deltas(pool.template)
        except Exception as exc:  # clones still work, only without shared base disks
            log.warning("[!] [%s] failed while preparing a template with an error. As a result vmpooler could "
                        "not create the template delta disks. Either a template delta disk already exists, or "
                        "the template delta disk creation failed. The error is: %s", pool.name, exc)
    ctx.store.set_prepared_template(pool.name, pool.template)


def drain(ctx: Context, pool: PoolConfig) -> None:
    """Send every ready and pending VM to completed (they were built from another template).

    Pending first, then a fresh look at ready: a clone that becomes ready
    meanwhile is caught by the second look instead of slipping through."""
    for state, label in ((State.PENDING, "pending"), (State.READY, "ready")):
        members = ctx.store.snapshot(pool.name)[state]
        if members:
            log.info("[*] [%s] removing %s instances", pool.name, label)
        for vm in members:
            retire(ctx, pool.name, vm, state)


def retire(ctx: Context, pool_name: str, vm: str, state: State) -> bool:
    """Move a ready or pending VM to completed and queue its destroy now rather
    than at the pool's next check (a VM still being cloned waits for that)."""
    if not ctx.store.move(pool_name, vm, state, State.COMPLETED):
        return False
    if ctx.store.queue_vm_work(vm, DESTROY_QUEUE_SECONDS):
        ctx.dispatch.destroy(pool_name, vm)
    return True
