"""``wait_replicas``: a checkout is answered only once a replica holds it."""

from __future__ import annotations

import signal
import tempfile
import time

import pytest
import redis

from tests.harness.api import Api
from tests.helpers import RecordingDispatcher
from tests.redis_ha.servers import free_port, start_redis, wait_until
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.settings import build_settings


def _caught_up(info: dict) -> bool:
    replica = info.get("slave0", {})
    return replica.get("state") == "online" and replica.get("offset") == info.get("master_repl_offset")


@pytest.fixture
def master_and_replica():
    workdir = tempfile.mkdtemp(prefix="vmpooler-wait-")
    master_port = free_port()
    master = start_redis(workdir, "master", master_port)
    replica = start_redis(workdir, "replica", free_port(), ["--replicaof", "127.0.0.1", str(master_port)])
    client = redis.Redis(port=master_port, decode_responses=True)
    wait_until(lambda: _caught_up(client.info("replication")), 20,
               "the replica to finish its first sync and acknowledge it")
    yield master_port, replica
    for process in (replica, master):
        if process.alive():
            process.popen.send_signal(signal.SIGCONT)
        process.stop()
    client.close()


def test_a_checkout_no_replica_confirms_is_undone_and_answered_503(master_and_replica):
    port, replica = master_and_replica
    raw = {"redis": {"url": f"redis://127.0.0.1:{port}/0", "wait_replicas": 1, "wait_timeout": 1000},
           "providers": {"dummy": {}}, "pools": [{"name": "p", "size": 2, "provider": "dummy"}]}
    services = Services(build_settings(raw, env={"VMPOOLER_DEBUG": "1"}))
    api = Api(create_app(services, dispatcher=RecordingDispatcher()), services.redis, RecordingDispatcher())
    api.add_vm("p", "vm-one")
    api.add_vm("p", "vm-two")
    try:
        first = api.post("/api/v1/vm/p")
        assert first.status_code == 200
        handed = first.get_json()["p"]["hostname"]
        # A replica that stops acknowledging (paused) must not see hand-outs it might lose.
        replica.popen.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        second = api.post("/api/v1/vm/p")
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "2"
        assert "no Redis replica confirmed the checkout" in second.get_json()["error"]
        assert time.monotonic() - started < 5
        remaining = {"vm-one", "vm-two"} - {handed}
        assert api.members("ready", "p") == remaining and api.members("running", "p") == {handed}
        replica.popen.send_signal(signal.SIGCONT)
        # Checkouts resume once the replica acknowledges again.
        third = wait_until(lambda: (reply := api.post("/api/v1/vm/p")).status_code == 200 and reply, 10,
                           "a checkout once the replica is back")
        assert third.get_json()["p"]["hostname"] in remaining
    finally:
        services.close()
