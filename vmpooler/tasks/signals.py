"""Celery signals: task counters, the liveness records of the workers, beat's start line.

Receivers find their services through the sending app, so several apps (tests)
can share one process.
"""

from __future__ import annotations

import logging

from celery.signals import beat_init, heartbeat_sent, task_failure, task_postrun, worker_ready

from vmpooler.store.monitoring import MonitoringStore

log = logging.getLogger("vmpooler.tasks")


def _services(app):
    return getattr(app, "services", None)


def _monitoring(app) -> MonitoringStore | None:
    services = _services(app)
    return MonitoringStore(services.redis) if services else None


@task_postrun.connect
def _task_ran(sender=None, **_):
    services = _services(sender.app)
    if services is None:
        return
    services.metrics.increment(f"tasks.run.{sender.name}")
    # Any finished task proves its worker alive, even with Celery's heartbeat off.
    MonitoringStore(services.redis).worker_seen(sender.request.hostname or "unknown")


@task_failure.connect
def _task_failed(sender=None, exception=None, **_):
    services = _services(sender.app)
    if services is None:
        return
    services.metrics.increment(f"tasks.failed.{sender.name}")
    log.error("[!] task %s failed with an error: %s", sender.name, exception)


@heartbeat_sent.connect
def _worker_heartbeat(sender=None, **_):
    monitoring = _monitoring(sender.eventer.app)
    if monitoring:
        monitoring.worker_seen(sender.eventer.hostname)


@worker_ready.connect
def _worker_ready(sender=None, **_):
    monitoring = _monitoring(sender.app)
    if monitoring:
        monitoring.worker_seen(sender.hostname)


@beat_init.connect
def _beat_started(sender=None, **_):
    if _services(sender.app) is not None:
        log.info("[*] [beat] started")
