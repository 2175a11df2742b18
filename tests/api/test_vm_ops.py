"""Disk and snapshot requests (API side) and the worker functions that run them."""

from __future__ import annotations

import logging

import pytest

from tests.harness.pools import pool_config
from vmpooler.lifecycle.vms import vm_ops
from vmpooler.store import keys


def test_disk_request_is_queued_with_vm_and_size(api):
    api.add_vm("pool1", "a0", state="running")
    reply = api.post("/api/v1/vm/a0/disk/8")
    assert reply.status_code == 202
    assert reply.get_json() == {"ok": True, "a0": {"disk": "+8gb"}}
    assert api.dispatcher.of("create_disk") == [("a0", "8")]


@pytest.mark.parametrize("size", ["0", "abc", "4096", "-1"])
def test_bad_disk_sizes_are_400(api, size):
    api.add_vm("pool1", "a0", state="running")
    assert api.post(f"/api/v1/vm/a0/disk/{size}").status_code == 400
    assert not api.dispatcher.of("create_disk")


def test_snapshot_and_revert(api):
    api.add_vm("pool1", "a0", state="running")
    reply = api.post("/api/v1/vm/a0/snapshot/")
    assert reply.status_code == 202
    name = reply.get_json()["a0"]["snapshot"]
    assert len(name) == 32 and api.dispatcher.of("snapshot") == [("a0", name)]
    assert api.post(f"/api/v1/vm/a0/snapshot/{name}").status_code == 404  # not taken yet
    api.redis.hset(keys.vm("a0"), f"snapshot:{name}", "2026-01-10 08:00:00 +0000")
    assert api.post(f"/vm/a0/snapshot/{name}").status_code == 202
    assert api.dispatcher.of("revert_snapshot") == [("a0", name)]


def test_unknown_vm_404_and_token_needed_with_auth(auth_api):
    assert auth_api.post("/api/v1/vm/nosuch/snapshot").status_code == 401
    token = auth_api.token()
    headers = {"X-AUTH-TOKEN": token}
    assert auth_api.post("/api/v1/vm/nosuch/snapshot", headers=headers).status_code == 404
    assert auth_api.post("/api/v1/vm/nosuch/disk/8", headers=headers).status_code == 404
    auth_api.add_vm("pool1", "a0", state="running")
    assert auth_api.post("/api/v1/vm/a0/disk/8", headers=headers).status_code == 202


@pytest.fixture
def live_vm(ctx, services):
    provider = services.provider("dummy")
    provider.create_vm(pool_config(provider, "pool1"), "live-vm")
    ctx.store.set_vm_fields("live-vm", {"template": "pool1"})
    return provider


def test_create_disk_records_and_logs(ctx, live_vm, caplog):
    caplog.set_level(logging.INFO, logger="vmpooler")
    assert vm_ops.create_disk(ctx, "live-vm", "8")
    assert vm_ops.create_disk(ctx, "live-vm", 16)
    assert ctx.store.vm("live-vm")["disk"] == "+8gb:+16gb"
    assert live_vm.get_vm(pool_config(live_vm, "pool1"), "live-vm")["disks"] == [8, 16]
    assert "[+] [disk_manager] 'live-vm' attached 8gb disk in" in caplog.text
    assert not vm_ops.create_disk(ctx, "live-vm", "0")
    assert "Invalid disk size of '0' passed" in caplog.text


def test_snapshot_and_revert_against_the_provider(ctx, live_vm, caplog):
    caplog.set_level(logging.INFO, logger="vmpooler")
    assert vm_ops.create_snapshot(ctx, "live-vm", "snap1")
    assert ctx.store.vm("live-vm")["snapshot:snap1"]
    assert vm_ops.revert_snapshot(ctx, "live-vm", "snap1")
    assert "'live-vm' reverted to snapshot 'snap1' in" in caplog.text
    assert not vm_ops.revert_snapshot(ctx, "live-vm", "never-taken")
    assert "Failed to revert live-vm' in pool pool1 to snapshot 'never-taken'" in caplog.text


def test_vm_without_pool_or_gone_from_the_provider(ctx, caplog):
    caplog.set_level(logging.INFO, logger="vmpooler")
    assert not vm_ops.create_snapshot(ctx, "ghost", "s")
    assert "Unable to determine which pool ghost is a member of" in caplog.text
    ctx.store.set_vm_fields("ghost", {"template": "pool1"})
    assert not vm_ops.create_disk(ctx, "ghost", "8")
    assert "disk creation appears to have failed" in caplog.text
    assert "disk" not in ctx.store.vm("ghost")
