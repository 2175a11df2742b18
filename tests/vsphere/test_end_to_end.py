"""A vSphere pool through the whole service: a real Celery worker fills it from the
simulator, a client checks a VM out over HTTP, the VM migrates off a busy host,
gets a disk and snapshots, is returned and destroyed, and the pool refills."""

from __future__ import annotations

import pytest
import requests

from tests.harness.pools import pool_config
from tests.harness.service import running_pooler
from tests.helpers import make_settings, wait_for

pytestmark = [pytest.mark.vsphere, pytest.mark.integration]


def snapshot_tree(admin, vm) -> tuple[list[str], str | None]:
    """Snapshot names, and the name of the current one."""
    info = admin.read(vm, "snapshot").get("snapshot")
    if info is None:
        return [], None
    names, current, stack = [], None, list(info.rootSnapshotList)
    while stack:
        node = stack.pop()
        names.append(node.name)
        if node.snapshot._moId == info.currentSnapshot._moId:
            current = node.name
        stack.extend(node.childSnapshotList or [])
    return sorted(names), current


def test_vsphere_pool_end_to_end(redis_url, redis_client, vcsim, admin, tcp_listener, unique):
    pool = f"e2e-{unique}"
    folder = f"DC0/vm/vmpooler/{pool}"
    settings = make_settings(
        redis_url,
        pools=[{"name": pool, "size": 2, "provider": "vsphere", "template": "Templates/centos-7",
                "folder": f"vmpooler/{pool}", "datastore": "LocalDS_0", "datacenter": "DC0",
                "clone_target": "DC0_C0"}],
        providers={"vsphere": vcsim.provider_options(ready_check_port=tcp_listener.port,
                                                     skip_dns_check_before_creating_vm=True)},
        config={"create_folders": True, "migration_limit": 2})
    every_vm_is_local = {"vsphere": {"resolver": lambda name: "127.0.0.1"}}

    with running_pooler(settings, concurrency=4, provider_extras=every_vm_is_local) as pooler, requests.Session() as http:
        wait_for(lambda: pooler.count("ready", pool) == 2, timeout=60, message="pool filled from vSphere")
        provider = pooler.services.provider("vsphere")
        assert set(provider.vms_in_pool(pool_config(provider, pool))) == pooler.members("ready", pool)

        # vcsim puts clones on their template's host; make that host busy so a checkout migrates.
        first = sorted(pooler.members("ready", pool))[0]
        crowded = admin.host_name_of(admin.find(f"{folder}/{first}"))
        vcsim.set_host(crowded, mem=3800)

        reply = http.post(pooler.url(f"/api/v1/vm/{pool}"))
        assert reply.status_code == 200
        vm = reply.json()[pool]["hostname"]
        vm_object = admin.find(f"{folder}/{vm}")
        wait_for(lambda: pooler.redis.hget(f"vmpooler__vm__{vm}", "migrated") == "true", timeout=30,
                 message="checked-out VM migrated")
        new_host = pooler.redis.hget(f"vmpooler__vm__{vm}", "host")
        assert new_host != crowded
        assert admin.host_name_of(vm_object) == new_host

        devices_before = len(admin.read(vm_object, "config.hardware.device")["config.hardware.device"])
        assert http.post(pooler.url(f"/api/v1/vm/{vm}/disk/3")).status_code == 202
        wait_for(lambda: "+3gb" in (pooler.redis.hget(f"vmpooler__vm__{vm}", "disk") or ""), timeout=30,
                 message="disk recorded")
        devices = admin.read(vm_object, "config.hardware.device")["config.hardware.device"]
        assert len(devices) == devices_before + 1
        assert any(getattr(d, "capacityInKB", 0) == 3 * 1024 * 1024 for d in devices)

        taken = []
        for _ in range(2):
            reply = http.post(pooler.url(f"/api/v1/vm/{vm}/snapshot"))
            assert reply.status_code == 202
            taken.append(reply.json()[vm]["snapshot"])
            wait_for(lambda: pooler.redis.hget(f"vmpooler__vm__{vm}", f"snapshot:{taken[-1]}"), timeout=30,
                     message="snapshot recorded")
        assert snapshot_tree(admin, vm_object) == (sorted(taken), taken[1])
        assert http.post(pooler.url(f"/api/v1/vm/{vm}/snapshot/{taken[0]}")).status_code == 202
        wait_for(lambda: snapshot_tree(admin, vm_object)[1] == taken[0], timeout=30, message="snapshot reverted")

        assert http.delete(pooler.url(f"/api/v1/vm/{vm}")).json() == {"ok": True}
        wait_for(lambda: admin.find(f"{folder}/{vm}") is None, timeout=30, message="returned VM destroyed")
        resolved = pool_config(provider, pool)
        wait_for(lambda: pooler.count("ready", pool) == 2 and vm not in provider.vms_in_pool(resolved), timeout=60,
                 message="pool refilled")
