"""The heartbeat beat sends: proof that beat and a worker are alive, and queue gauges."""

from __future__ import annotations

import logging

from celery import shared_task
from kombu.exceptions import ChannelError

from vmpooler.store.monitoring import MonitoringStore
from vmpooler.tasks.schedule import HEARTBEAT_TASK, QUEUES

log = logging.getLogger("vmpooler.tasks")


@shared_task(name=HEARTBEAT_TASK, bind=True)
def heartbeat(self):
    services = self.app.services
    monitoring = MonitoringStore(services.redis)
    monitoring.worker_seen(self.request.hostname)
    for queue, size in queue_sizes(self.app).items():
        services.metrics.gauge(f"queue.{queue}", size)
    # Returns whose destroy no worker has sent yet (their forwarder is behind, or no worker runs).
    services.metrics.gauge("queue.destroy_requests", services.store.handout.destroy_requests())
    for name, size in monitoring.ondemand_sizes().items():
        services.metrics.gauge(f"ondemand.{name}", size)


def queue_sizes(app) -> dict[str, int]:
    """Messages waiting in each Celery queue, asked of the broker (Redis or AMQP alike)."""
    sizes: dict[str, int] = {}
    with app.connection_for_read() as connection:
        for queue in QUEUES:
            try:
                sizes[queue] = connection.default_channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:
                # The broker has not seen the queue yet (Redis drops an empty list).
                sizes[queue] = 0
    return sizes
