"""On-demand provisioning (lifecycle.md §2.5): a request names pools or aliases
and counts; its VMs are cloned within the fleet-wide ``ondemand_clone_limit`` and
go straight to running for the request. A request not filled within
``ondemand_request_ttl`` minutes fails and its VMs are returned."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from vmpooler.domain.outcomes import RequestEnd
from vmpooler.domain.timefmt import epoch
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.ondemand.vms import check_request_ready, destroy_returned, entries_of, fail_request, retry_clone
from vmpooler.lifecycle.vms.checkout import backend_weights
from vmpooler.lifecycle.vms.clone import HostnameExhausted, start_clone
from vmpooler.lifecycle.wake import wake_ondemand
from vmpooler.store.ondemand import Entry, parse_requested, parse_task

log = logging.getLogger("vmpooler.lifecycle")

LEASE_SECONDS = 20.0


def choose_backends(ctx: Context, name: str, count: int) -> dict[str, int]:
    """How many of ``count`` VMs each pool behind ``name`` provides (§4.2, fixed:
    every instance goes to a real pool, string aliases work).

    Each instance is drawn at random among the name itself (when it is a pool)
    and the pools it aliases, weighted by ``backend_weight`` of their clone
    targets when every candidate has a weight.
    """
    candidates = ([name] if ctx.settings.pool(name) else []) + [
        pool for pool in ctx.settings.aliases.get(name, ()) if pool != name]
    weights = backend_weights(ctx, candidates) if len(candidates) > 1 else None
    if weights is not None and sum(weights) == 0:
        weights = None
    chosen = {pool: 0 for pool in candidates}
    for _ in range(count if candidates else 0):
        pool = ctx.rng.choices(candidates, weights=weights)[0]
        chosen[pool] += 1
    return {pool: n for pool, n in chosen.items() if n}


def create_request(ctx: Context, counts: list[tuple[str, int]], request_id: str,
                   token: str | None = None, user: str | None = None) -> bool:
    """Queue a request (names already validated); False if ``request_id`` is taken."""
    entries = [Entry(name, pool, n) for name, count in counts
               for pool, n in choose_backends(ctx, name, count).items()]
    fields = {"token:token": token, "token:user": user or ""} if token else {}
    if not ctx.store.ondemand.create(request_id, entries, epoch(), fields):
        return False
    wake_ondemand(ctx)
    return True


@dataclass(frozen=True)
class RequestView:
    """What a client may see of a request."""

    status: str | None
    """None while provisioning, else 'ready', 'failed' or 'deleted'."""
    entries: list[Entry]
    allocated: list[set[str]]
    failure_reason: str | None


def view_request(ctx: Context, request_id: str) -> RequestView | None:
    values = ctx.store.ondemand.request(request_id)
    if not values:
        return None
    entries = parse_requested(values.get("requested"))
    return RequestView(values.get("status"), entries, ctx.store.ondemand.allocated(request_id, entries),
                       values.get("failure_reason"))


def delete_request(ctx: Context, request_id: str) -> RequestEnd:
    """Running VMs of the request are returned."""
    entries = entries_of(ctx, request_id)
    allocated = ctx.store.ondemand.allocated(request_id, entries)
    outcome = ctx.store.ondemand.delete(request_id, entries)
    if outcome is RequestEnd.OK:
        destroy_returned(ctx, entries, allocated)
        log.info("[-] ondemand request '%s' deleted", request_id)
        wake_ondemand(ctx)
    return outcome


def run(ctx: Context) -> int | None:
    """Process the on-demand queues unless another worker does; returns the
    amount of work seen, or None when another worker holds the queues.

    Whoever finds the queues busy leaves a wake flag behind; the holder runs
    again if the flag is up once it has let go, so no request waits for beat.
    """
    store = ctx.store.ondemand
    store.wake()
    done = None
    while True:
        lease = store.lease(LEASE_SECONDS)
        if not lease.acquire():
            return done
        with lease:
            store.clear_wake()
            done = (done or 0) + process(ctx)
        if not store.woken():
            return done


def process(ctx: Context, now: float | None = None) -> int:
    """One pass of the original's on-demand loop: expand new requests, end
    expired ones, start the clones that fit. The caller holds the queues."""
    now = time.time() if now is None else now
    store = ctx.store.ondemand
    waiting = store.waiting()
    for request_id, score in waiting:
        entries = entries_of(ctx, request_id)
        if not entries:
            log.warning("[!] Failed to find odrequest for request_id '%s'", request_id)
            store.drop_waiting(request_id)
            continue
        store.expand(request_id, entries, score, now)
    processing = store.processing()
    ttl = ctx.settings.config.ondemand_request_ttl
    for request_id, score in processing:
        if now - score > ttl * 60:
            # No failure_reason, as 1.3.0: the API then cites ondemand_request_ttl.
            if fail_request(ctx, request_id, ""):
                log.info("[!] Ondemand request for '%s' failed to provision all instances within the configured "
                         "ttl '%s'", request_id, ttl)
        else:
            check_request_ready(ctx, request_id)
    return len(waiting) + len(processing) + start_clones(ctx, now)


def start_clones(ctx: Context, now: float) -> int:
    """Start the clones of due tasks, oldest first, while on-demand slots are free."""
    store = ctx.store.ondemand
    started = 0
    for member in store.due_tasks(now):
        parsed = parse_task(member)
        if parsed is None:
            continue
        entry, request_id = parsed
        pool = ctx.pool(entry.pool)
        if pool is None:
            fail_request(ctx, request_id, f"pool '{entry.pool}' is no longer configured")
            continue
        for _ in range(entry.count):
            try:
                vm = start_clone(ctx, pool, {"request_id": request_id, "pool_alias": entry.alias}, ondemand=True)
            except HostnameExhausted as exc:
                store.consume_task(entry, request_id)
                retry_clone(ctx, entry.pool, request_id, entry.alias, str(exc))
                continue
            if vm is None:
                return started
            store.consume_task(entry, request_id)
            started += 1
    return started
