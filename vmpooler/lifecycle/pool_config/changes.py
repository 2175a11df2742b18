"""Live pool configuration, the API's side (lifecycle.md §1.5, §2.3 steps 8–14).

The API writes overrides (size, template, clone target) and reset/undo marks to
Redis; ``Context.pool()`` applies the overrides wherever a pool is read, and the
pool's next check (woken at once) drains, prepares and refills (see ``apply``). Changes to one
pool are serialised across the fleet by the pool's configuration lease.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.wake import wake_check

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
