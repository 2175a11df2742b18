"""A Redis with known pool contents, for the dashboard and ``vmpooler status``."""

from __future__ import annotations

import pytest

from tests.helpers import make_settings
from vmpooler.domain.timefmt import today
from vmpooler.store import keys

POOLS = [
    {"name": "centos-7-x86_64", "size": 4, "provider": "dummy", "template": "t/c7"},
    {"name": "centos-8-x86_64", "size": 2, "provider": "dummy", "template": "t/c8"},
    {"name": "win2019", "size": 3, "provider": "dummy", "template": "t/w"},
]


@pytest.fixture
def populated(redis_url, redis_client):
    """Three pools with VMs in every state, today's clone and boot times, on-demand requests."""
    def put(state, pool, *vms):
        redis_client.sadd(keys.state_set(state, pool), *vms)

    put("ready", "centos-7-x86_64", "c7a", "c7b", "c7c")
    put("pending", "centos-7-x86_64", "c7d")
    put("running", "centos-7-x86_64", "c7e", "c7f")
    put("running", "centos-8-x86_64", "c8a")
    put("completed", "centos-8-x86_64", "c8b")
    put("running", "win2019", "w1", "w2", "w3", "w4")
    day = today()
    redis_client.hset(keys.clone_stats(day), mapping={"centos-7-x86_64:c7a": "10.00", "centos-7-x86_64:c7b": "20.00",
                                                      "win2019:w1": "60.00"})
    redis_client.hset(keys.boot_stats(day), mapping={"centos-7-x86_64:c7a": "30.00"})
    redis_client.hset(keys.CONFIG_POOLSIZE, "win2019", "5")
    redis_client.zadd(keys.PROVISIONING_REQUEST, {"req1": 1})
    redis_client.zadd(keys.PROVISIONING_PROCESSING, {"req2": 1, "req3": 2})
    redis_client.zadd(keys.ODCREATE_TASK, {"task1": 1, "task2": 1, "task3": 1})
    return make_settings(redis_url, pools=POOLS)
