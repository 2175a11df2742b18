"""Taking over the Redis of a running vmpooler 1.3.0: its ready VMs go out oldest-``ready`` first."""

from __future__ import annotations

import json

from vmpooler.bootstrap import Services
from vmpooler.store import keys
from vmpooler.tasks.app import create_celery
from vmpooler.tasks.startup import on_worker_ready

# As 1.3.0 left them: set members in no particular order, a 'ready' time in each hash.
READY_AT = {
    "vm-c": "2024-03-01 12:00:00 +0000",
    "vm-a": "2024-03-01 06:00:00 -0400",   # 10:00 UTC
    "vm-d": "2024-03-01 14:30:00 +0200",   # 12:30 UTC
    "vm-b": "2024-03-01 11:00:00 +0000",
}
OLDEST_FIRST = ["vm-a", "vm-b", "vm-c", "vm-d"]


def leave_as_1_3_0(redis_client) -> None:
    for vm, ready in READY_AT.items():
        redis_client.hset(keys.vm(vm), mapping={"template": "pool1", "pool": "pool1", "clone": ready, "ready": ready})
    redis_client.sadd(keys.state_set("ready", "pool1"), *READY_AT)


def check_out_one_by_one(api) -> list[str]:
    handed = []
    for _ in READY_AT:
        reply = api.post("/api/v1/vm", data=json.dumps({"pool1": 1}))
        assert reply.status_code == 200, reply.get_json()
        handed.append(reply.get_json()["pool1"]["hostname"])
    assert api.post("/api/v1/vm/pool1").status_code == 503
    return handed


def test_worker_start_up_orders_1_3_0_ready_vms(make_api, redis_client):
    leave_as_1_3_0(redis_client)
    api = make_api()
    services = Services(api.settings)
    try:
        on_worker_ready(create_celery(services))
    finally:
        services.close()
    # The order is complete before the first checkout: no checkout has to look at the ready set.
    assert redis_client.zrange(keys.ready_order("pool1"), 0, -1) == OLDEST_FIRST
    assert check_out_one_by_one(api) == OLDEST_FIRST


def test_checkout_before_any_worker_started_still_goes_oldest_first(make_api, redis_client):
    leave_as_1_3_0(redis_client)
    assert check_out_one_by_one(make_api()) == OLDEST_FIRST
