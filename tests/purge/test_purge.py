"""Purging what no pool configures, end to end through a real worker and the dummy provider."""

from __future__ import annotations

from tests.harness.service import running_pooler
from tests.helpers import wait_for
from vmpooler.settings import load_settings
from vmpooler.store.provider_state import ProviderState
from vmpooler.tasks.dispatch import CeleryDispatcher
from vmpooler.tasks.schedule import build_beat_schedule

# The older names of the options, as a 1.3.0 configuration file spells them.
CONFIG = """
:config:
  check_loop_delay_min: 1
  check_loop_delay_max: 2
  purge_unconfigured_folders: true
:redis:
  url: "{redis_url}"
:providers:
  :dummy:
    seed: 1
    folder_whitelist: [keepme]
  :other:
    provider_class: dummy
:pools:
  - name: deb
    size: 1
    provider: dummy
    template: t/deb
"""


def seed(redis_client, provider, folder, vms):
    """VMs of a folder no pool configures any more, left in various state sets."""
    state = ProviderState(redis_client, provider)
    for vm, where in zip(vms, ("running", "completed", "ready")):
        state.put(folder, vm, {"name": vm, "poolname": folder})
        redis_client.hset(f"vmpooler__vm__{vm}", mapping={"template": folder, "checkout": "2021-11-15 10:00:00 +0000"})
        redis_client.sadd(f"vmpooler__{where}__{folder}", vm)
        redis_client.hset(f"vmpooler__active__{folder}", vm, "2021-11-15 10:00:00 +0000")


def test_unconfigured_folders_are_purged_at_start_and_by_beat(redis_url, redis_client):
    settings = load_settings(env={"VMPOOLER_CONFIG": CONFIG.format(redis_url=redis_url), "VMPOOLER_DEBUG": "1"})
    assert settings.providers["dummy"].purge_unconfigured_resources
    assert settings.providers["dummy"].resources_allowlist == ("keepme",)
    assert build_beat_schedule(settings)["purge-provider-dummy"]["args"] == ("dummy",)
    assert "purge-provider-other" not in build_beat_schedule(settings)

    seed(redis_client, "dummy", "retired", ["old-1", "old-2"])
    seed(redis_client, "dummy", "keepme", ["kept-1"])
    seed(redis_client, "other", "stray", ["elsewhere-1"])
    with running_pooler(settings, http=False) as pooler:
        dummy = pooler.services.provider("dummy").state
        # The provider destroys first, then the purge records it: wait for both.
        wait_for(lambda: not dummy.names("retired") and all(
            redis_client.hget(f"vmpooler__vm__{vm}", "destroy") for vm in ("old-1", "old-2")),
            message="unconfigured folder purged at start")
        assert "retired" not in dummy.pools()
        for vm in ("old-1", "old-2"):
            assert redis_client.hget(f"vmpooler__vm__{vm}", "destroy")
            assert 0 < redis_client.ttl(f"vmpooler__vm__{vm}") <= 168 * 3600
            assert not redis_client.hexists("vmpooler__active__retired", vm)
        for where in ("running", "completed"):
            assert not redis_client.smembers(f"vmpooler__{where}__retired")
        # The allowlisted folder, another provider's folders and the configured pool are untouched.
        assert dummy.names("keepme") == ["kept-1"]
        assert redis_client.ttl("vmpooler__vm__kept-1") == -1
        assert ProviderState(redis_client, "other").names("stray") == ["elsewhere-1"]
        wait_for(lambda: pooler.count("ready", "deb") == 1, message="configured pool filled")
        kept = pooler.dummy_vms("deb")

        # What beat sends later purges what appeared since.
        seed(redis_client, "dummy", "retired-later", ["old-3"])
        CeleryDispatcher(pooler.app).purge("dummy")
        wait_for(lambda: not dummy.names("retired-later"), message="purged by the scheduled task")
        assert pooler.dummy_vms("deb") == kept
        assert dummy.names("keepme") == ["kept-1"]
