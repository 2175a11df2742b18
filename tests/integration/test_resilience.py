"""Failures, duplicate work and a worker killed mid-task leave the state consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import yaml

from tests.harness.service import Ticker, running_pooler
from tests.helpers import make_settings, wait_for
from vmpooler.bootstrap import Services
from vmpooler.domain.states import State
from vmpooler.tasks.app import create_celery

EXCLUSIVE = ("pending", "ready", "running", "completed", "discovered")


def placements(redis_client, pool: str) -> dict[str, list[str]]:
    """Every VM of the pool's state sets -> the sets it is in."""
    where: dict[str, list[str]] = {}
    for state in EXCLUSIVE:
        for vm in redis_client.smembers(f"vmpooler__{state}__{pool}"):
            where.setdefault(vm, []).append(state)
    return where


def consistent(pooler, pool: str, size: int) -> bool:
    where = placements(pooler.redis, pool)
    held = pooler.dummy_vms(pool)
    return (all(len(states) == 1 for states in where.values())
            and held <= set(where)
            and pooler.count("ready", pool) == size
            and pooler.count("pending", pool) == 0
            and pooler.count("completed", pool) == 0
            and pooler.redis.get("vmpooler__tasks__clone") in (None, "0"))


def test_pools_reach_size_despite_clone_and_ready_failures(pooler_factory):
    pools = [{"name": "flaky", "size": 12, "provider": "dummy", "template": "t/flaky"},
             {"name": "shaky", "size": 8, "provider": "dummy", "template": "t/shaky"}]
    pooler = pooler_factory(pools=pools, http=False, config={"task_limit": 6},
                            providers={"dummy": {"seed": 5, "createvm_fail_percent": 30,
                                                 "vmready_fail_percent": 20, "createvm_max_time": 0.1}})
    wait_for(lambda: consistent(pooler, "flaky", 12) and consistent(pooler, "shaky", 8), timeout=120,
             message="both pools at size with every VM in exactly one state set")
    # Failed clones keep an expiring hash (their names stay reserved): the failures really happened.
    failed = [key for key in pooler.redis.keys("vmpooler__vm__*") if pooler.redis.ttl(key) > 0]
    assert failed
    assert not {key.rsplit("__", 1)[1] for key in failed} & (pooler.dummy_vms("flaky") | pooler.dummy_vms("shaky"))


def test_duplicate_checks_never_clone_past_size(pooler_factory):
    pools = [{"name": "dup", "size": 5, "provider": "dummy", "template": "t/dup"}]
    pooler = pooler_factory(pools=pools, http=False, config={"task_limit": 20},
                            providers={"dummy": {"seed": 2, "createvm_max_time": 0.3}})
    peak = 0
    # A second "beat" plus explicit repopulates race the first ticker.
    with Ticker(pooler.app, ["dup"], interval=0.05), Ticker(pooler.app, ["dup"], interval=0.07):
        def observe():
            nonlocal peak
            counts = pooler.store.counts(["dup"], (State.READY, State.PENDING))["dup"]
            peak = max(peak, counts[State.READY] + counts[State.PENDING])
            return counts[State.READY] == 5
        wait_for(observe, timeout=60, interval=0.01, message="pool filled")
    assert peak == 5
    assert len(pooler.dummy_vms("dup")) == 5
    assert len(pooler.redis.keys("vmpooler__vm__*")) == 5  # exactly five clones were ever started


def worker_process(settings_yaml: str) -> subprocess.Popen:
    env = dict(os.environ, VMPOOLER_CONFIG=settings_yaml, VMPOOLER_DEBUG="1")
    env.pop("VMPOOLER_CONFIG_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "vmpooler.worker", "worker", "-Q", "pools,provision,vmops",
         "-c", "8", "-l", "WARNING"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_worker_killed_mid_clone_and_destroy_loses_nothing(redis_url, redis_client):
    raw = {
        "config": {"task_limit": 6, "check_loop_delay_min": 1, "check_loop_delay_max": 2},
        "redis": {"url": redis_url},
        # Tasks the killed worker had taken are delivered again after this many seconds.
        "celery": {"visibility_timeout": 4},
        # One connection per worker thread: the dummy's default of one would serialise the test's threads.
        "providers": {"dummy": {"seed": 9, "createvm_max_time": 3, "destroyvm_max_time": 3,
                                "connection_pool_size": 8}},
        "pools": [{"name": "victim", "size": 6, "provider": "dummy", "template": "t/victim"}],
    }
    settings = make_settings(redis_url, pools=raw["pools"], config=raw["config"], providers=raw["providers"],
                             celery=raw["celery"])
    client = Services(settings)
    sender = create_celery(client)
    store = client.store
    victim = worker_process(yaml.safe_dump(raw))
    try:
        with Ticker(sender, ["victim"], interval=0.25):
            wait_for(lambda: store.counts(["victim"])["victim"][State.READY] == 6, timeout=60,
                     message="first worker filled the pool")
            for _ in range(4):
                store.complete_running("victim", store.checkout("victim"))
            # Replacement clones and destroys are now running in the first worker.
            wait_for(lambda: int(redis_client.get("vmpooler__tasks__clone") or 0) > 0
                     and _destroying(redis_client), timeout=30, interval=0.02,
                     message="clones and destroys in flight")
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            assert int(redis_client.get("vmpooler__tasks__clone")) > 0
    finally:
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
    with running_pooler(settings, http=False) as pooler:
        try:
            wait_for(lambda: consistent(pooler, "victim", 6), timeout=120, interval=0.2,
                     message="state consistent after the new worker's checks")
        except AssertionError:
            print("DEBUG", placements(pooler.redis, "victim"), pooler.dummy_vms("victim"),
                  pooler.redis.get("vmpooler__tasks__clone"), pooler.redis.zrange("vmpooler__tasks__clone__slots", 0, -1),
                  {k: pooler.redis.get(k) for k in pooler.redis.keys("vmpooler__lock__*")})
            raise
        assert len(pooler.dummy_vms("victim")) == 6




def _destroying(redis_client) -> bool:
    """Some completed VM is locked by a running destroy (not just queued)."""
    for vm in redis_client.smembers("vmpooler__completed__victim"):
        value = redis_client.get(f"vmpooler__lock__vm__{vm}")
        if value and value != "queued":
            return True
    return False
