"""What a worker does once when it starts."""

from __future__ import annotations

import logging

from celery import Celery

from vmpooler.bootstrap import publish_pools
from vmpooler.lifecycle.wake import wake_check
from vmpooler.tasks.dispatch import CeleryDispatcher

log = logging.getLogger("vmpooler")


def on_worker_ready(app: Celery) -> None:
    services = app.services
    settings = services.settings
    log.debug("starting vmpooler")
    if not settings.pools_from_redis:
        publish_pools(settings, services.store)
    services.store.reset_counters()
    # As the original: migrations a killed worker left behind must not hold places forever.
    services.store.reset_migrations()
    # Ready VMs a vmpooler 1.3.0 left are handed out oldest-'ready' first from the first checkout.
    for pool in settings.pools:
        services.store.reconcile_ready_order(pool.name)
    dispatch = CeleryDispatcher(app)
    for name, provider in settings.providers.items():
        if provider.purge_unconfigured_resources and settings.pools_of_provider(name):
            dispatch.purge(name)
    # Fill pools now instead of on the first beat tick.
    ctx = services.context(dispatch)
    for pool in settings.pools:
        wake_check(ctx, pool.name)
