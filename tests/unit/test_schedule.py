"""The beat schedule is a pure function of the settings."""

from __future__ import annotations

from tests.helpers import make_settings
from vmpooler.tasks.schedule import TASK_QUEUES, build_beat_schedule


def test_one_check_per_pool_at_its_minimum_delay():
    settings = make_settings("redis://unused", pools=[
        {"name": "a", "size": 1, "provider": "dummy"},
        {"name": "b", "size": 1, "provider": "dummy", "check_loop_delay_min": 7},
    ], config={"check_loop_delay_min": 3})
    schedule = build_beat_schedule(settings)
    assert schedule["check-pool-a"]["task"] == "vmpooler.pool.check"
    assert schedule["check-pool-a"]["args"] == ("a",)
    assert schedule["check-pool-a"]["schedule"] == 3.0
    assert schedule["check-pool-b"]["schedule"] == 7.0
    assert schedule["check-pool-b"]["options"]["queue"] == "pools"
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
