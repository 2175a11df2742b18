"""Flask test-client fixtures on the real Redis of tests/conftest.py."""

from __future__ import annotations

import base64
import time

import pytest

from tests.helpers import RecordingDispatcher, make_settings

# The running-service fixtures (real worker, HTTP) for the flows that cross into the worker.
from tests.integration.conftest import http, pooler_factory  # noqa: F401
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.domain.timefmt import format_time
from vmpooler.store import keys

POOLS = [
    {"name": "pool1", "size": 3, "provider": "dummy", "template": "t/pool1", "alias": ["poolone"]},
    {"name": "pool2", "size": 2, "provider": "dummy", "template": "t/pool2"},
]


class Api:
    """A test client plus the Redis it serves, with helpers to put VMs in states."""

    def __init__(self, app, redis, dispatcher):
        self.app = app
        self.client = app.test_client()
        self.redis = redis
        self.dispatcher = dispatcher
        self.settings = app.extensions["vmpooler"]["services"].settings

    def __getattr__(self, name):  # get, post, put, delete, head, open
        return getattr(self.client, name)

    def add_vm(self, pool: str, vm: str, state: str = "ready", age: float = 0.0, **fields) -> str:
        values = {"template": pool, "pool": pool, "clone": format_time(), "check": format_time(), **fields}
        self.redis.hset(keys.vm(vm), mapping=values)
        self.redis.sadd(keys.state_set(state, pool), vm)
        if state == "ready":
            self.redis.zadd(keys.ready_order(pool), {vm: time.time() - age})
        return vm

    def members(self, state: str, pool: str) -> set[str]:
        return self.redis.smembers(keys.state_set(state, pool))

    def vm(self, name: str) -> dict:
        return self.redis.hgetall(keys.vm(name))

    def token(self, user: str = "alice") -> str:
        reply = self.client.post("/api/v1/token", headers=basic(user, "secret"))
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()["token"]


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def make_api(redis_url, redis_client):
    services_made = []

    def make(pools=None, config=None, **sections) -> Api:
        settings = make_settings(redis_url, pools=pools or POOLS, config=config, **sections)
        services = Services(settings)
        services_made.append(services)
        dispatcher = RecordingDispatcher()
        app = create_app(services, dispatcher=dispatcher)
        return Api(app, redis_client, dispatcher)

    yield make
    for services in services_made:
        services.close()


@pytest.fixture
def api(make_api) -> Api:
    return make_api()


@pytest.fixture
def auth_api(make_api) -> Api:
    return make_api(auth={"provider": "dummy"})
