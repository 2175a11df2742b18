"""Token endpoints and the HTTP Basic / token checks."""

from __future__ import annotations

import re

from freezegun import freeze_time

from tests.harness.api import basic
from vmpooler.store import keys


def test_without_auth_token_routes_are_404(api):
    for method, path in (("get", "/api/v1/token"), ("post", "/api/v1/token"), ("get", "/api/v1/token/x"),
                         ("delete", "/api/v1/token/x")):
        reply = getattr(api, method)(path, headers=basic("a", "b"))
        assert reply.status_code == 404 and reply.get_json()["ok"] is False


def test_create_list_show_and_delete(auth_api, redis_client):
    with freeze_time("2026-01-10 08:00:00", tz_offset=0):
        token = auth_api.token("alice")
    assert re.fullmatch(r"[a-y][a-z0-9]{31}", token)
    assert redis_client.hgetall(keys.token(token)) == {"user": "alice", "created": "2026-01-10 08:00:00 +0000"}

    listed = auth_api.get("/token", headers=basic("alice", "pw")).get_json()
    assert listed == {"ok": True, token: {"created": "2026-01-10 08:00:00 +0000", "last": "never"}}
    assert auth_api.get("/api/v1/token", headers=basic("nobody", "pw")).status_code == 404

    auth_api.add_vm("pool1", "mine", state="running", **{"token:token": token})
    auth_api.add_vm("pool1", "theirs", state="running", **{"token:token": "other"})
    shown = auth_api.get(f"/api/v1/token/{token}").get_json()
    assert shown["ok"] is True
    assert shown[token]["user"] == "alice" and shown[token]["vms"] == {"running": ["mine"]}

    assert auth_api.delete(f"/api/v1/token/{token}").status_code == 401
    assert auth_api.delete(f"/api/v1/token/{token}", headers=basic("eve", "pw")).status_code == 403
    assert redis_client.exists(keys.token(token))
    assert auth_api.delete(f"/api/v1/token/{token}", headers=basic("alice", "pw")).get_json() == {"ok": True}
    assert not redis_client.exists(keys.token(token))
    # As vmpooler 1.3.0: deleting an unknown token is a 401.
    assert auth_api.delete(f"/api/v1/token/{token}", headers=basic("alice", "pw")).status_code == 401
    assert auth_api.get(f"/api/v1/token/{token}").status_code == 404


def test_basic_auth_failures_are_401_with_a_challenge(auth_api):
    for headers in ({}, basic("same", "same"), {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"},
                    {"Authorization": "Basic " + "bm9jb2xvbg=="}):
        reply = auth_api.post("/api/v1/token", headers=headers)
        assert reply.status_code == 401
        assert reply.headers["WWW-Authenticate"] == 'Basic realm="Authentication required"'
        assert reply.get_json()["error"]


def test_using_a_token_records_last(auth_api, redis_client):
    token = auth_api.token()
    auth_api.add_vm("pool1", "a0")
    with freeze_time("2026-02-01 00:00:00", tz_offset=0):
        auth_api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": token})
    assert redis_client.hget(keys.token(token), "last") == "2026-02-01 00:00:00 +0000"
