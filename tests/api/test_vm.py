"""One VM: GET, PUT and DELETE /vm/<hostname>."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time

from vmpooler.store import keys

CHECKOUT = "2026-01-10 08:00:00 +0000"


def running(api, vm="run-vm", pool="pool1", **fields):
    return api.add_vm(pool, vm, state="running", checkout=CHECKOUT, **fields)


@freeze_time("2026-01-10 11:00:00", tz_offset=0)
def test_details_of_a_running_vm(make_api):
    api = make_api(config={"domain": "example.com", "vm_lifetime": 24})
    running(api, lifetime="12", **{"tag:user": "jdoe", "snapshot:snap1": CHECKOUT, "disk": "+8gb:+16gb",
                                   "host": "host1", "migrated": "true"})
    reply = api.get("/api/v1/vm/run-vm.example.com")
    assert reply.status_code == 200
    details = reply.get_json()["run-vm"]
    assert details == {"template": "pool1", "lifetime": 12, "running": 3.0, "remaining": 9.0,
                       "start_time": "2026-01-10T08:00:00+00:00", "end_time": "2026-01-10T20:00:00+00:00",
                       "state": "running", "tags": {"user": "jdoe"}, "snapshots": ["snap1"],
                       "disk": ["+8gb", "+16gb"], "ip": details["ip"], "domain": "example.com",
                       "host": "host1", "migrated": "true"}
    v3 = api.get("/api/v3/vm/run-vm.example.com").get_json()["run-vm"]
    assert v3["fqdn"] == "run-vm.example.com" and "domain" not in v3


@freeze_time("2026-01-10 11:00:00", tz_offset=0)
def test_default_lifetime_is_used_for_remaining(make_api):
    api = make_api(config={"vm_lifetime": 24})
    running(api)
    details = api.get("/api/v1/vm/run-vm").get_json()["run-vm"]
    assert (details["lifetime"], details["remaining"]) == (24, 21.0)


def test_states_from_hash_fields(api):
    api.add_vm("pool1", "ready-vm")
    api.add_vm("pool1", "pending-vm", state="pending", check="")
    api.add_vm("pool1", "dead-vm", state="completed", checkout=CHECKOUT, destroy="2026-01-10 10:30:00 +0000")
    assert api.get("/api/v1/vm/ready-vm").get_json()["ready-vm"]["state"] == "ready"
    assert api.get("/api/v1/vm/pending-vm").get_json()["pending-vm"]["state"] == "pending"
    dead = api.get("/vm/dead-vm/").get_json()["dead-vm"]
    assert (dead["state"], dead["running"]) == ("destroyed", 2.5)


def test_unknown_and_invalid_hostnames(make_api):
    api = make_api(config={"domain": "example.com"})
    assert api.get("/api/v1/vm/nosuch").status_code == 404
    assert api.get("/api/v1/vm/nosuch.other.org").status_code == 404
    for bad in ("bad_name", "-x", "a" * 300):
        reply = api.get(f"/api/v1/vm/{bad}")
        assert reply.status_code == 400 and "hostname" in reply.get_json()["error"]
        assert api.delete(f"/api/v1/vm/{bad}").status_code == 400
        assert api.put(f"/api/v1/vm/{bad}", data="{}").status_code == 400


def test_put_lifetime_and_tags_with_form_content_type(make_api, redis_client):
    api = make_api(tagfilter={"url": r"(.*)\/job\/.*"})
    running(api)
    body = {"lifetime": 12, "tags": {"department": "eng", "url": "https://ci/x/job/42", "skip": None, "n": 3}}
    reply = api.put("/api/v1/vm/run-vm", data=json.dumps(body), content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 200, reply.get_json()
    fields = api.vm("run-vm")
    assert fields["lifetime"] == "12"
    assert (fields["tag:department"], fields["tag:url"], fields["tag:n"]) == ("eng", "https://ci/x", "3")
    assert "tag:skip" not in fields
    days = redis_client.keys(keys.TAG_STATS_PATTERN)
    assert len(days) == 1 and redis_client.hget(days[0], "run-vm:department") == "eng"


@pytest.mark.parametrize("body,message", [
    ({"lifetime": 0}, "positive number"),
    ({"lifetime": "abc"}, "positive number"),
    ({"lifetime": 200}, "exceeds the configured maximum of 100"),
    ({"tags": "x"}, "something other than a hash"),
    ({"tags": {"secret": "x"}}, "unsupported tags"),
    ({"tags": {"user": {"a": 1}}}, "must be a string"),
    ({"disk": 8}, "Unknown argument disk."),
])
def test_put_validation_failures_change_nothing(make_api, body, message):
    api = make_api(config={"max_lifetime_upper_limit": 100, "allowed_tags": ["user"]})
    running(api)
    before = api.vm("run-vm")
    reply = api.put("/api/v1/vm/run-vm", data=json.dumps(body))
    assert reply.status_code == 400
    assert any(message in line for line in reply.get_json()["failure"]), reply.get_json()
    assert api.vm("run-vm") == before


def test_put_unknown_vm_404_and_bad_json_400(api):
    assert api.put("/api/v1/vm/nosuch", data="{}").status_code == 404
    running(api)
    assert api.put("/api/v1/vm/run-vm", data="{nope").status_code == 400
    assert api.put("/api/v1/vm/run-vm", data="[]").status_code == 400
    assert api.put("/api/v1/vm/run-vm", data="{}").get_json() == {"ok": True}


def test_put_lifetime_needs_a_token_when_auth_is_on(auth_api):
    running(auth_api)
    assert auth_api.put("/api/v1/vm/run-vm", data='{"lifetime": 2}').status_code == 401
    # Tags stay open (beaker tags without a token).
    assert auth_api.put("/api/v1/vm/run-vm", data='{"tags": {"a": "b"}}').status_code == 200
    token = auth_api.token()
    reply = auth_api.put("/api/v1/vm/run-vm", data='{"lifetime": 2}', headers={"X-AUTH-TOKEN": token})
    assert reply.status_code == 200 and auth_api.vm("run-vm")["lifetime"] == "2"


def test_delete_returns_a_running_vm_once(make_api):
    api = make_api(config={"domain": "example.com"})
    running(api)
    assert api.delete("/api/v1/vm/run-vm.example.com").get_json() == {"ok": True}
    assert api.members("completed", "pool1") == {"run-vm"} and not api.members("running", "pool1")
    assert api.delete("/api/v1/vm/run-vm").status_code == 404
    api.add_vm("pool1", "ready-vm")
    assert api.delete("/api/v1/vm/ready-vm").status_code == 404
    assert api.members("ready", "pool1") == {"ready-vm"}


def test_delete_of_a_token_bound_vm_needs_a_token_even_without_auth(make_api):
    api = make_api()
    running(api, **{"token:token": "owner", "token:user": "bob"})
    assert api.delete("/api/v1/vm/run-vm").status_code == 401
    assert api.delete("/api/v1/vm/run-vm", headers={"X-AUTH-TOKEN": "forged"}).status_code == 401
    api.redis.hset(keys.token("carols"), mapping={"user": "carol", "created": CHECKOUT})
    assert api.delete("/api/v1/vm/run-vm", headers={"X-AUTH-TOKEN": "carols"}).status_code == 403
    assert api.members("running", "pool1") == {"run-vm"}
    # Any token of the owner will do, not only the one the VM was checked out with.
    api.redis.hset(keys.token("bobs2"), mapping={"user": "bob", "created": CHECKOUT})
    assert api.delete("/api/v1/vm/run-vm", headers={"X-AUTH-TOKEN": "bobs2"}).status_code == 200
    assert api.redis.hget(keys.token("bobs2"), "last")


def test_put_reports_every_problem_at_once(api):
    running(api)
    body = {"lifetime": -3, "tags": {"bad name!": "x", "ok": ["list"]}, "color": "red"}
    failures = api.put("/api/v1/vm/run-vm", data=json.dumps(body)).get_json()["failure"]
    assert "Unknown argument color." in failures
    assert any("lifetime (-3)" in line for line in failures)
    assert any("tag name 'bad name!'" in line for line in failures)
    assert any("tag 'ok' must be a string" in line for line in failures)


def test_absurd_lifetimes_are_refused_or_survived(api):
    running(api)
    assert api.put("/api/v1/vm/run-vm", data='{"lifetime": 99999999999999}').status_code == 400
    api.redis.hset(keys.vm("run-vm"), "lifetime", "9" * 40)  # written by something else
    assert api.get("/api/v1/vm/run-vm").status_code == 200
