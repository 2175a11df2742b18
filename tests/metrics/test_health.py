"""GET /healthcheck: 200 when Redis answers, beat ticks and a worker lives; 503 says why not."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from celery.beat import EmbeddedService
from freezegun import freeze_time

from tests.harness.service import running_pooler
from tests.helpers import RecordingDispatcher, RecordingMetrics, make_settings, wait_for
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.store import keys
from vmpooler.store.monitoring import MonitoringStore
from vmpooler.tasks.app import create_celery
from vmpooler.tasks.schedule import HEARTBEAT_TASK

NOW = 1_700_000_000.0


@pytest.fixture
def client(services):
    return create_app(services, dispatcher=RecordingDispatcher()).test_client()


@pytest.fixture
def monitoring(redis_client):
    return MonitoringStore(redis_client)


def _detailed_client(redis_url, **sections):
    settings = make_settings(redis_url, config={"healthcheck_details": True}, **sections)
    return create_app(Services(settings), dispatcher=RecordingDispatcher()).test_client()


def test_healthy_when_beat_ticked_and_a_worker_reported(client, redis_url, monitoring):
    monitoring.beat_ticked(NOW - 12)
    monitoring.worker_seen("celery@a", NOW - 3)
    monitoring.worker_seen("celery@gone", NOW - 3600)
    with freeze_time(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(NOW))):
        reply = _detailed_client(redis_url).get("/healthcheck")
        anonymous = client.get("/healthcheck")
    body = reply.get_json()
    assert reply.status_code == 200
    assert body["ok"] is True and body["reasons"] == []
    assert body["workers"]["alive"] == ["celery@a"]
    assert set(body["workers"]["last_seen"]) == {"celery@a", "celery@gone"}
    assert body["api"]["ok"] and body["redis"]["ok"] and body["beat"]["ok"]
    # Without details, no worker hostnames: only how many are alive.
    assert anonymous.status_code == 200
    assert anonymous.get_json()["workers"] == {"ok": True, "alive": 1}
    assert "celery@a" not in anonymous.get_data(as_text=True)


def test_an_admin_token_shows_the_details(make_api_for_health, monitoring):
    api, redis_client = make_api_for_health
    redis_client.hset(keys.token("admintoken"), mapping={"user": "root"})
    redis_client.hset(keys.token("usertoken"), mapping={"user": "alice"})
    monitoring.worker_seen("celery@host-a", time.time())
    assert api.get("/healthcheck", headers={"X-AUTH-TOKEN": "admintoken"}).get_json()["workers"]["alive"] == [
        "celery@host-a"]
    for headers in ({"X-AUTH-TOKEN": "usertoken"}, {"X-AUTH-TOKEN": "wrong"}, {}):
        assert api.get("/healthcheck", headers=headers).get_json()["workers"]["alive"] == 1


@pytest.fixture
def make_api_for_health(redis_url, redis_client):
    settings = make_settings(redis_url, config={"admin_users": ["root"]}, auth={"provider": "dummy"})
    return create_app(Services(settings), dispatcher=RecordingDispatcher()).test_client(), redis_client


def test_stale_beat_and_silent_workers_answer_503_with_reasons(client, monitoring):
    monitoring.beat_ticked(NOW - 45)
    monitoring.worker_seen("celery@a", NOW - 90)
    with freeze_time(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(NOW))):
        reply = client.get("/healthcheck/")
    assert reply.status_code == 503
    assert reply.get_json()["reasons"] == ["beat has not ticked for 45 seconds",
                                           "no worker has reported for 90 seconds"]


def test_a_fresh_deployment_is_unhealthy_until_beat_and_a_worker_report(client):
    reply = client.get("/healthcheck")
    assert reply.status_code == 503
    assert reply.get_json()["reasons"] == ["beat has never ticked", "no worker has ever reported"]


def test_unreachable_redis_answers_503():
    services = Services(make_settings("redis://127.0.0.1:1/0"))
    reply = create_app(services, dispatcher=RecordingDispatcher()).test_client().get("/healthcheck")
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["redis"] == {"ok": False} and body["api"]["ok"] is True
    # Anonymous callers learn neither the address nor the error text.
    assert body["reasons"] == ["redis is unreachable"]
    assert "127.0.0.1" not in reply.get_data(as_text=True)
    detailed = _detailed_client("redis://127.0.0.1:1/0").get("/healthcheck").get_json()
    assert detailed["reasons"][0].startswith("redis is unreachable: ") and len(detailed["reasons"][0]) > 22


@pytest.mark.integration
def test_real_beat_and_worker_make_the_deployment_healthy(redis_url, redis_client, tmp_path):
    settings = make_settings(redis_url, pools=[{"name": "p", "size": 1, "provider": "dummy", "template": "t"}])
    with running_pooler(settings, ticker=False) as pooler, requests.Session() as http:
        # As `celery beat` does, with the scheduler the app configures.
        beat = EmbeddedService(pooler.app, thread=True, schedule_filename=str(tmp_path / "beat-schedule"),
                               scheduler_cls=pooler.app.conf.beat_scheduler)
        beat.start()
        try:
            reply = wait_for(lambda: (r := http.get(pooler.url("/healthcheck"))).status_code == 200 and r,
                             timeout=20, message="healthy")
        finally:
            beat.stop()
    assert reply.json()["ok"] is True
    assert reply.json()["workers"]["alive"] == 1


def test_the_heartbeat_records_the_worker_and_gauges_the_queues(redis_url, redis_client):
    metrics = RecordingMetrics()
    app = create_celery(Services(make_settings(redis_url, pools=[]), metrics))
    redis_client.zadd(keys.PROVISIONING_REQUEST, {"r1": 1, "r2": 2})
    redis_client.zadd(keys.ODCREATE_TASK, {"t1": 1})
    app.send_task("vmpooler.vm.destroy", args=["p", "vm1"], queue="provision")  # no worker: it waits
    redis_client.rpush(keys.DESTROY_REQUESTS, "p vm2", "p vm3")  # two returns no forwarder took yet

    app.tasks[HEARTBEAT_TASK].apply()

    gauges = {label: value for kind, label, value in metrics.points if kind == "gauge"}
    assert gauges == {"queue.pools": 0, "queue.provision": 1, "queue.vmops": 0, "queue.destroy_requests": 2,
                      "ondemand.requested": 2, "ondemand.processing": 0, "ondemand.creating": 1}
    assert list(MonitoringStore(redis_client).liveness()[1]) == [socket.gethostname()]
