"""Status, poolstat, totalrunning, summary, the root redirect and path handling."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.harness.api import POOLS
from tests.helpers import RecordingDispatcher, make_settings
from vmpooler.api import create_app
from vmpooler.api.paths import rewrite
from vmpooler.bootstrap import Services
from vmpooler.store import keys


def test_status_counts_and_views(api, redis_client):
    api.add_vm("pool1", "a0")
    api.add_vm("pool1", "a1", state="running")
    api.add_vm("pool2", "b0", state="pending")
    redis_client.hset(keys.CONFIG_POOLSIZE, "pool2", "4")
    body = api.get("/api/v1/status").get_json()
    assert list(body) == ["boot", "capacity", "clone", "pools", "queue", "status"]
    assert body["capacity"] == {"current": 1, "total": 7, "percent": 14.3}
    assert body["pools"]["pool1"] == {"ready": 1, "running": 1, "pending": 0, "max": 3, "lastBoot": "",
                                      "alias": ["poolone"]}
    assert body["pools"]["pool2"]["max"] == 4
    assert body["queue"]["total"] == 3
    assert body["status"]["ok"] is False and body["status"]["empty"] == ["pool2"]
    assert list(api.get("/api/v1/status?view=capacity,nonsense").get_json()) == ["capacity", "status"]
    assert list(api.get("/api/v1/status?view=").get_json()) == ["status"]
    assert len(api.get("/api/v1/status?view").get_json()) == 6
    redis_client.zadd(keys.PROVISIONING_REQUEST, {"req-1": 1})
    queue = api.get("/api/v3/status?view=queue").get_json()["queue"]
    assert list(queue)[0] == "requested" and (queue["requested"], queue["total"]) == (1, 4)
    assert "requested" not in api.get("/api/v1/status?view=queue").get_json()["queue"]


def test_poolstat_and_totalrunning(api):
    api.add_vm("pool1", "a0")
    api.add_vm("pool1", "a1", state="running")
    api.add_vm("pool2", "b1", state="running")
    assert api.get("/api/v1/poolstat?pool=poolone,pool2").get_json() == {"pools": {
        "pool1": {"max": 3, "alias": ["poolone"], "ready": 1}, "pool2": {"max": 2, "ready": 0}}}
    assert api.get("/api/v1/poolstat").get_json() == {"pools": {}}
    assert api.get("/api/v1/totalrunning/").get_json() == {"running": 2}


@freeze_time("2026-01-15 12:00:00", tz_offset=0)
def test_summary_days_aggregates_and_parts(api, redis_client):
    redis_client.hset(keys.boot_stats("2026-01-14"), mapping={"pool1:a": "10.5", "pool1:b": "20.0",
                                                              "pool2:c": "31.25"})
    redis_client.hset(keys.tag_stats("2026-01-14"), mapping={"a:department": "eng", "b:department": "qa"})
    body = api.get("/api/v1/summary?from=2026-01-14").get_json()
    assert [day["date"] for day in body["daily"]] == ["2026-01-14", "2026-01-15"]
    assert body["daily"][0]["boot"]["duration"]["average"] == 20.6
    assert body["daily"][0]["boot"]["duration"]["pool"]["pool1"] == {"total": 30.5, "average": 15.3,
                                                                      "min": 10.5, "max": 20.0}
    assert body["boot"]["duration"]["pool"]["pool1"] == {"total": 30.5, "min": 10.5, "max": 20.0,
                                                          "average": 15.25}
    assert body["boot"]["count"] == {"total": 3, "pool": {"pool1": {"total": 2}, "pool2": {"total": 1}}}
    assert body["clone"] == {"duration": {"total": 0, "pool": {}}, "count": {"total": 0, "pool": {}}}
    assert body["tag"] == {"department": {"eng": 1, "total": 2, "qa": 1}}
    part = api.get("/summary/boot/count?from=2026-01-14").get_json()
    assert part["boot"] == {"count": body["boot"]["count"]}
    assert part["daily"][1] == {"date": "2026-01-15", "boot": {"count": {"total": 0}}}
    tag = api.get("/api/v1/summary/tag/department?from=2026-01-14").get_json()
    assert tag["tag"] == body["tag"]
    assert api.get("/api/v1/summary/nosuch").status_code == 404


@pytest.mark.parametrize("query,message", [
    ("from=2026-1-1", "Invalid date format"), ("from=2026-02-30", "no such day"),
    ("from=2026-01-15&to=2026-01-14", "'to' cannot come before 'from'"),
    ("from=2026-01-16&to=2026-01-20", "'from' must be in the past"),
    ("from=1000-01-01", "at most"),
])
@freeze_time("2026-01-15 12:00:00", tz_offset=0)
def test_summary_date_errors_are_400(api, query, message):
    reply = api.get(f"/api/v1/summary?{query}")
    assert reply.status_code == 400 and message in reply.get_json()["error"]


def test_root_redirects_to_the_dashboard(api):
    reply = api.get("/")
    assert reply.status_code == 302 and reply.headers["Location"] == "http://localhost/dashboard/"


def test_unknown_routes_and_methods_are_json_404(api):
    for method, path in (("get", "/api/v1/nosuch"), ("post", "/api/v1/status"), ("get", "/poolstat"),
                         ("patch", "/api/v1/vm/x")):
        reply = getattr(api, method)(path)
        assert reply.status_code == 404 and reply.get_json()["ok"] is False


@pytest.mark.parametrize("path,served,version", [
    ("//vm/", "/api/v1/vm", 1), ("/vm/abc/", "/api/v1/vm/abc", 1), ("/status", "/api/v1/status", 1),
    ("/summary/boot/count/", "/api/v1/summary/boot/count", 1), ("/token/abc", "/api/v1/token/abc", 1),
    ("/api/v3/vm/a+b", "/api/v1/vm/a+b", 3), ("/api/v1/./vm/../status/", "/api/v1/status", 1),
    ("/dashboard/", "/dashboard/", 1), ("/", "/", 1), ("/api/v2/vm", "/api/v2/vm", 1),
])
def test_path_rewrite(path, served, version):
    assert rewrite(path) == (served, version)


def test_deeply_nested_body_is_400(api):
    assert api.post("/api/v1/vm", data="[" * 50000).status_code == 400
    assert api.post("/api/v1/vm", data="[" * 70000).status_code == 413


def test_redis_down_is_503_not_500():
    settings = make_settings("redis://127.0.0.1:1/0", pools=POOLS)
    app = create_app(Services(settings), dispatcher=RecordingDispatcher())
    reply = app.test_client().get("/api/v1/status")
    assert reply.status_code == 503 and "Redis" in reply.get_json()["error"]
