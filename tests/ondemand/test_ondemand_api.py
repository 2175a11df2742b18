"""On-demand requests end to end: HTTP API, a real worker, the dummy provider."""

from __future__ import annotations

import threading

from tests.helpers import wait_for

POOLS = [
    {"name": "deb", "size": 1, "provider": "dummy", "template": "t/deb", "alias": ["linux"]},
    {"name": "cent", "size": 0, "provider": "dummy", "template": "t/cent", "alias": "linux"},
]
FAST = {"dummy": {"seed": 3, "createvm_max_time": 0.2}}


def test_request_is_filled_and_its_vms_run_for_it(ondemand_pooler, http):
    pooler = ondemand_pooler(POOLS, providers=FAST, config={"domain": "example.com"})
    reply = http.post(pooler.url("/api/v1/ondemandvm"), data='{"linux": 2, "cent": "1", "request_id": "req-1"}')
    assert reply.status_code == 201
    assert reply.json() == {"ok": True, "request_id": "req-1", "domain": "example.com"}

    first = http.get(pooler.url("/api/v1/ondemandvm/req-1"))
    if first.status_code == 202:
        body = first.json()
        assert body["ok"] is True and body["ready"] is False
        assert int(body["linux"]["ready"]) + int(body["linux"]["pending"]) == 2
        assert isinstance(body["cent"]["pending"], str)

    done = wait_for(lambda: (r := http.get(pooler.url("/api/v1/ondemandvm/req-1"))).status_code == 200 and r,
                    timeout=20, message="request ready")
    body = done.json()
    assert body["ready"] is True and body["domain"] == "example.com"
    linux, cent = body["linux"]["hostname"], body["cent"]["hostname"]
    assert len(linux) == 2 and len(cent) == 1 and isinstance(cent, list)
    running = pooler.members("running", "deb") | pooler.members("running", "cent")
    assert set(linux + cent) <= running
    for vm in linux + cent:
        assert pooler.redis.hget(f"vmpooler__vm__{vm}", "request_id") == "req-1"
        assert pooler.redis.hget(f"vmpooler__vm__{vm}", "checkout")
    # On-demand VMs never pass through ready, and the pool keeps its own ready VM.
    wait_for(lambda: pooler.count("ready", "deb") == 1, message="deb refilled to its size")
    assert not set(linux + cent) & (pooler.members("ready", "deb") | pooler.members("ready", "cent"))
    assert pooler.redis.ttl("vmpooler__odrequest__req-1") > 0

    # v3 answers with FQDNs and no domain key.
    v3 = http.get(pooler.url("/api/v3/ondemandvm/req-1")).json()
    assert "domain" not in v3 and all(name.endswith(".example.com") for name in v3["linux"]["hostname"])

    # Returning the request returns its VMs, which are destroyed.
    assert http.delete(pooler.url("/api/v1/ondemandvm/req-1")).json() == {"ok": True}
    wait_for(lambda: not set(cent) & pooler.dummy_vms("cent"), message="the request's VMs destroyed")
    assert not set(linux + cent) & (pooler.members("running", "deb") | pooler.members("running", "cent"))
    gone = http.get(pooler.url("/api/v1/ondemandvm/req-1"))
    assert gone.status_code == 200
    assert gone.json() == {"ok": True, "request_id": "req-1", "ready": False,
                           "message": "The request has been deleted"}
    again = http.delete(pooler.url("/api/v1/ondemandvm/req-1"))
    assert again.json() == {"ok": True, "message": "the request has already been deleted"}


def test_request_errors_change_nothing(ondemand_pooler, http):
    pooler = ondemand_pooler(POOLS, config={"max_ondemand_instances_per_request": 3})
    post = lambda body: http.post(pooler.url("/api/v1/ondemandvm"), data=body)  # noqa: E731
    reply = post('{"deb": 4}')
    assert reply.status_code == 403
    assert reply.json() == {"ok": False, "message": "requested amount of instances exceeds the maximum 3"}
    reply = post('{"deb": 1, "nope": 1}')
    assert reply.status_code == 404 and reply.json() == {"ok": False, "bad_templates": ["nope"]}
    reply = post("{not json")
    assert reply.status_code == 400 and reply.json() == {"ok": False, "message": "JSON payload could not be parsed"}
    assert post("null").status_code == 404
    for bad in ('[1]', '{"deb": "lots"}', '{"deb": 0}', '{"deb": 1, "request_id": "a:b"}'):
        assert post(bad).status_code == 400, bad
    assert http.post(pooler.url("/api/v1/ondemandvm/deb+nope")).json() == {"ok": False, "bad_templates": ["nope"]}
    assert http.post(pooler.url("/api/v1/ondemandvm/deb+deb+deb+deb")).status_code == 403
    assert pooler.redis.zcard("vmpooler__provisioning__request") == 0
    assert not pooler.redis.keys("vmpooler__odrequest__*")

    assert post('{"deb": 1, "request_id": "dup"}').status_code == 201
    reply = post('{"cent": 1, "request_id": "dup"}')
    assert reply.status_code == 409
    assert reply.json() == {"ok": False, "request_id": "dup", "message": "request_id 'dup' has already been created"}
    assert pooler.redis.hget("vmpooler__odrequest__dup", "requested") == "deb:deb:1"
    missing = http.get(pooler.url("/api/v1/ondemandvm/unknown"))
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "message": "no request found for request_id 'unknown'"}
    assert http.delete(pooler.url("/api/v1/ondemandvm/unknown")).status_code == 404

    spec = http.post(pooler.url("/api/v1/ondemandvm/linux+linux+deb"))
    assert spec.status_code == 201
    request_id = spec.json()["request_id"]
    requested = pooler.redis.hget(f"vmpooler__odrequest__{request_id}", "requested").split(",")
    assert sum(int(entry.split(":")[2]) for entry in requested if entry.startswith("linux:")) == 2
    assert any(entry.startswith("deb:deb:") for entry in requested)


def test_clones_stay_within_the_fleet_wide_ondemand_clone_limit(ondemand_pooler, http):
    pooler = ondemand_pooler([{"name": "deb", "size": 0, "provider": "dummy", "template": "t/deb"}],
                             config={"ondemand_clone_limit": 2},
                             providers={"dummy": {"seed": 4, "createvm_max_time": 0.3}})
    peak = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak.append(pooler.redis.zcard("vmpooler__tasks__ondemandclone__slots"))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        assert http.post(pooler.url("/api/v1/ondemandvm"), data='{"deb": 5, "request_id": "big"}').status_code == 201
        wait_for(lambda: http.get(pooler.url("/api/v1/ondemandvm/big")).status_code == 200, timeout=30,
                 message="five VMs through two slots")
    finally:
        stop.set()
        sampler.join()
    assert max(peak) == 2
    assert len(http.get(pooler.url("/api/v1/ondemandvm/big")).json()["deb"]["hostname"]) == 5


def test_a_clone_that_keeps_failing_fails_the_request(ondemand_pooler, http):
    pooler = ondemand_pooler([{"name": "deb", "size": 0, "provider": "dummy", "template": "t/deb"}],
                             config={"max_vm_retries": 1},
                             providers={"dummy": {"seed": 1, "createvm_fail_percent": 100}})
    assert http.post(pooler.url("/api/v1/ondemandvm"), data='{"deb": 1, "request_id": "bad"}').status_code == 201
    reply = wait_for(lambda: (r := http.get(pooler.url("/api/v1/ondemandvm/bad"))).status_code == 200 and r,
                     timeout=20, message="request failed")
    body = reply.json()
    assert body["ready"] is False and "failed 2 times" in body["failure_reason"]
    assert body["message"].startswith("The request failed to provision instances")
    request = pooler.redis.hgetall("vmpooler__odrequest__bad")
    assert request["status"] == "failed" and request["retry_count"] == "2"
    # Nothing is retried any more.
    assert pooler.redis.zcard("vmpooler__odcreate__task") == 0
    assert pooler.count("pending", "deb") == 0


def test_request_not_filled_within_its_ttl_fails(ondemand_pooler, http):
    pooler = ondemand_pooler([{"name": "deb", "size": 0, "provider": "dummy", "template": "t/deb"}],
                             providers={"dummy": {"seed": 1, "vmready_fail_percent": 100}})
    assert http.post(pooler.url("/api/v1/ondemandvm"), data='{"deb": 1, "request_id": "slow"}').status_code == 201
    wait_for(lambda: pooler.redis.zscore("vmpooler__provisioning__processing", "slow"), message="request expanded")
    # Pretend it was received six minutes ago: the next beat tick fails it.
    pooler.redis.zincrby("vmpooler__provisioning__processing", -360, "slow")
    reply = wait_for(lambda: (r := http.get(pooler.url("/api/v1/ondemandvm/slow"))).status_code == 200 and r,
                     timeout=10, message="request failed")
    assert reply.json() == {"ok": True, "request_id": "slow", "ready": False,
                            "message": "The request failed to provision instances within the configured "
                                       "ondemand_request_ttl '5'"}


def test_with_auth_a_token_is_required_and_binds_the_vms(ondemand_pooler, http):
    pooler = ondemand_pooler([{"name": "deb", "size": 0, "provider": "dummy", "template": "t/deb"}],
                             config={"vm_lifetime_auth": 2}, auth={"provider": "dummy"})
    url = pooler.url("/api/v1/ondemandvm")
    assert http.post(url, data='{"deb": 1}').status_code == 401
    assert http.post(url, data='{"deb": 1}', headers={"X-AUTH-TOKEN": "forged"}).status_code == 401
    token = http.post(pooler.url("/api/v1/token"), auth=("alice", "secret")).json()["token"]
    reply = http.post(url, data='{"deb": 1, "request_id": "mine"}', headers={"X-AUTH-TOKEN": token})
    assert reply.status_code == 201
    assert pooler.redis.hget("vmpooler__odrequest__mine", "token:user") == "alice"
    wait_for(lambda: http.get(pooler.url("/api/v1/ondemandvm/mine")).status_code == 200, message="ready")
    vm = http.get(pooler.url("/api/v1/ondemandvm/mine")).json()["deb"]["hostname"][0]
    assert pooler.redis.hmget(f"vmpooler__vm__{vm}", "token:token", "token:user", "lifetime") == [token, "alice", "2"]
    assert http.delete(pooler.url("/api/v1/ondemandvm/mine")).status_code == 401
    assert http.delete(pooler.url("/api/v1/ondemandvm/mine"), headers={"X-AUTH-TOKEN": token}).status_code == 200
