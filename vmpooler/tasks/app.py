"""The Celery app factory."""

from __future__ import annotations

from celery import Celery

from vmpooler.bootstrap import Services
# Importing the task modules registers their shared tasks on every app (signals: their receivers).
from vmpooler.tasks import heartbeat, ondemand_tasks, pool_tasks, signals, vm_tasks, vmops_tasks  # noqa: F401
from vmpooler.tasks.schedule import TASK_QUEUES, build_beat_schedule


def create_celery(services: Services) -> Celery:
    settings = services.settings
    # The state Redis is the broker (through Sentinel, over TLS, as configured) unless
    # celery.broker_url names another one.
    broker = None if settings.celery.broker_url else services.broker
    app = Celery("vmpooler", broker=settings.celery.broker_url or broker.url, set_as_current=False)
    app.conf.update(
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_default_queue="pools",
        task_acks_late=True,
        # A task whose worker process dies goes back to the queue.
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={**(broker.transport_options if broker else {}),
                                  **_transport_options(settings.celery.visibility_timeout)},
        broker_use_ssl=broker.use_ssl if broker else None,
        beat_schedule=build_beat_schedule(settings),
        # Celery's persistent scheduler, also recording in Redis that beat ticks (/healthcheck).
        beat_scheduler="vmpooler.tasks.beat:Scheduler",
        timezone="UTC",
    )
    app.services = services
    return app


def _transport_options(visibility_timeout: int) -> dict:
    """A task whose worker died unacknowledged is delivered again after the
    visibility timeout; a short timeout also sweeps for such tasks more often."""
    options = {"visibility_timeout": visibility_timeout}
    if visibility_timeout < 60:
        options.update(unacked_restore_interval=max(1, visibility_timeout // 2), unacked_restore_throttle=1)
    return options
