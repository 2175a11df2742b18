"""Client strings that could reach a Redis key name are refused with a 400 JSON and write nothing."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest

from tests.harness.api import basic
from tests.harness.snapshots import redis_state
from vmpooler.api.state import context
from vmpooler.lifecycle.ondemand.requests import process
from vmpooler.store import keys

# Strings a client may put where a pool, alias, VM, request or token name goes.
HOSTILE = ["a__b", "pool1__x", "*", "pool*", "p?ol", "[ab]", "a b", "a\nb", "_a", "a:b", "\u00b2", "a\\b"]
HOSTILE_IDS = HOSTILE + ["token", "ready", "Token", "vm", "10:abc", "x" * 101, "a,b", "a.b__c", "-x", "a_b"]


def _segment(value: str) -> str:
    return quote(value, safe="")


def _assert_refused(reply, status: int = 400):
    assert reply.status_code == status, (reply.status_code, reply.get_data(as_text=True))
    assert reply.is_json and reply.get_json()["ok"] is False


def _world(api) -> None:
    """Some state a hostile request could damage: VMs, a token and an on-demand request."""
    api.add_vm("pool1", "ready-vm")
    api.add_vm("pool1", "run-vm", state="running", checkout="2026-01-10 08:00:00 +0000")
    api.redis.hset(keys.token("sometoken"), mapping={"user": "alice", "created": "x"})


def test_hostile_names_in_every_route_are_400_and_write_nothing(make_api):
    api = make_api(config={"experimental_features": True})
    _world(api)
    reply = api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": "real-request"}))
    assert reply.status_code == 201
    before = redis_state(api.redis)
    for value in HOSTILE:
        segment = _segment(value)
        for method, path, body in [
            ("post", "/api/v1/vm", {value: 1}),
            ("post", f"/api/v1/vm/{segment}", None),
            ("post", f"/api/v1/vm/pool1+{segment}", None),
            ("get", f"/api/v1/vm/{segment}", None),
            ("put", f"/api/v1/vm/{segment}", {"lifetime": 2}),
            ("delete", f"/api/v1/vm/{segment}", None),
            ("post", f"/api/v1/vm/{segment}/disk/10", None),
            ("post", f"/api/v1/vm/{segment}/snapshot", None),
            ("post", f"/api/v1/vm/{segment}/snapshot/abc", None),
            ("post", "/api/v1/ondemandvm", {value: 1}),
            ("post", f"/api/v1/ondemandvm/{segment}", None),
            ("delete", f"/api/v1/config/poolsize/{segment}", None),
            ("delete", f"/api/v1/config/pooltemplate/{segment}", None),
            ("post", "/api/v1/config/poolsize", {value: 1}),
            ("post", "/api/v1/poolreset", {value: 1}),
        ]:
            data = None if body is None else json.dumps(body)
            reply = getattr(api, method)(path, data=data)
            assert reply.status_code == 400, (method, path, body, reply.status_code, reply.get_data(as_text=True))
            assert reply.get_json()["ok"] is False
    # Tag names are hash fields (``tag:<name>``), not key names: '_' and ':' are fine, the rest is not.
    for value in ["*", "[ab]", "a b", "a\nb", "\u00b2", "a/b", "", "x" * 101]:
        reply = api.put("/api/v1/vm/run-vm", data=json.dumps({"tags": {value: "x"}}))
        assert reply.status_code == 400, (value, reply.get_json())
    assert redis_state(api.redis) == before
    assert not api.dispatcher.sent or all(name == "ondemand" for name, _ in api.dispatcher.sent)


@pytest.mark.parametrize("request_id", HOSTILE_IDS)
def test_hostile_request_ids_are_400_and_write_nothing(api, request_id):
    _world(api)
    api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 2, "request_id": "abc"}))
    before = redis_state(api.redis)
    _assert_refused(api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": request_id})))
    if "/" not in request_id:
        _assert_refused(api.get(f"/api/v1/ondemandvm/{_segment(request_id)}"))
        _assert_refused(api.delete(f"/api/v1/ondemandvm/{_segment(request_id)}"))
    assert redis_state(api.redis) == before
    assert api.get("/api/v1/token").status_code == 404  # no auth here: GET /token never breaks


def test_generated_and_safe_client_request_ids_are_accepted(api):
    created = api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1})).get_json()
    assert uuid.UUID(created["request_id"])
    assert api.get(f"/api/v1/ondemandvm/{created['request_id']}").status_code == 202
    for request_id in ["build-42", "Job.7", "x" * 100, str(uuid.uuid4()).upper()]:
        reply = api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": request_id}))
        assert reply.status_code == 201, reply.get_json()
        assert api.redis.exists(keys.odrequest(request_id))


def test_refused_delete_of_a_crafted_id_keeps_the_real_requests_clones(make_api):
    """Earlier, DELETE /ondemandvm/10:abc answered 404 and removed the queued clones of request 'abc'."""
    api = make_api(config={"ondemand_clone_limit": 1})
    api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 10, "request_id": "abc"}))
    with api.app.app_context():
        process(context())
    tasks = api.redis.zrange(keys.ODCREATE_TASK, 0, -1)
    assert tasks and all(task.endswith(":abc") for task in tasks)
    before = redis_state(api.redis)
    _assert_refused(api.delete("/api/v1/ondemandvm/10:abc"))
    _assert_refused(api.delete("/api/v1/ondemandvm/pool1:10:abc"))
    assert redis_state(api.redis) == before


def test_a_request_named_token_cannot_break_the_token_routes(auth_api):
    token = auth_api.token("alice")
    reply = auth_api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": "token"}),
                          headers={"X-AUTH-TOKEN": token})
    _assert_refused(reply)
    assert auth_api.get("/api/v1/token", headers=basic("alice", "pw")).status_code == 200


def test_hostile_token_values_are_refused(make_api):
    auth_api = make_api(auth={"provider": "dummy"}, config={"failed_auth_rate_limit": None})
    token = auth_api.token("alice")
    auth_api.add_vm("pool1", "ready-vm")
    before = redis_state(auth_api.redis)
    for value in HOSTILE:
        if "/" in value:
            continue
        _assert_refused(auth_api.get(f"/api/v1/token/{_segment(value)}"))
        _assert_refused(auth_api.delete(f"/api/v1/token/{_segment(value)}", headers=basic("alice", "pw")))
        # A malformed X-AUTH-TOKEN is simply not a valid token.
        _assert_refused(auth_api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": value.replace("\n", "")}), 401)
    assert redis_state(auth_api.redis) == before
    assert auth_api.get(f"/api/v1/token/{token}").status_code == 200


def test_the_key_builders_refusal_is_a_400_should_validation_miss_a_name(api, monkeypatch):
    from vmpooler.api import validation
    monkeypatch.setattr(validation, "valid_request_id", lambda value: True)
    before = redis_state(api.redis)
    _assert_refused(api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": "a__b"})))
    assert redis_state(api.redis) == before


@pytest.mark.parametrize("section,value", [
    ("pools", [{"name": "p__1", "size": 1, "provider": "dummy"}]),
    ("pools", [{"name": "_p", "size": 1, "provider": "dummy"}]),
    ("pools", [{"name": "p", "alias": ["a*"], "size": 1, "provider": "dummy"}]),
    ("pools", [{"name": "p", "alias": "x__y", "size": 1, "provider": "dummy"}]),
    ("providers", {"my__dummy": {"provider_class": "dummy"}}),
    ("config", {"prefix": "ci__"}),
    ("config", {"prefix": "ci "}),
])
def test_configured_names_that_would_break_keys_are_configuration_errors(redis_url, section, value):
    from tests.helpers import make_settings
    from vmpooler.settings import ConfigError
    # A prefix is held to the stricter rule of host names (it starts every VM name).
    with pytest.raises(ConfigError, match="single '_'" if section != "config" else "must be valid host names"):
        make_settings(redis_url, **{section: value})
