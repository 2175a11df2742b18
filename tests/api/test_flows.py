"""End-to-end API flows through real HTTP with a real Celery worker."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.harness.pools import pool_config
from tests.helpers import wait_for
from vmpooler.domain.states import EXCLUSIVE_STATES, State

pytestmark = pytest.mark.integration

FAST = {"dummy": {"seed": 3}}


def test_beaker_style_flow_over_legacy_paths(pooler_factory, http):
    pooler = pooler_factory(pools=[{"name": "centos", "size": 1, "provider": "dummy", "template": "t/c"}],
                            providers=FAST, config={"domain": "example.com"})
    wait_for(lambda: pooler.count("ready", "centos") == 1, message="pool filled")
    base = pooler.base_url + "/"
    # beaker-vmpooler: a pooling_api with a trailing slash, JSON sent with a form content type.
    reply = http.post(base + "/vm/", data='{"centos":"1"}',
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    vm = body["centos"]["hostname"]
    assert body["domain"] == "example.com"
    assert http.put(base + f"vm/{vm}", data='{"tags": {"roles": "agent, master"}}').json() == {"ok": True}

    assert http.post(base + f"api/v1/vm/{vm}/disk/8").status_code == 202
    wait_for(lambda: http.get(base + f"vm/{vm}").json()[vm].get("disk") == ["+8gb"], message="disk attached")
    snap = http.post(pooler.url(f"/api/v1/vm/{vm}/snapshot")).json()[vm]["snapshot"]
    wait_for(lambda: snap in http.get(pooler.url(f"/api/v1/vm/{vm}")).json()[vm].get("snapshots", []),
             message="snapshot taken")
    assert http.post(pooler.url(f"/api/v1/vm/{vm}/snapshot/{snap}")).status_code == 202
    dummy = pooler.services.provider("dummy")
    assert dummy.get_vm(pool_config(dummy, "centos"), vm)["disks"] == [8]

    assert http.delete(base + f"vm/{vm}.example.com").json() == {"ok": True}
    wait_for(lambda: vm not in pooler.dummy_vms("centos"), message="returned VM destroyed")


def test_concurrent_checkouts_never_share_a_vm(pooler_factory):
    pool = "conc"
    pooler = pooler_factory(pools=[{"name": pool, "size": 10, "provider": "dummy", "template": "t/c"}],
                            providers=FAST, config={"task_limit": 10})
    wait_for(lambda: pooler.count("ready", pool) == 10, message="pool filled")
    lock = threading.Lock()
    held: set[str] = set()
    handed_out: list[str] = []
    problems: list[str] = []

    def client(_):
        session = requests.Session()
        done, deadline = 0, time.monotonic() + 60
        while done < 2 and time.monotonic() < deadline:
            reply = session.post(pooler.url(f"/api/v1/vm/{pool}"))
            if reply.status_code == 503:
                time.sleep(0.02)
                continue
            if reply.status_code != 200:
                problems.append(f"checkout {reply.status_code} {reply.text}")
                return
            vm = reply.json()[pool]["hostname"]
            with lock:
                if vm in held:
                    problems.append(f"{vm} handed to two clients")
                held.add(vm)
                handed_out.append(vm)
            with lock:
                held.discard(vm)
            reply = session.delete(pooler.url(f"/api/v1/vm/{vm}"))
            if reply.status_code != 200:
                problems.append(f"return of {vm}: {reply.status_code} {reply.text}")
            done += 1
        if done < 2:
            problems.append("a client did not finish in time")

    with ThreadPoolExecutor(max_workers=50) as executor:
        list(executor.map(client, range(50)))
    assert not problems, problems[:5]
    assert len(handed_out) == 100
    # A returned VM is destroyed, so no name may ever be handed out twice.
    assert len(set(handed_out)) == 100

    wait_for(lambda: pooler.count("ready", pool) == 10 and not pooler.members("completed", pool)
             and not pooler.members("pending", pool), timeout=60, message="pool refilled and returns destroyed")
    members = {state: pooler.members(state.value, pool) for state in EXCLUSIVE_STATES}
    every = [vm for vms in members.values() for vm in vms]
    assert len(every) == len(set(every)), "a VM is in two state sets"
    assert not members[State.RUNNING]
    assert pooler.dummy_vms(pool) == set(every), "provider inventory and state sets disagree"
    assert not set(handed_out) & pooler.dummy_vms(pool)
