"""A refused request changes nothing, whatever route refuses it and why."""

from __future__ import annotations

import json

from tests.harness.api import basic
from tests.harness.snapshots import redis_state

CHECKOUT = "2026-01-10 08:00:00 +0000"


def test_every_refusing_route_leaves_redis_as_it_was(make_api):
    api = make_api(auth={"provider": "dummy"},
                   config={"admin_users": ["root"], "experimental_features": True, "max_lifetime_upper_limit": 48,
                           "failed_auth_rate_limit": None, "max_request_bytes": 4096})
    alice, bob = api.token("alice"), api.token("bob")
    api.add_vm("pool1", "ready-1")
    api.add_vm("pool2", "ready-2")
    assert api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": alice}).status_code == 200
    api.add_vm("pool1", "open-vm", state="running", checkout=CHECKOUT)
    assert api.post("/api/v1/ondemandvm", data=json.dumps({"pool1": 1, "request_id": "req-1"}),
                    headers={"X-AUTH-TOKEN": alice}).status_code == 201
    as_alice, as_bob = {"X-AUTH-TOKEN": alice}, {"X-AUTH-TOKEN": bob}
    refusals = [
        # (status, method, path, body, headers)
        (404, "post", "/api/v1/vm", {"pool1": 1, "nosuchpool": 1}, {}),
        (400, "post", "/api/v1/vm", {"pool1": 1, "pool2": "lots"}, {}),
        (400, "post", "/api/v1/vm", "[1, 2]", {}),
        (401, "post", "/api/v1/vm/pool1", None, {"X-AUTH-TOKEN": "nosuchtoken"}),
        (400, "put", "/api/v1/vm/ready-1", {"lifetime": 49}, as_alice),
        (400, "put", "/api/v1/vm/open-vm", {"lifetime": 2, "color": "red"}, as_alice),
        (401, "put", "/api/v1/vm/open-vm", {"lifetime": 2}, {}),
        (403, "put", "/api/v1/vm/ready-1", {"tags": {"a": "b"}}, as_bob),
        (404, "put", "/api/v1/vm/nosuchvm", {"tags": {"a": "b"}}, as_alice),
        (403, "delete", "/api/v1/vm/ready-1", None, as_bob),
        (404, "delete", "/api/v1/vm/ready-2", None, {}),
        (400, "post", "/api/v1/vm/ready-1/disk/0", None, as_alice),
        (400, "post", "/api/v1/vm/ready-1/disk/99999", None, as_alice),
        (403, "post", "/api/v1/vm/ready-1/disk/8", None, as_bob),
        (404, "post", "/api/v1/vm/ready-1/snapshot/nosuchsnap", None, as_alice),
        (403, "post", "/api/v1/vm/ready-1/snapshot", None, as_bob),
        (409, "post", "/api/v1/ondemandvm", {"pool1": 1, "request_id": "req-1"}, as_alice),
        (403, "post", "/api/v1/ondemandvm", {"pool1": 11}, as_alice),
        (404, "post", "/api/v1/ondemandvm", {"nosuchpool": 1}, as_alice),
        (401, "post", "/api/v1/ondemandvm", {"pool1": 1}, {}),
        (403, "delete", "/api/v1/ondemandvm/req-1", None, as_bob),
        (404, "delete", "/api/v1/ondemandvm/no-such-req", None, as_bob),
        (400, "delete", "/api/v1/ondemandvm/10:req-1", None, as_alice),
        (403, "post", "/api/v1/config/poolsize", {"pool1": 5}, as_alice),
        (400, "post", "/api/v1/config/poolsize", {"pool1": 5, "pool2": -1}, {"X-AUTH-TOKEN": api.token("root")}),
        (403, "delete", "/api/v1/token/" + alice, None, basic("bob", "pw")),
        (401, "delete", "/api/v1/token/" + "x" * 32, None, basic("bob", "pw")),
        (401, "post", "/api/v1/token", None, {}),
        (413, "post", "/api/v1/vm", {"pool1": 1, "pad": "x" * 5000}, {}),
    ]
    before = redis_state(api.redis)
    sent = len(api.dispatcher.sent)
    for status, method, path, body, headers in refusals:
        data = None if body is None else body if isinstance(body, str) else json.dumps(body)
        reply = getattr(api, method)(path, data=data, headers=headers)
        assert reply.status_code == status, (method, path, body, reply.status_code, reply.get_data(as_text=True))
        assert reply.is_json and reply.get_json()["ok"] is False, (method, path)
        assert redis_state(api.redis) == before, (method, path, body)
    assert len(api.dispatcher.sent) == sent
