"""Checking VMs out: POST /vm and POST /vm/<pool+pool>."""

from __future__ import annotations

import json

import pytest

from tests.harness.pools import pool_config
from vmpooler.store import keys


def test_json_body_checkout_hands_out_oldest_first_and_records_it(make_api):
    api = make_api(config={"domain": "example.com"})
    api.add_vm("pool1", "young-vm", age=10)
    api.add_vm("pool1", "old-vm", age=100)
    api.add_vm("pool2", "p2-vm")
    reply = api.post("/api/v1/vm", data=json.dumps({"pool1": "1", "pool2": 1}))
    assert reply.status_code == 200
    assert reply.get_json() == {"ok": True, "pool1": {"hostname": "old-vm"}, "pool2": {"hostname": "p2-vm"},
                                "domain": "example.com"}
    assert list(reply.get_json()) == ["ok", "pool1", "pool2", "domain"]
    assert api.members("running", "pool1") == {"old-vm"}
    assert api.members("ready", "pool1") == {"young-vm"}
    assert api.members("migrating", "pool1") == {"old-vm"}
    assert api.redis.hget(keys.active("pool1"), "old-vm")
    assert api.vm("old-vm")["checkout"]
    assert ("pool1",) in api.dispatcher.of("repopulate")
    assert api.dispatcher.of("migrate") == []  # no migration_limit: no migration task


def test_path_spec_counts_repeats_and_returns_arrays(api):
    for n in range(3):
        api.add_vm("pool1", f"a{n}", age=n)
    api.add_vm("pool2", "b0")
    reply = api.post("/api/v1/vm/pool1+pool1+pool2")
    assert reply.status_code == 200
    body = reply.get_json()
    assert sorted(body["pool1"]["hostname"]) == ["a1", "a2"]
    assert body["pool2"] == {"hostname": "b0"}
    assert "domain" not in body
    assert api.members("ready", "pool1") == {"a0"}


def test_json_sent_as_a_form_is_read_as_json(api):
    api.add_vm("pool2", "b0")
    reply = api.post("/vm/", data='{"pool2":"1"}', content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 200
    assert reply.get_json()["pool2"] == {"hostname": "b0"}


def test_not_enough_vms_is_503_and_everything_goes_back(make_api):
    api = make_api(config={"vm_lifetime_auth": 6}, auth={"provider": "dummy"})
    token = api.token()
    api.add_vm("pool1", "a0")
    api.add_vm("pool1", "a1")
    api.add_vm("pool2", "b0")
    reply = api.post("/api/v1/vm", data=json.dumps({"pool1": 2, "pool2": 2}), headers={"X-AUTH-TOKEN": token})
    assert reply.status_code == 503
    assert reply.get_json()["ok"] is False and "pool2" in reply.get_json()["error"]
    assert api.members("ready", "pool1") == {"a0", "a1"} and api.members("ready", "pool2") == {"b0"}
    for pool in ("pool1", "pool2"):
        assert not api.members("running", pool) and not api.members("migrating", pool)
        assert not api.redis.hgetall(keys.active(pool))
    for vm in ("a0", "a1", "b0"):
        fields = api.vm(vm)
        assert not {"checkout", "token:token", "token:user", "lifetime"} & set(fields), fields
    assert api.redis.zcard(keys.ready_order("pool1")) == 2


def test_empty_pool_is_503_and_unknown_pool_is_404_changing_nothing(api):
    api.add_vm("pool1", "a0")
    assert api.post("/api/v1/vm/pool2").status_code == 503
    reply = api.post("/api/v1/vm/pool1+nosuch")
    assert reply.status_code == 404
    assert "nosuch" in reply.get_json()["error"]
    assert api.post("/api/v1/vm", data='{"pool1": 1, "other": 1}').status_code == 404
    assert api.members("ready", "pool1") == {"a0"}


@pytest.mark.parametrize("body", ['', 'not json', '[1]', '"pool1"', 'null', '{"pool1": -1}', '{"pool1": "abc"}',
                                  '{"pool1": "8abc"}', '{"pool1": 101}', '{"pool1": true}', '{"pool1": 1.5}',
                                  '{"pool1": {"a": 1}}'])
def test_bad_bodies_are_400_and_take_nothing(api, body):
    api.add_vm("pool1", "a0")
    reply = api.post("/api/v1/vm", data=body)
    assert reply.status_code == 400
    assert reply.get_json()["ok"] is False and reply.get_json()["error"]
    assert api.members("ready", "pool1") == {"a0"}


def test_zero_counts_and_empty_object_check_out_nothing(make_api):
    api = make_api(config={"domain": "example.com"})
    api.add_vm("pool1", "a0")
    assert api.post("/api/v1/vm", data="{}").get_json() == {"ok": True, "domain": "example.com"}
    assert api.post("/api/v1/vm", data='{"pool1": 0}').get_json() == {"ok": True, "domain": "example.com"}
    assert api.members("ready", "pool1") == {"a0"}


def test_too_many_in_a_spec_is_400(api):
    assert api.post("/api/v1/vm/" + "+".join(["pool1"] * 101)).status_code == 400


def test_alias_prefers_weighted_backend_and_falls_back(make_api):
    pools = [{"name": "big", "size": 1, "provider": "dummy", "clone_target": "c1", "alias": ["any"]},
             {"name": "small", "size": 1, "provider": "dummy", "clone_target": "c2", "alias": ["any"]}]
    api = make_api(pools=pools, config={"backend_weight": {"c1": 1, "c2": 0}})
    for n in range(5):
        api.add_vm("big", f"big{n}")
        api.add_vm("small", f"small{n}")
    for _ in range(5):
        body = api.post("/api/v1/vm/any").get_json()
        assert body["any"]["hostname"].startswith("big")
    assert api.post("/api/v1/vm/any").get_json()["any"]["hostname"].startswith("small")


def test_token_binds_vm_and_sets_auth_lifetime(make_api):
    api = make_api(config={"vm_lifetime_auth": 4}, auth={"provider": "dummy"})
    token = api.token("bob")
    api.add_vm("pool1", "a0")
    reply = api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": token})
    assert reply.status_code == 200
    fields = api.vm("a0")
    assert (fields["token:token"], fields["token:user"], fields["lifetime"]) == (token, "bob", "4")


def test_invalid_token_is_401_and_takes_nothing(auth_api):
    auth_api.add_vm("pool1", "a0")
    reply = auth_api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": "nope"})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="Authentication required"'
    assert auth_api.members("ready", "pool1") == {"a0"}
    # Without auth configured a token header is ignored.


def test_token_ignored_without_auth(api):
    api.add_vm("pool1", "a0")
    assert api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": "whatever"}).status_code == 200
    assert "token:token" not in api.vm("a0")


def test_v3_answers_fqdns_without_domain_key(make_api):
    api = make_api(config={"domain": "example.com"})
    api.add_vm("pool1", "a0")
    api.add_vm("pool1", "a1", age=5)
    body = api.post("/api/v3/vm/poolone+poolone").get_json()
    assert body == {"ok": True, "poolone": {"hostname": ["a1.example.com", "a0.example.com"]}}


def test_probe_at_checkout_sends_unresponsive_vms_to_completed(make_api):
    api = make_api(config={"check_ready_vm_on_checkout": True})
    provider = api.app.extensions["vmpooler"]["services"].provider("dummy")
    api.add_vm("pool1", "gone-vm", age=100)  # the provider does not know it
    provider.create_vm(pool_config(provider, "pool1"), "live-vm")
    api.add_vm("pool1", "live-vm", age=1)
    body = api.post("/api/v1/vm/pool1").get_json()
    assert body["pool1"] == {"hostname": "live-vm"}
    assert api.members("completed", "pool1") == {"gone-vm"}
    assert api.members("running", "pool1") == {"live-vm"}
