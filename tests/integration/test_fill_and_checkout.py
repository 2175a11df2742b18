"""A config of two pools fills to size; a checkout is replaced; a returned VM is destroyed."""

from __future__ import annotations

from tests.helpers import wait_for

POOLS = [
    {"name": "debian", "size": 3, "provider": "dummy", "template": "t/debian", "alias": ["deb"]},
    {"name": "centos", "size": 2, "provider": "dummy", "template": "t/centos"},
]


def test_pools_fill_checkout_is_replaced_and_return_is_destroyed(pooler_factory, http):
    pooler = pooler_factory(pools=POOLS, providers={"dummy": {"seed": 7, "createvm_max_time": 0.2}})
    wait_for(lambda: pooler.count("ready", "debian") == 3 and pooler.count("ready", "centos") == 2,
             message="both pools at size")

    status = http.get(pooler.url("/api/v1/status")).json()
    assert status["capacity"] == {"current": 5, "total": 5, "percent": 100.0}
    assert status["status"]["ok"] is True
    assert status["pools"]["debian"]["alias"] == ["deb"]

    reply = http.post(pooler.url("/api/v1/vm/deb+centos"))
    assert reply.status_code == 200
    body = reply.json()
    debian_vm, centos_vm = body["deb"]["hostname"], body["centos"]["hostname"]
    assert pooler.members("running", "debian") == {debian_vm}
    assert pooler.redis.hget(f"vmpooler__vm__{debian_vm}", "checkout")
    assert pooler.redis.hexists("vmpooler__active__debian", debian_vm)

    # The checked-out VMs are replaced.
    wait_for(lambda: pooler.count("ready", "debian") == 3 and pooler.count("ready", "centos") == 2,
             message="pools refilled after the checkout")

    assert http.delete(pooler.url(f"/api/v1/vm/{debian_vm}")).json() == {"ok": True}
    wait_for(lambda: debian_vm not in pooler.dummy_vms("debian"), message="returned VM destroyed")
    wait_for(lambda: not pooler.members("completed", "debian"), message="completed set emptied")
    assert pooler.redis.hget(f"vmpooler__vm__{debian_vm}", "destroy")
    assert pooler.redis.ttl(f"vmpooler__vm__{debian_vm}") > 0
    # A VM that is not running cannot be returned again.
    assert http.delete(pooler.url(f"/api/v1/vm/{debian_vm}")).status_code == 404
    assert centos_vm in pooler.members("running", "centos")


def test_empty_pool_answers_503_and_takes_nothing(pooler_factory, http):
    pooler = pooler_factory(pools=[{"name": "tiny", "size": 1, "provider": "dummy", "template": "t/tiny"}],
                            ticker=False)
    wait_for(lambda: pooler.count("ready", "tiny") == 1, message="pool filled")
    reply = http.post(pooler.url("/api/v1/vm/tiny+tiny"))
    assert reply.status_code == 503
    assert reply.json()["ok"] is False and "tiny" in reply.json()["error"]
    assert pooler.count("ready", "tiny") == 1
    assert pooler.count("running", "tiny") == 0
    assert http.post(pooler.url("/api/v1/vm/nosuchpool")).status_code == 404
