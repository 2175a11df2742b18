"""The worker's consumer: Celery's, made to survive losing a Redis broker with tasks in flight."""

from __future__ import annotations

import contextlib
import warnings

from celery.exceptions import CPendingDeprecationWarning
from celery.utils.threads import bound_open_broker_sockets
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer.consumer import COLLECT_SOCKET_TIMEOUT
from kombu.transport import virtual

# At every reconnect Celery warns, in many lines, that it may one day cancel running late-ack
# tasks on connection loss; the app keeps them running on purpose (see create_celery).
warnings.filterwarnings("ignore", message=r"\s*In Celery 5\.1 we introduced an optional breaking change",
                        category=CPendingDeprecationWarning)


class Consumer(CeleryConsumer):
    """Closes a lost connection's channels before Celery discards the connection.

    kombu's Redis channel stops closing when the read of its pending BRPOP fails, and the
    connection's teardown stops at the first channel it cannot close (one with a fanout queue
    to delete on the lost broker). The channel that took the tasks then outlives its transport;
    Celery (5.7) closes it once more after the teardown, and giving back its unacknowledged tasks
    there raises an AttributeError, which Celery takes for an unrecoverable error: the worker
    stops instead of reconnecting. Tasks the lost broker cannot take back stay in its unacked
    set and are delivered again after the visibility timeout.
    """

    def on_connection_error_after_connected(self, exc):
        if self.connection is not None:
            close_channels(self.connection)
        super().on_connection_error_after_connected(exc)


def close_channels(connection) -> None:
    """Close every channel of a broken virtual-transport (Redis) connection while its transport
    is still attached, despite the errors of the broker it lost."""
    transport = connection.transport
    if not isinstance(transport, virtual.Transport):
        return
    # A peer that went silent would otherwise hold the reads below (as Celery bounds its own).
    bound_open_broker_sockets(connection, COLLECT_SOCKET_TIMEOUT)
    errors = connection.connection_errors + connection.channel_errors
    for channel in list(transport.channels):
        # A close that failed reading the pending BRPOP left the channel open; a second one finishes it.
        for _attempt in range(2):
            with contextlib.suppress(*errors):
                channel.close()
            if channel.closed:
                break
