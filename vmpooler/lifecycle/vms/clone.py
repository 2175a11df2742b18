"""Starting clones (name, slot, pending) and running them."""

from __future__ import annotations

import logging
import time

from vmpooler.domain import hostnames
from vmpooler.domain.outcomes import CloneSlot
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import format_time, seconds_since, today
from vmpooler.lifecycle.context import LEASE_SECONDS, Context
from vmpooler.lifecycle.ondemand.vms import retry_clone
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.lifecycle.vms.pending import check_pending_vm
from vmpooler.lifecycle.wake import wake_ondemand, wake_repopulate
from vmpooler.settings import PoolConfig
from vmpooler.store.locks import QUEUED

log = logging.getLogger("vmpooler.lifecycle")

NAME_ATTEMPTS = 3
# A registered clone still waiting for its task after this long is sent again.
RESEND_AFTER_SECONDS = 300


class HostnameExhausted(Exception):
    pass


def _stale_dns(ctx: Context, pool: PoolConfig, name: str) -> str | None:
    """The address ``name`` resolves to, if it does (a stale DNS record)."""
    provider = ctx.settings.providers[pool.provider]
    if provider.skip_dns_check_before_creating_vm:
        return None
    domain = ctx.settings.domain_for(pool)
    try:
        return ctx.resolve(f"{name}.{domain}" if domain else name)
    except OSError:
        return None


def start_clone(ctx: Context, pool: PoolConfig, extra_fields: dict[str, str] | None = None,
                ondemand: bool = False) -> str | None:
    """Claim a clone slot and a unique name, put the VM in pending, enqueue its clone.

    Returns the VM name, or None when every clone slot is taken.
    """
    limit = ctx.settings.config.ondemand_clone_limit if ondemand else ctx.settings.config.task_limit
    name = ""
    for attempt in range(1, NAME_ATTEMPTS + 1):
        name = hostnames.generate(ctx.rng, ctx.settings.config.prefix)
        address = _stale_dns(ctx, pool, name)
        if address:
            ctx.metrics.increment(f"errors.staledns.{pool.name}")
            log.info("[!] [%s] Generated hostname %s already exists in DNS records (%s), stale DNS",
                     pool.name, name, address)
            continue
        fields = {"clone": format_time(), "template": pool.name, "pool": pool.name, **(extra_fields or {})}
        outcome = ctx.store.register_clone(pool.name, name, fields, limit,
                                           lock_ttl=ctx.settings.pool_timeout(pool) * 60, ondemand=ondemand)
        if outcome is CloneSlot.FULL:
            return None
        if outcome is CloneSlot.OK:
            log.debug("[ ] [%s] Starting to clone '%s'", pool.name, name)
            ctx.dispatch.clone(pool.name, name)
            return name
        ctx.metrics.increment(f"errors.duplicatehostname.{pool.name}")
        log.info("[!] [%s] Generated hostname %s was not unique (attempt #%s of %s)",
                 pool.name, name, attempt, NAME_ATTEMPTS)
    raise HostnameExhausted(f"Unable to generate a unique hostname after {NAME_ATTEMPTS} attempts. "
                            f"The last hostname checked was {name}")


def clone_vm(ctx: Context, pool_name: str, vm: str) -> bool:
    """Run one registered clone. Safe to run twice: a second run finds the VM
    taken (or no longer pending) and does nothing. Returns True if it cloned."""
    pool = ctx.pool(pool_name)
    fields = ctx.store.vm_fields([vm], ["request_id", "pool_alias", "clone_time"])[vm]
    ondemand = bool(fields["request_id"])
    lease = ctx.store.vm_lease(vm, LEASE_SECONDS, heartbeat=True)
    if not lease.take_over():
        log.debug("[ ] [%s] '%s' is already being cloned", pool_name, vm)
        return False
    with lease:
        if pool is None or fields["clone_time"] or not ctx.store.contains(pool_name, State.PENDING, vm):
            _release_slot(ctx, vm, ondemand)
            return False
        started = time.monotonic()
        provider = ctx.provider_for(pool)
        try:
            provider.create_vm(pool, vm)
        except provider.errors as exc:  # a failed clone fails this VM only
            ctx.store.forget_pending(pool_name, vm, expire=True)
            suffix = f" for request {fields['request_id']}" if ondemand else ""
            log.warning("[!] [%s] failed while cloning VM%s with an error: %s", pool_name, suffix, exc)
            _release_slot(ctx, vm, ondemand)
            if fields["request_id"]:
                retry_clone(ctx, pool_name, fields["request_id"], fields["pool_alias"], str(exc))
            else:
                wake_repopulate(ctx, pool_name)
            return False
        seconds = time.monotonic() - started
        ctx.store.record_clone_time(pool_name, vm, seconds, today())
        ctx.metrics.timing(f"clone.{pool_name}", seconds)
        log.info("[+] [%s] '%s' cloned in %.2f seconds", pool_name, vm, seconds)
        _release_slot(ctx, vm, ondemand)
        # The clone is done: see at once whether it is usable rather than waiting for a check.
        check_pending_vm(ctx, pool, vm, lease_held=True)
    return True


def _release_slot(ctx: Context, vm: str, ondemand: bool) -> None:
    """Free the slot and wake the pools (or the on-demand queue) that wait for one."""
    if not ctx.store.release_slot(vm, ondemand):
        return
    if ondemand:
        wake_ondemand(ctx)
        return
    for pool in ctx.store.pools_owed_slots(ctx.settings.config.task_limit):
        wake_repopulate(ctx, pool)


def reap_dead_clones(ctx: Context, now: float | None = None) -> int:
    """Recover clones whose worker died: a slot whose lease lapsed is freed and its
    VM goes to completed; a clone still queued long after it was sent is sent again
    (its task may have died with a worker before it was ever enqueued). Returns the
    number of slots freed."""
    now = time.time() if now is None else now
    resend_after = min(ctx.settings.celery.visibility_timeout, RESEND_AFTER_SECONDS)
    reaped = 0
    for ondemand in (False, True):
        holders = ctx.store.slot_holders(ondemand)
        locks = ctx.store.lock_values(holders)
        details = ctx.store.vm_fields(holders, ["pool", "clone_time", "clone", "request_id", "pool_alias"])
        for vm, registered in holders.items():
            fields = details[vm]
            if locks[vm] == QUEUED and now - registered > resend_after and fields["pool"]:
                ctx.store.touch_slot(vm, ondemand)
                ctx.dispatch.clone(fields["pool"], vm)
            if locks[vm] is not None:
                continue
            pool = fields["pool"]
            if pool and not fields["clone_time"] and ctx.store.move(pool, vm, State.PENDING, State.COMPLETED):
                age = seconds_since(fields["clone"]) or 0
                log.info("[!] [%s] '%s' clone was interrupted after %.0f seconds, moved to 'completed'",
                         pool, vm, age)
                destroy_soon(ctx, pool, vm)
                if fields["request_id"]:
                    retry_clone(ctx, pool, fields["request_id"], fields["pool_alias"], "the clone was interrupted")
            _release_slot(ctx, vm, ondemand)
            reaped += 1
    return reaped
