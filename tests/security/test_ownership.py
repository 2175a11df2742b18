"""A VM or on-demand request checked out with a token is its owner's (or an admin's)."""

from __future__ import annotations

import json

import pytest

from tests.harness.api import basic
from tests.harness.snapshots import redis_state
from vmpooler.store import keys


@pytest.fixture
def owned(make_api):
    """alice checked out a VM with her token; bob has a token; root is an admin."""
    api = make_api(auth={"provider": "dummy"}, config={"admin_users": ["root"]})
    alice, alice2, bob, root = api.token("alice"), api.token("alice"), api.token("bob"), api.token("root")
    api.add_vm("pool1", "vm-a")
    reply = api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": alice})
    assert reply.get_json()["pool1"]["hostname"] == "vm-a"
    api.redis.hset(keys.vm("vm-a"), "snapshot:snap1", "2026-01-01 00:00:00 +0000")
    return api, {"alice": alice, "alice2": alice2, "bob": bob, "root": root}


CHANGES = [
    ("put", "/api/v1/vm/vm-a", {"lifetime": 48}),
    ("put", "/api/v1/vm/vm-a", {"tags": {"owner": "bob"}}),
    ("post", "/api/v1/vm/vm-a/disk/8", None),
    ("post", "/api/v1/vm/vm-a/snapshot", None),
    ("post", "/api/v1/vm/vm-a/snapshot/snap1", None),
    ("delete", "/api/v1/vm/vm-a", None),
]


@pytest.mark.parametrize("method,path,body", CHANGES)
def test_another_users_token_is_403_and_changes_nothing(owned, method, path, body):
    api, tokens = owned
    before = redis_state(api.redis)
    data = None if body is None else json.dumps(body)
    reply = getattr(api, method)(path, data=data, headers={"X-AUTH-TOKEN": tokens["bob"]})
    assert reply.status_code == 403 and reply.get_json()["ok"] is False
    assert "another user" in reply.get_json()["error"]
    assert redis_state(api.redis) == before
    assert not [name for name, _ in api.dispatcher.sent if name in ("create_disk", "snapshot", "revert_snapshot")]
    # Without a token it is a 401; nothing changes either.
    assert getattr(api, method)(path, data=data).status_code == 401
    assert redis_state(api.redis) == before


@pytest.mark.parametrize("who", ["alice", "alice2", "root"])
@pytest.mark.parametrize("method,path,body", CHANGES)
def test_the_owner_with_any_of_her_tokens_or_an_admin_may(owned, who, method, path, body):
    api, tokens = owned
    data = None if body is None else json.dumps(body)
    reply = getattr(api, method)(path, data=data, headers={"X-AUTH-TOKEN": tokens[who]})
    assert reply.status_code in (200, 202), reply.get_json()


def test_vms_checked_out_without_a_token_stay_open(make_api):
    api = make_api(auth={"provider": "dummy"})
    bob = api.token("bob")
    api.add_vm("pool1", "vm-open")
    assert api.post("/api/v1/vm/pool1").status_code == 200
    assert api.put("/api/v1/vm/vm-open", data=json.dumps({"tags": {"a": "b"}})).status_code == 200
    assert api.put("/api/v1/vm/vm-open", data=json.dumps({"lifetime": 3}),
                   headers={"X-AUTH-TOKEN": bob}).status_code == 200
    assert api.delete("/api/v1/vm/vm-open").status_code == 200


def test_an_ondemand_request_is_its_owners(make_api):
    api = make_api(auth={"provider": "dummy"}, config={"admin_users": ["root"]})
    alice, bob, root = api.token("alice"), api.token("bob"), api.token("root")
    for request_id, deleter in (("req-a", alice), ("req-b", root)):
        reply = api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": request_id}),
                         headers={"X-AUTH-TOKEN": alice})
        assert reply.status_code == 201
        before = redis_state(api.redis)
        reply = api.delete(f"/api/v1/ondemandvm/{request_id}", headers={"X-AUTH-TOKEN": bob})
        assert reply.status_code == 403 and reply.get_json()["ok"] is False
        assert redis_state(api.redis) == before
        assert api.delete(f"/api/v1/ondemandvm/{request_id}", headers={"X-AUTH-TOKEN": deleter}).status_code == 200
        assert api.redis.hget(keys.odrequest(request_id), "status") == "deleted"


def test_tokens_are_deleted_by_their_owner_or_an_admin_only(make_api):
    api = make_api(auth={"provider": "dummy"}, config={"admin_users": ["root"]})
    mine, other = api.token("alice"), api.token("alice")
    before = redis_state(api.redis)
    reply = api.delete(f"/api/v1/token/{mine}", headers=basic("bob", "pw"))
    assert reply.status_code == 403 and reply.get_json()["ok"] is False
    assert redis_state(api.redis) == before
    assert api.delete(f"/api/v1/token/{mine}", headers=basic("alice", "pw")).get_json() == {"ok": True}
    assert api.delete(f"/api/v1/token/{other}", headers=basic("root", "pw")).get_json() == {"ok": True}
    assert not api.redis.keys(keys.TOKEN_PATTERN)
    reply = api.delete(f"/api/v1/token/{mine}", headers=basic("alice", "pw"))
    assert reply.status_code == 401 and reply.get_json()["ok"] is False


def test_vmfloaty_flow_with_the_checkout_token_keeps_working(owned):
    """vmfloaty: get with a token, modify with it (form content type), snapshot, then delete with it."""
    api, tokens = owned
    headers = {"X-AUTH-TOKEN": tokens["alice"]}
    body = json.dumps({"lifetime": 4, "tags": {"jenkins_build_url": "https://ci/job/1"}})
    assert api.put("/vm/vm-a", data=body, headers=headers, content_type="application/x-www-form-urlencoded"
                   ).get_json() == {"ok": True}
    assert api.post("/vm/vm-a/snapshot", headers=headers).status_code == 202
    assert api.get(f"/token/{tokens['alice']}").get_json()[tokens["alice"]]["vms"] == {"running": ["vm-a"]}
    assert api.delete("/vm/vm-a", headers=headers).get_json() == {"ok": True}
    assert api.members("completed", "pool1") == {"vm-a"}
