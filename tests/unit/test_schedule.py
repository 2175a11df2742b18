"""The beat schedule is a pure function of the settings."""

from __future__ import annotations

from tests.helpers import make_settings
from vmpooler.tasks.schedule import TASK_QUEUES, build_beat_schedule


def test_beat_sends_one_tick_whatever_the_number_of_pools():
    pools = [{"name": f"p{n}", "size": 1, "provider": "dummy"} for n in range(1000)]
    schedule = build_beat_schedule(make_settings("redis://unused", pools=pools, config={"check_loop_delay_min": 3}))
    assert schedule["pool-tick"]["task"] == "vmpooler.pool.tick"
    assert schedule["pool-tick"]["schedule"] == 1.0
    assert schedule["pool-tick"]["options"]["queue"] == "pools"
    assert not [entry for entry in schedule.values() if entry["task"] == "vmpooler.pool.check"]
    assert not [name for name in schedule if name.startswith("purge")]


def test_purge_is_scheduled_for_providers_that_enable_it():
    settings = make_settings("redis://unused", pools=[{"name": "a", "size": 1, "provider": "dummy"}],
                             providers={"dummy": {"purge_unconfigured_resources": True}, "idle": {
                                 "provider_class": "dummy", "purge_unconfigured_resources": True}},
                             config={"purge_interval": 600})
    schedule = build_beat_schedule(settings)
    assert schedule["purge-provider-dummy"]["schedule"] == 600.0
    assert schedule["purge-provider-dummy"]["args"] == ("dummy",)
    # A provider no pool uses has nothing to compare against, so it is never purged.
    assert "purge-provider-idle" not in schedule


def test_task_queues_follow_the_design():
    assert TASK_QUEUES["vmpooler.vm.clone"] == "provision"
    assert TASK_QUEUES["vmpooler.vm.destroy"] == "provision"
    assert TASK_QUEUES["vmpooler.vm.snapshot"] == "vmops"
    assert TASK_QUEUES["vmpooler.pool.check"] == "pools"
