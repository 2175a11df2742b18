"""What happens to one VM cloned for an on-demand request: it goes from pending
straight to running for the request, and a failed clone is retried within the
request's budget (``max_vm_retries``, with back-off) before the request fails."""

from __future__ import annotations

import logging
import time

from vmpooler.domain.outcomes import Promotion, Requeue
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import seconds_since, today
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.settings import PoolConfig
from vmpooler.store.ondemand import Entry, parse_requested

log = logging.getLogger("vmpooler.lifecycle")

# A failed clone is retried after 1, 2, 4 ... seconds, never more than a minute.
RETRY_BACKOFF = (1.0, 60.0)


def entries_of(ctx: Context, request_id: str) -> list[Entry]:
    return parse_requested(ctx.store.ondemand.request(request_id).get("requested"))


def _entry(ctx: Context, request_id: str, alias: str, pool: str) -> Entry:
    for entry in entries_of(ctx, request_id):
        if entry.alias == alias and entry.pool == pool:
            return entry
    # Unknown to the request (it expired): a count of 0 sends the VM to completed.
    return Entry(alias, pool, 0)


def promote_for_request(ctx: Context, pool: PoolConfig, vm: str, request_id: str,
                        fields: dict[str, str | None]) -> bool:
    """A ready VM of a request joins it as running; True if it did. The caller holds
    the VM's lease, which passes to its destroy when the request no longer wants it."""
    entry = _entry(ctx, request_id, fields.get("pool_alias") or pool.name, pool.name)
    boot = seconds_since(fields.get("clone"))
    outcome = ctx.store.ondemand.promote(pool.name, vm, request_id, entry, ctx.settings.config.vm_lifetime_auth or 0,
                                         boot, today())
    if outcome is Promotion.RUNNING:
        if boot is not None:
            ctx.metrics.timing(f"time_to_ready_state.{pool.name}", boot)
        log.info("[>] [%s] '%s' is 'ready' for request '%s'", pool.name, vm, request_id)
        check_request_ready(ctx, request_id)
        return True
    if outcome is not Promotion.GONE:
        destroy_soon(ctx, pool.name, vm, lease_held=True)
    if outcome is Promotion.DELETED:
        log.debug("[!] [%s] '%s' moved to completed queue. '%s' has been deleted", pool.name, vm, request_id)
    elif outcome is not Promotion.GONE:
        log.debug("[!] [%s] '%s' moved to completed queue. '%s' could not be filled in time", pool.name, vm,
                  request_id)
    return False


def check_request_ready(ctx: Context, request_id: str) -> bool:
    if ctx.store.ondemand.mark_ready(request_id, entries_of(ctx, request_id)):
        log.info("[+] ondemand request '%s' is ready", request_id)
        return True
    return False


def retry_clone(ctx: Context, pool_name: str, request_id: str, alias: str | None, reason: str) -> Requeue:
    """A VM of the request failed (clone error or pending timeout): queue a
    replacement, or fail the request once ``max_vm_retries`` is spent."""
    entry = Entry(alias or pool_name, pool_name, 1)
    limit = ctx.settings.config.max_vm_retries
    outcome = ctx.store.ondemand.requeue(entry, request_id, limit, time.time(), RETRY_BACKOFF)
    if outcome is Requeue.EXHAUSTED:
        fail_request(ctx, request_id, f"a VM for '{entry.alias}' in pool '{pool_name}' failed {limit + 1} "
                                      f"times; the last error: {reason}")
    elif outcome is Requeue.RETRY:
        log.info("[ ] [%s] a replacement VM for request '%s' is queued", pool_name, request_id)
    return outcome


def destroy_returned(ctx: Context, entries: list[Entry], allocated: list[set[str]]) -> int:
    """Queue the destroys of a finished request's VMs (``allocated`` as read before
    it finished) that it moved to completed; returns how many were queued."""
    queued = 0
    for entry, vms in zip(entries, allocated):
        for vm in sorted(vms):
            if ctx.store.contains(entry.pool, State.COMPLETED, vm) and destroy_soon(ctx, entry.pool, vm):
                queued += 1
    return queued


def fail_request(ctx: Context, request_id: str, reason: str) -> bool:
    """The request is over: no more clones, and its running VMs are returned.
    ``reason`` becomes the request's ``failure_reason`` (none when empty)."""
    entries = entries_of(ctx, request_id)
    allocated = ctx.store.ondemand.allocated(request_id, entries)
    if not ctx.store.ondemand.fail(request_id, entries, reason):
        return False
    destroy_returned(ctx, entries, allocated)
    ctx.metrics.increment("ondemandrequest_fail.failed")
    if reason:
        log.warning("[!] Ondemand request for '%s' failed: %s", request_id, reason)
    return True
