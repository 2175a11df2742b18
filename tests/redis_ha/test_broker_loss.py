"""A worker's consumer that loses its Redis broker with a task in flight reconnects instead of stopping.

The consumer's connection is put in the state the failover scenario caught it in: the task
channel holds an unacknowledged task and waits on a BRPOP, a second channel consumes a fanout
queue (as the remote-control one does), and the broker dies. Celery's stock consumer then fails
with an AttributeError it takes for an unrecoverable error, so the worker stops.
"""

from __future__ import annotations

import signal
import tempfile
import types

import pytest
import redis
from celery.concurrency.thread import TaskPool
from celery.utils.imports import symbol_by_name
from kombu import Exchange, Queue

from tests.redis_ha.servers import free_port, start_redis, wait_until
from vmpooler.bootstrap import Services
from vmpooler.settings import build_settings
from vmpooler.tasks.app import create_celery


@pytest.fixture
def broker():
    """A Redis of its own (this test kills it): its port and its process."""
    port = free_port()
    server = start_redis(tempfile.mkdtemp(prefix="vmpooler-broker-"), "broker", port)
    client = redis.Redis(port=port)
    wait_until(client.ping, 10, "the broker to answer")
    yield port, server
    client.close()
    server.stop()


@pytest.fixture
def app(broker):
    settings = build_settings({"redis": {"url": f"redis://127.0.0.1:{broker[0]}"}, "providers": {"dummy": {}},
                               "pools": [{"name": "p", "size": 1, "provider": "dummy"}]},
                              env={"VMPOOLER_DEBUG": "1"})
    services = Services(settings)
    yield create_celery(services)
    services.close()


# pytest resets the warning filters per test; the worker ignores this one (vmpooler.tasks.consumer).
@pytest.mark.filterwarnings("ignore::celery.exceptions.CPendingDeprecationWarning")
def test_losing_the_broker_with_a_task_in_flight_leaves_the_consumer_ready_to_reconnect(app, broker):
    pool = TaskPool(limit=2)  # starts no thread until given a task
    consumer_cls = symbol_by_name(app.conf.worker_consumer)
    consumer = consumer_cls(on_task_request=lambda request: None, app=app, pool=pool,
                            controller=types.SimpleNamespace(use_eventloop=False))
    connection = consumer.connection = app.connection_for_read()
    tasks = Queue("pools", Exchange("pools", "direct"), "pools")
    with connection.Producer() as producer:
        producer.publish({"task": "in flight"}, exchange=tasks.exchange, routing_key="pools", declare=[tasks])
    taken = []
    task_channel = connection.default_channel
    connection.Consumer([tasks], callbacks=[lambda body, message: taken.append(message)],
                        channel=task_channel, prefetch_count=1).consume()
    connection.drain_events(timeout=5)
    assert len(taken) == 1 and not taken[0].acknowledged
    control = Queue("control.one", Exchange("control", "fanout"), auto_delete=True)
    connection.Consumer([control], callbacks=[lambda body, message: None], channel=connection.channel()).consume()
    task_channel._brpop_start()  # the next task asked for, as while the event loop waits

    broker[1].stop(signal.SIGKILL)
    consumer.on_connection_error_after_connected(redis.ConnectionError("Connection closed by server."))

    assert consumer.connection is None
    assert task_channel.closed
