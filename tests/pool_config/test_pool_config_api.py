"""Live pool configuration through the HTTP API and a real worker."""

from __future__ import annotations

import threading

from tests.harness.service import running_pooler
from tests.helpers import make_settings, wait_for
from vmpooler.lifecycle.pool_config import changes as pool_config

POOL = {"name": "deb", "size": 2, "provider": "dummy", "template": "t/deb-1"}
FAST = {"dummy": {"seed": 2, "createvm_max_time": 0.1}}
EXPERIMENTAL = {"experimental_features": True}
# A change wakes its pool at once; the next scheduled pass of these pools is 30 s or more away.
WOKEN_WITHIN = 10


def settled(pooler, pool, size):
    return (pooler.count("ready", pool) == size and pooler.count("pending", pool) == 0
            and pooler.count("completed", pool) == 0)


def templates_of(pooler, pool):
    """The template each VM the dummy holds for ``pool`` was cloned from."""
    state = pooler.services.provider("dummy").state
    return {vm: state.get(pool, vm)["vm_template"] for vm in state.names(pool)}


def test_writes_need_experimental_features_but_the_config_is_readable(config_pooler, http):
    pooler = config_pooler([POOL], providers=FAST)
    for method, path, body in (("post", "/api/v1/config/poolsize", '{"deb": 3}'),
                               ("post", "/api/v1/config/pooltemplate", '{"deb": "t/x"}'),
                               ("post", "/api/v1/config/clonetarget", '{"deb": "c"}'),
                               ("delete", "/api/v1/config/poolsize/deb", None),
                               ("delete", "/api/v1/config/pooltemplate/deb", None),
                               ("post", "/api/v1/poolreset", '{"deb": 1}')):
        reply = getattr(http, method)(pooler.url(path), data=body)
        assert (reply.status_code, reply.json()) == (405, {"ok": False}), path
    assert not pooler.redis.exists("vmpooler__config__poolsize", "vmpooler__poolreset")
    wait_for(lambda: http.get(pooler.url("/api/v1/config")).json()["pool_configuration"][0]["template_ready"],
             message="template prepared")
    body = http.get(pooler.url("/api/v1/config")).json()
    assert body["status"] == {"ok": True}
    shown = body["pool_configuration"][0]
    assert {k: shown[k] for k in ("name", "size", "template", "provider", "ready_ttl")} == {
        "name": "deb", "size": 2, "template": "t/deb-1", "provider": "dummy", "ready_ttl": 60}


def test_pool_size_changes_apply_at_once_and_undo_restores_the_configured_size(config_pooler, http):
    # A long check delay: only the wake-up of the change can explain a prompt reaction.
    pooler = config_pooler([{**POOL, "check_loop_delay_min": 30, "check_loop_delay_max": 60}],
                           providers=FAST, config=EXPERIMENTAL)
    wait_for(lambda: settled(pooler, "deb", 2), message="pool filled")
    # A pass that saw the full pool set the next one 30 s or more away.
    wait_for(lambda: pooler.store.check_state("deb").get("ready") == "2", message="full pool's pass recorded")
    reply = http.post(pooler.url("/api/v1/config/poolsize"), data='{"deb": "4"}')
    assert (reply.status_code, reply.json()) == (201, {"ok": True})
    assert pooler.redis.hget("vmpooler__config__poolsize", "deb") == "4"
    # Well under the 30 s delay of the next scheduled pass, and generous for a loaded CI.
    wait_for(lambda: pooler.count("pending", "deb") + pooler.count("ready", "deb") == 4, timeout=WOKEN_WITHIN,
             message="clones started by the wake-up, not by the next scheduled pass")
    wait_for(lambda: settled(pooler, "deb", 4), message="grown to 4")
    assert http.post(pooler.url("/api/v1/config/poolsize"), data='{"deb": 4}').status_code == 200

    assert http.post(pooler.url("/api/v1/config/poolsize"), data='{"deb": 1}').status_code == 201
    wait_for(lambda: pooler.count("ready", "deb") == 1, timeout=WOKEN_WITHIN, message="surplus removed by the wake-up")
    wait_for(lambda: len(pooler.dummy_vms("deb")) == 1, message="surplus destroyed")
    assert http.get(pooler.url("/api/v1/config")).json()["pool_configuration"][0]["size"] == 1

    reply = http.delete(pooler.url("/api/v1/config/poolsize/deb"))
    assert (reply.status_code, reply.json()) == (201, {"ok": True, "pool_size_before_reset": 1,
                                                      "pool_size_before_overrides": 2})
    assert not pooler.redis.hexists("vmpooler__config__poolsize", "deb")
    wait_for(lambda: settled(pooler, "deb", 2), timeout=3, message="back to the configured size")
    assert not pooler.redis.sismember("vmpooler__pool__undo_size_override", "deb")
    assert http.delete(pooler.url("/api/v1/config/poolsize/deb")).status_code == 200
    assert http.delete(pooler.url("/api/v1/config/poolsize/nope")).status_code == 404


def test_bad_input_is_a_400_that_changes_nothing(config_pooler, http):
    pooler = config_pooler([POOL], providers=FAST, config=EXPERIMENTAL)
    cases = {
        "/api/v1/config/poolsize": [('{"deb": -1}', {"ok": False, "not_configured": ["deb"]}),
                                    ('{"deb": "five"}', {"ok": False, "not_configured": ["deb"]}),
                                    ('{"deb": 3, "nope": 1}', {"ok": False, "not_configured": ["nope"]}),
                                    ('{"deb": true}', {"ok": False, "not_configured": ["deb"]})],
        "/api/v1/config/pooltemplate": [('{"deb": "notapath"}', {"ok": False, "bad_templates": ["deb"]}),
                                        ('{"deb": "/abs/path"}', {"ok": False, "bad_templates": ["deb"]}),
                                        ('{"deb": 7}', {"ok": False, "bad_templates": ["deb"]})],
        "/api/v1/config/clonetarget": [('{"nope": "c1"}', {"ok": False, "bad_templates": ["nope"]}),
                                       ('{"deb": ""}', {"ok": False, "bad_templates": ["deb"]})],
        "/api/v1/poolreset": [('{"nope": 1}', {"ok": False, "bad_pools": ["nope"]})],
    }
    for path, attempts in cases.items():
        for body, answer in attempts:
            reply = http.post(pooler.url(path), data=body)
            assert (reply.status_code, reply.json()) == (400, answer), (path, body)
        for body in ("{nope", "", "[1, 2]", '"deb"'):
            assert http.post(pooler.url(path), data=body).status_code == 400, (path, body)
        assert http.post(pooler.url(path), data="null").status_code == 404
    assert not pooler.redis.exists("vmpooler__config__poolsize", "vmpooler__config__template",
                                   "vmpooler__config__clone_target", "vmpooler__poolreset")


def test_template_change_while_cloning_drains_prepares_and_refills(config_pooler, http):
    pooler = config_pooler([{**POOL, "size": 3}], config={**EXPERIMENTAL, "create_template_delta_disks": True},
                           providers={"dummy": {"seed": 2, "createvm_max_time": 0.4}})
    # Clones take up to 0.4 s and start one after another: at least one is under way.
    wait_for(lambda: pooler.count("pending", "deb") >= 1, message="clones under way")
    old = set(templates_of(pooler, "deb"))
    reply = http.post(pooler.url("/api/v1/config/pooltemplate"), data='{"deb": "t/deb-2"}')
    assert (reply.status_code, reply.json()) == (201, {"ok": True})
    assert pooler.redis.hget("vmpooler__config__template", "deb") == "t/deb-2"

    def new_template_ready():
        shown = http.get(pooler.url("/api/v1/config")).json()["pool_configuration"][0]
        return shown["template"] == "t/deb-2" and shown["template_ready"]

    wait_for(new_template_ready, timeout=5, message="template_ready")
    assert pooler.redis.sismember("vmpooler__template__deltas", "t/deb-2")
    wait_for(lambda: settled(pooler, "deb", 3) and set(templates_of(pooler, "deb")) ==
             pooler.members("ready", "deb"), timeout=20, message="refilled, old VMs destroyed")
    assert set(templates_of(pooler, "deb").values()) == {"t/deb-2"}
    assert not old & pooler.members("ready", "deb")

    reply = http.delete(pooler.url("/api/v1/config/pooltemplate/deb"))
    assert (reply.status_code, reply.json()) == (201, {"ok": True, "template_before_reset": "t/deb-2",
                                                      "template_before_overrides": "t/deb-1"})
    wait_for(lambda: settled(pooler, "deb", 3) and set(templates_of(pooler, "deb").values()) == {"t/deb-1"},
             timeout=20, message="back on the configured template")
    assert pooler.redis.hget("vmpooler__template__prepared", "deb") == "t/deb-1"


def test_poolreset_and_clone_target_replace_every_ready_vm(config_pooler, http):
    pooler = config_pooler([POOL], providers=FAST, config=EXPERIMENTAL)
    wait_for(lambda: settled(pooler, "deb", 2), message="pool filled")
    before = pooler.members("ready", "deb")
    reply = http.post(pooler.url("/api/v1/poolreset"), data='{"deb": "yes"}')
    assert (reply.status_code, reply.json()) == (201, {"ok": True})
    wait_for(lambda: settled(pooler, "deb", 2) and not before & pooler.members("ready", "deb"), timeout=10,
             message="reset pool refilled with new VMs")
    assert not pooler.redis.sismember("vmpooler__poolreset", "deb")

    before = pooler.members("ready", "deb")
    assert http.post(pooler.url("/api/v1/config/clonetarget"), data='{"deb": "cluster-2"}').status_code == 201
    assert http.post(pooler.url("/api/v1/config/clonetarget"), data='{"deb": "cluster-2"}').status_code == 200
    wait_for(lambda: settled(pooler, "deb", 2) and not before & pooler.members("ready", "deb"), timeout=10,
             message="pool moved to the new clone target")
    shown = http.get(pooler.url("/api/v1/config")).json()["pool_configuration"][0]
    assert shown["clone_target"] == "cluster-2"


def test_only_admin_users_may_change_the_configuration(config_pooler, http):
    pooler = config_pooler([POOL], providers=FAST, config={**EXPERIMENTAL, "admin_users": ["root"]},
                           auth={"provider": "dummy"})
    url = pooler.url("/api/v1/config/poolsize")
    assert http.post(url, data='{"deb": 3}').status_code == 401
    alice = http.post(pooler.url("/api/v1/token"), auth=("alice", "pw")).json()["token"]
    root = http.post(pooler.url("/api/v1/token"), auth=("root", "pw")).json()["token"]
    assert http.post(url, data='{"deb": 3}', headers={"X-AUTH-TOKEN": alice}).status_code == 403
    assert not pooler.redis.exists("vmpooler__config__poolsize")
    assert http.post(url, data='{"deb": 3}', headers={"X-AUTH-TOKEN": root}).status_code == 201


def test_resize_up_and_down_under_checkout_load(config_pooler, http):
    pooler = config_pooler([{**POOL, "size": 3}], providers=FAST, config={**EXPERIMENTAL, "task_limit": 4})
    wait_for(lambda: settled(pooler, "deb", 3), message="pool filled")
    taken, stop = [], threading.Event()

    def checkouts():
        while not stop.is_set():
            reply = http.post(pooler.url("/api/v1/vm/deb"))
            if reply.status_code == 200:
                taken.append(reply.json()["deb"]["hostname"])
            stop.wait(0.05)

    worker = threading.Thread(target=checkouts)
    worker.start()
    try:
        for size in (8, 2, 6, 1):
            before = len(taken)
            assert http.post(pooler.url("/api/v1/config/poolsize"), data=f'{{"deb": {size}}}').status_code == 201
            wait_for(lambda: not pooler.store.pool_config.woken("deb"), message=f"size {size} taken up by a pass")
            # Checkouts go on at every size (a pass can take a size up before the next one is made).
            wait_for(lambda before=before: len(taken) > before, message=f"a checkout at size {size}")
    finally:
        stop.set()
        worker.join()
    wait_for(lambda: settled(pooler, "deb", 1), timeout=20, message="settled at the last size")
    # Checked-out VMs were never taken back by a resize, and no VM is in two sets.
    assert pooler.members("running", "deb") == set(taken)
    everything = [vm for state in ("pending", "ready", "running", "completed", "discovered")
                  for vm in pooler.members(state, "deb")]
    assert len(everything) == len(set(everything))


def test_overrides_survive_a_restart(redis_url, redis_client, http):
    settings = make_settings(redis_url, pools=[POOL], providers=FAST, config=EXPERIMENTAL)
    with running_pooler(settings) as pooler:
        assert http.post(pooler.url("/api/v1/config/poolsize"), data='{"deb": 3}').status_code == 201
        assert http.post(pooler.url("/api/v1/config/pooltemplate"), data='{"deb": "t/deb-9"}').status_code == 201
        wait_for(lambda: settled(pooler, "deb", 3), message="grown before the restart")
    with running_pooler(settings) as pooler:
        shown = http.get(pooler.url("/api/v1/config")).json()["pool_configuration"][0]
        assert (shown["size"], shown["template"], shown["template_ready"]) == (3, "t/deb-9", True)
        assert http.post(pooler.url("/api/v1/vm/deb")).status_code == 200
        wait_for(lambda: settled(pooler, "deb", 3), message="refilled to the override after the restart")
        assert set(templates_of(pooler, "deb").values()) == {"t/deb-9"}


def test_a_change_waits_for_another_change_of_the_same_pool(make_api, monkeypatch):
    monkeypatch.setattr(pool_config, "LOCK_WAIT_SECONDS", 0.2)
    api = make_api(pools=[POOL], config=EXPERIMENTAL)
    other = api.app.extensions["vmpooler"]["services"].store.pool_config.config_lease("deb", 10)
    assert other.acquire()  # another API process is changing the pool
    try:
        reply = api.post("/api/v1/config/poolsize", data='{"deb": 5}')
        assert reply.status_code == 503 and "in progress" in reply.get_json()["error"]
        assert not api.redis.exists("vmpooler__config__poolsize")
    finally:
        other.release()
    assert api.post("/api/v1/config/poolsize", data='{"deb": 5}').status_code == 201
    assert api.redis.hget("vmpooler__config__poolsize", "deb") == "5"
    assert api.dispatcher.of("check") == [("deb",)]
