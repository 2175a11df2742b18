"""Handing out ready VMs: all-or-nothing, oldest ready VM first."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.vms.completed import destroy_soon
from vmpooler.lifecycle.wake import QUEUED_TTL_SECONDS, REPOPULATE, wake_migrate, wake_repopulate
from vmpooler.store.errors import NotReplicated

log = logging.getLogger("vmpooler.lifecycle")


@dataclass(frozen=True)
class Allocation:
    requested: str
    pool: str
    vm: str


def backends(ctx: Context, name: str) -> list[str]:
    """The pools that can serve a requested name, the preferred one first.

    The first is drawn at random, weighted by ``backend_weight`` of each pool's
    clone target when every candidate has a weight; the rest keep their order.
    """
    candidates = ([name] if ctx.settings.pool(name) else []) + [
        pool for pool in ctx.settings.aliases.get(name, ()) if pool != name]
    if len(candidates) <= 1:
        return candidates
    weights = backend_weights(ctx, candidates)
    if weights and sum(weights) > 0:
        first = ctx.rng.choices(candidates, weights=weights)[0]
    else:
        first = ctx.rng.choice(candidates)
    return [first] + [pool for pool in candidates if pool != first]


def backend_weights(ctx: Context, candidates: list[str]) -> list[int] | None:
    """Each candidate pool's ``backend_weight`` (by its clone target), or None
    unless every candidate has one."""
    table = ctx.settings.config.backend_weight or {}
    weights = []
    for name in candidates:
        pool = ctx.settings.pool(name)
        target = (pool.clone_target if pool else None) or ctx.settings.config.clone_target
        if target not in table:
            return None
        weights.append(table[target])
    return weights


class NotEnoughVms(Exception):
    """A checkout could not be served in full; nothing was handed out."""

    def __init__(self, names: list[str]):
        super().__init__(", ".join(names))
        self.names = names


def checkout_one(ctx: Context, requested: str, fields: Mapping[str, str], woken: set[str]) -> Allocation | None:
    """One VM for ``requested``; ``woken`` gets each pool whose repopulation flag this raised
    (the checkout script raises it: the caller queues the wake-up, see ``wake``)."""
    for pool in backends(ctx, requested):
        while True:
            vm, woke = ctx.store.checkout_and_wake(pool, fields, REPOPULATE, QUEUED_TTL_SECONDS)
            if woke:
                woken.add(pool)
            if vm is None:
                break
            if ctx.settings.config.check_ready_vm_on_checkout and not _responds(ctx, pool, vm):
                # Taken first, asked second: no other request can get it meanwhile.
                if ctx.store.complete_running(pool, vm):
                    destroy_soon(ctx, pool, vm)
                log.info("[!] [%s] '%s' is unreachable at checkout, moved to 'completed'", pool, vm)
                ctx.metrics.increment(f"checkout.nonresponsive.{pool}")
                continue
            ctx.metrics.increment(f"checkout.success.{pool}")
            return Allocation(requested, pool, vm)
    return None


def _responds(ctx: Context, pool_name: str, vm: str) -> bool:
    pool = ctx.pool(pool_name)
    if pool is None:
        return False
    provider = ctx.provider_for(pool)
    try:
        return bool(provider.vm_ready(pool, vm))
    except provider.errors as exc:  # a provider error means "not usable"
        log.info("[!] [%s] '%s' readiness check at checkout failed: %s", pool_name, vm, exc)
        return False


def checkout(ctx: Context, request: list[tuple[str, int]], fields: Mapping[str, str] | None = None
             ) -> list[Allocation]:
    """Check out ``count`` VMs for each requested name, or none at all.

    ``fields`` are written to each VM's hash (token, lifetime). When any name
    cannot be served, every VM taken is returned to ready (checkout, token and
    lifetime fields removed) and NotEnoughVms names what was missing.
    """
    taken: list[Allocation] = []
    empty: list[str] = []
    woken: set[str] = set()
    for requested, count in request:
        for _ in range(count):
            allocation = checkout_one(ctx, requested, fields or {}, woken)
            if allocation is None:
                empty.append(requested)
                break
            taken.append(allocation)
    # Each flag raised by a checkout call is a wake-up this request must send.
    for pool in sorted(woken):
        ctx.dispatch.repopulate(pool)
    if empty:
        for allocation in taken:
            ctx.store.return_to_ready(allocation.pool, allocation.vm)
        for requested in empty:
            ctx.metrics.increment(f"checkout.empty.{requested}")
            # An empty pool wakes: its refill must not wait for the next check.
            for pool in backends(ctx, requested):
                wake_repopulate(ctx, pool)
        raise NotEnoughVms(empty)
    redis = ctx.settings.redis
    if taken and not ctx.store.replicated(redis.wait_replicas, redis.wait_timeout):
        # Replication is asynchronous: a failover now could promote a replica that still
        # has these VMs in ready and hand them out again. Hand out only what a replica holds.
        for allocation in taken:
            ctx.store.return_to_ready(allocation.pool, allocation.vm)
        raise NotReplicated(f"no {redis.wait_replicas} replica(s) confirmed the checkout "
                            f"within {redis.wait_timeout} ms")
    for pool in sorted({allocation.pool for allocation in taken}):
        wake_migrate(ctx, pool)
    return taken
