"""Migration at checkout (``migration_limit``), end to end with the dummy's migrate_vm."""

from __future__ import annotations

from tests.helpers import wait_for

POOLS = [{"name": "deb", "size": 2, "provider": "dummy", "template": "t/deb"}]


def host_of(pooler, vm):
    return pooler.services.provider("dummy").state.get("deb", vm)["vm_host"]


def test_checked_out_vm_moves_to_another_host(pooler_factory, http, redis_client):
    # Places a killed worker left taken are freed at start (as 1.3.0 does), or nothing could migrate.
    redis_client.sadd("vmpooler__migration", "stale-1", "stale-2")
    pooler = pooler_factory(pools=POOLS, config={"migration_limit": 2},
                            providers={"dummy": {"seed": 1, "migratevm_couldmove_percent": 100}})
    wait_for(lambda: pooler.count("ready", "deb") == 2, message="pool filled")
    vm = http.post(pooler.url("/api/v1/vm/deb")).json()["deb"]["hostname"]
    wait_for(lambda: pooler.redis.hget(f"vmpooler__vm__{vm}", "migrated") == "true", timeout=10,
             message="VM migrated")
    fields = pooler.redis.hgetall(f"vmpooler__vm__{vm}")
    assert fields["host"] == host_of(pooler, vm) != "HOST1"
    assert float(fields["migration_time"]) >= 0 and float(fields["checkout_to_migration"]) >= 0
    assert not pooler.members("migrating", "deb")
    assert not pooler.redis.smembers("vmpooler__migration")
    assert vm in pooler.members("running", "deb")
    details = http.get(pooler.url(f"/api/v1/vm/{vm}")).json()[vm]
    assert details["host"] == fields["host"] and details["migrated"] == "true"


def test_no_migration_once_the_limit_is_reached(pooler_factory, http):
    pooler = pooler_factory(pools=POOLS, config={"migration_limit": 1},
                            providers={"dummy": {"seed": 1, "migratevm_couldmove_percent": 100}})
    wait_for(lambda: pooler.count("ready", "deb") == 2, message="pool filled")
    pooler.redis.sadd("vmpooler__migration", "someone-else")
    vm = http.post(pooler.url("/api/v1/vm/deb")).json()["deb"]["hostname"]
    wait_for(lambda: not pooler.members("migrating", "deb"), message="migration evaluated")
    wait_for(lambda: pooler.redis.hget(f"vmpooler__vm__{vm}", "host"), message="host recorded")
    assert pooler.redis.hget(f"vmpooler__vm__{vm}", "host") == "HOST1" == host_of(pooler, vm)
    assert not pooler.redis.hexists(f"vmpooler__vm__{vm}", "migrated")
    assert pooler.redis.smembers("vmpooler__migration") == {"someone-else"}


def test_without_a_limit_no_migration_task_runs(pooler_factory, http):
    pooler = pooler_factory(pools=POOLS, providers={"dummy": {"seed": 1, "migratevm_couldmove_percent": 100}})
    wait_for(lambda: pooler.count("ready", "deb") == 2, message="pool filled")
    vm = http.post(pooler.url("/api/v1/vm/deb")).json()["deb"]["hostname"]
    # The next check forgets the checkout's migration listing instead of queueing a migration task.
    wait_for(lambda: not pooler.members("migrating", "deb"), message="migration listing cleared")
    assert not pooler.redis.hexists(f"vmpooler__vm__{vm}", "migrated")
    assert not pooler.redis.hexists(f"vmpooler__vm__{vm}", "host")
    assert host_of(pooler, vm) == "HOST1"
