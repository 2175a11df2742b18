"""A running vmpooler for integration tests: a real Celery worker, a beat-like
ticker that sends every pool's check, and the Flask app served over HTTP."""

from __future__ import annotations

import contextlib
import threading

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from werkzeug.serving import make_server

from tests.harness.pools import pool_config
from tests.helpers import make_settings
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.tasks.app import create_celery
from vmpooler.tasks.dispatch import CeleryDispatcher
from vmpooler.tasks.schedule import QUEUES
from vmpooler.tasks.startup import on_worker_ready


class Ticker:
    """Sends each pool's check every ``interval`` seconds, as beat would."""

    def __init__(self, app, pools, interval: float = 0.25):
        self.dispatch = CeleryDispatcher(app)
        self.pools = list(pools)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            for pool in self.pools:
                self.dispatch.check(pool)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Pooler:
    def __init__(self, settings, services, app, base_url: str | None = None):
        self.settings = settings
        self.services = services
        self.app = app
        self.base_url = base_url
        self.store = services.store
        self.redis = services.redis

    def url(self, path: str) -> str:
        return self.base_url + path

    def members(self, state: str, pool: str) -> set[str]:
        return self.redis.smembers(f"vmpooler__{state}__{pool}")

    def count(self, state: str, pool: str) -> int:
        return self.redis.scard(f"vmpooler__{state}__{pool}")

    def dummy_vms(self, pool: str, provider: str = "dummy") -> set[str]:
        instance = self.services.provider(provider)
        return set(instance.vms_in_pool(pool_config(instance, pool)))


@contextlib.contextmanager
def serve(flask_app):
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@contextlib.contextmanager
def running_pooler(settings, concurrency: int = 8, http: bool = True, ticker: bool = True,
                   provider_extras=None, metrics=None):
    services = Services(settings, metrics=metrics, provider_extras=provider_extras)
    app = create_celery(services)
    with start_worker(app, pool="threads", concurrency=concurrency, perform_ping_check=False,
                      queues=list(QUEUES), shutdown_timeout=30):
        on_worker_ready(app)
        with contextlib.ExitStack() as stack:
            if ticker:
                stack.enter_context(Ticker(app, [p.name for p in settings.pools]))
            base_url = None
            if http:
                flask_app = create_app(services, dispatcher=CeleryDispatcher(app))
                base_url = stack.enter_context(serve(flask_app))
            yield Pooler(settings, services, app, base_url)
    services.close()


@pytest.fixture
def pooler_factory(redis_url, redis_client):
    """Start a running vmpooler for a given configuration."""
    stack = contextlib.ExitStack()

    def start(pools=None, config=None, providers=None, **kwargs):
        settings = make_settings(redis_url, pools=pools, config=config, providers=providers)
        return stack.enter_context(running_pooler(settings, **kwargs))

    with stack:
        yield start


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session
