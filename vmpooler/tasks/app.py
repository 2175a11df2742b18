"""The Celery app factory."""

from __future__ import annotations

import logging

from celery import Celery, bootsteps

from vmpooler.bootstrap import Services
from vmpooler.domain.capacity import worker_threads
from vmpooler.store.connection import Broker

# Importing the task modules registers their shared tasks on every app (signals: their receivers).
from vmpooler.tasks import heartbeat, ondemand_tasks, pool_tasks, signals, vm_tasks, vmops_tasks  # noqa: F401
from vmpooler.tasks.destroy_requests import DestroyRequestForwarder
from vmpooler.tasks.schedule import TASK_QUEUES, build_beat_schedule

log = logging.getLogger("vmpooler.tasks")


def create_celery(services: Services) -> Celery:
    settings = services.settings
    # The state Redis is the broker (through Sentinel, over TLS, as configured) unless
    # celery.broker_url names another one.
    broker = Broker(settings.celery.broker_url) if settings.celery.broker_url else services.broker
    app = Celery("vmpooler", broker=broker.url, set_as_current=False)
    threads = worker_threads(settings.config.task_limit, settings.config.ondemand_clone_limit)
    app.conf.update(
        # Clones and destroys wait on a hypervisor: threads let one process run every clone slot at once.
        worker_pool="threads",
        worker_concurrency=threads,
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_default_queue="pools",
        task_acks_late=True,
        # A task whose worker process dies goes back to the queue.
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Celery's consumer, made to reconnect after a broker failover with tasks in flight.
        worker_consumer="vmpooler.tasks.consumer:Consumer",
        # Tasks under way (a clone takes minutes; every task is safe to run twice) keep running
        # while the consumer reconnects.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={**broker.transport_options,
                                  **_transport_options(settings.celery.visibility_timeout)},
        broker_use_ssl=broker.use_ssl,
        beat_schedule=build_beat_schedule(settings),
        # Celery's persistent scheduler, also recording in Redis that beat ticks (/healthcheck).
        beat_scheduler="vmpooler.tasks.beat:Scheduler",
        timezone="UTC",
    )
    app.services = services
    app.steps["worker"].add(ProvisioningThreads)
    app.steps["worker"].add(DestroyRequestForwarder)
    return app


class ProvisioningThreads(bootsteps.Step):
    """Warns when a thread-pool worker was given fewer threads than the limits need: clones
    would then be capped below ``task_limit`` and could starve the pool checks. An explicit
    ``--concurrency`` is the operator's choice and is kept."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        if worker.pool_cls.__module__ != "celery.concurrency.thread" or worker.autoscale:
            return
        config = worker.app.services.settings.config
        needed = worker_threads(config.task_limit, config.ondemand_clone_limit)
        if worker.concurrency < needed:
            log.warning("[!] this worker runs %s threads; task_limit %s and ondemand_clone_limit %s need %s "
                        "(leave --concurrency unset to get them)", worker.concurrency, config.task_limit,
                        config.ondemand_clone_limit, needed)


def _transport_options(visibility_timeout: int) -> dict:
    """A task whose worker died unacknowledged is delivered again after the
    visibility timeout; a short timeout also sweeps for such tasks more often."""
    options = {"visibility_timeout": visibility_timeout}
    if visibility_timeout < 60:
        options.update(unacked_restore_interval=max(1, visibility_timeout // 2), unacked_restore_throttle=1)
    return options
