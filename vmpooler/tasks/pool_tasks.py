"""Pool-level tasks: check, repopulate, migrate, purge."""

from __future__ import annotations

import dataclasses
import logging
import time

from celery import shared_task

from vmpooler.domain.outcomes import PoolCheckSkipped
from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.vms.check import check_pool, pass_due, postpone, record_pass
from vmpooler.lifecycle.vms.migrate import migrate_pool
from vmpooler.lifecycle.vms.purge import purge_provider
from vmpooler.lifecycle.vms.repopulate import repopulate
from vmpooler.lifecycle.wake import CHECK, MIGRATE, REPOPULATE, send_due_checks, started
from vmpooler.tasks.dispatch import CeleryDispatcher

log = logging.getLogger("vmpooler.tasks")

POOL_LEASE_SECONDS = 30.0
REPOPULATE_RETRY_SECONDS = 0.2
REPOPULATE_MAX_RETRIES = 50


def task_context(task) -> Context:
    """The lifecycle context of the app running ``task`` (each app has its own services)."""
    return task.app.services.context(CeleryDispatcher(task.app))


@shared_task(name="vmpooler.pool.tick", bind=True)
def tick(self):
    return len(send_due_checks(task_context(self), time.time()))


@shared_task(name="vmpooler.pool.check", bind=True, max_retries=REPOPULATE_MAX_RETRIES)
def check(self, pool_name: str) -> dict | PoolCheckSkipped:
    ctx = task_context(self)
    started(ctx, CHECK, pool_name)
    pool = ctx.pool(pool_name)
    if pool is None:
        log.warning("[!] [%s] is not a configured pool; check skipped", pool_name)
        return PoolCheckSkipped.UNKNOWN_POOL
    if not pass_due(ctx, pool):
        postpone(ctx, pool)
        return PoolCheckSkipped.NOT_DUE
    lease = ctx.store.pool_lease(pool_name, POOL_LEASE_SECONDS)
    if not lease.acquire():
        if ctx.store.pool_config.woken(pool_name) and self.request.retries < REPOPULATE_MAX_RETRIES:
            # A configuration change waits for the pass in progress, not for the next tick.
            raise self.retry(countdown=REPOPULATE_RETRY_SECONDS)
        return PoolCheckSkipped.BUSY
    # A failed pass raises: the lease is released on the way out and Celery records the
    # failure (task_failure, the tasks.failed metric); the tick tries again once the pool's
    # shortest delay has passed, not at once.
    with lease:
        try:
            result = check_pool(ctx, pool_name)
        except Exception:
            postpone(ctx, pool)
            raise
        record_pass(ctx, pool, result)
    return dataclasses.asdict(result)


@shared_task(name="vmpooler.pool.repopulate", bind=True, max_retries=REPOPULATE_MAX_RETRIES)
def repopulate_pool(self, pool_name: str):
    ctx = task_context(self)
    pool = ctx.pool(pool_name)
    if pool is None:
        started(ctx, REPOPULATE, pool_name)
        ctx.store.stop_waiting(pool_name)
        return 0
    lease = ctx.store.pool_lease(pool_name, POOL_LEASE_SECONDS)
    if not lease.acquire():
        if self.request.retries >= REPOPULATE_MAX_RETRIES:
            started(ctx, REPOPULATE, pool_name)
            return 0  # the long check holding the pool repopulates it when it ends
        # A check holds the pool; try again shortly so a checkout is replaced at once. Wake-ups
        # meanwhile coalesce into this task: its flag stays up until it has the pool.
        raise self.retry(countdown=REPOPULATE_RETRY_SECONDS)
    with lease:
        started(ctx, REPOPULATE, pool_name)
        return repopulate(ctx, pool)


@shared_task(name="vmpooler.pool.migrate", bind=True)
def migrate(self, pool_name: str):
    ctx = task_context(self)
    started(ctx, MIGRATE, pool_name)
    return migrate_pool(ctx, pool_name)


@shared_task(name="vmpooler.provider.purge", bind=True)
def purge(self, provider_name: str):
    return purge_provider(task_context(self), provider_name)
