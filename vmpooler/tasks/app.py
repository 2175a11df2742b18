"""The Celery app factory."""

from __future__ import annotations

from celery import Celery

from vmpooler.bootstrap import Services
from vmpooler.store.connection import celery_broker_url
# Importing the task modules registers their shared tasks on every app.
from vmpooler.tasks import pool_tasks, vm_tasks  # noqa: F401
from vmpooler.tasks.schedule import TASK_QUEUES, build_beat_schedule


def create_celery(services: Services) -> Celery:
    settings = services.settings
    broker = settings.celery.broker_url or celery_broker_url(services.redis_url)
    app = Celery("vmpooler", broker=broker, set_as_current=False)
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
        broker_transport_options={"visibility_timeout": 3600},
        beat_schedule=build_beat_schedule(settings),
        timezone="UTC",
    )
    app.services = services
    return app
