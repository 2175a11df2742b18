"""Purging folders no pool configures, and only those."""

from __future__ import annotations

import pytest

from vmpooler.providers.base import PurgeResult

pytestmark = pytest.mark.vsphere


@pytest.fixture
def layout(admin, unique):
    """Under base folder ``purge-<id>``: two pool folders, a stale folder (with a running VM and a
    nested folder), an allowlisted folder, a VM directly in the base; plus a foreign folder."""
    base = f"purge-{unique}"
    root = f"DC0/vm/{base}"
    admin.clone(f"{root}/pool-a", "a-1")
    admin.clone(f"{root}/pool-b", "b-1")
    admin.clone(f"{root}/stale", "stale-1", power_on=True)
    admin.clone(f"{root}/stale", "stale-2")
    admin.clone(f"{root}/stale/nested", "nested-1")
    admin.clone(f"{root}/keep-me", "kept-1")
    admin.clone(root, "loose-vm")
    admin.clone(f"DC0/vm/foreign-{unique}/stale", "foreign-1")
    pools = [{"name": f"a-{unique}", "folder": f"{base}/pool-a", "datacenter": "DC0"},
             {"name": f"b-{unique}", "folder": f"{base}/pool-b", "datacenter": "DC0"}]
    return base, pools


def test_purge_removes_only_unconfigured_folders_under_base_folders(make_provider, admin, layout, unique):
    base, pools = layout
    provider = make_provider(pools=pools)
    result = provider.purge_unconfigured_resources(("keep-me",))
    assert sorted(result.vms) == [("nested", "nested-1"), ("stale", "stale-1"), ("stale", "stale-2")]
    assert sorted(result.folders) == [f"DC0/vm/{base}/stale", f"DC0/vm/{base}/stale/nested"]
    assert result.errors == ()
    root = f"DC0/vm/{base}"
    assert admin.find(f"{root}/stale") is None
    for kept in ("pool-a/a-1", "pool-b/b-1", "keep-me/kept-1", "loose-vm"):
        assert admin.find(f"{root}/{kept}") is not None, kept
    assert admin.find(f"DC0/vm/foreign-{unique}/stale/foreign-1") is not None


def test_second_purge_has_nothing_left_to_do(make_provider, layout):
    _, pools = layout
    provider = make_provider(pools=pools)
    provider.purge_unconfigured_resources(("keep-me",))
    again = provider.purge_unconfigured_resources(("keep-me",))
    assert (again.vms, again.folders) == ((), ())


def test_provider_allowlist_is_honoured_too(make_provider, admin, layout):
    base, pools = layout
    provider = make_provider(pools=pools, provider_section={"resources_allowlist": ["keep-me", "stale"]})
    result = provider.purge_unconfigured_resources(())
    assert (result.vms, result.folders) == ((), ())
    assert admin.find(f"DC0/vm/{base}/stale/stale-1") is not None


def test_allowlisted_vm_keeps_its_folder(make_provider, admin, layout):
    base, pools = layout
    provider = make_provider(pools=pools)
    result = provider.purge_unconfigured_resources(("keep-me", "nested-1"))
    assert sorted(result.vms) == [("stale", "stale-1"), ("stale", "stale-2")]
    assert result.folders == ()
    assert admin.find(f"DC0/vm/{base}/stale/nested/nested-1") is not None


def test_folders_leading_to_a_deeper_pool_folder_are_kept(make_provider, admin, unique):
    root = f"DC0/vm/deep-{unique}"
    admin.clone(f"{root}/pool-top", "top-1")
    admin.clone(f"{root}/group/pool-deep", "deep-1")
    admin.clone(f"{root}/group/old", "old-1")
    pools = [{"name": f"top-{unique}", "folder": f"deep-{unique}/pool-top", "datacenter": "DC0"},
             {"name": f"deep-{unique}", "folder": f"deep-{unique}/group/pool-deep", "datacenter": "DC0"}]
    provider = make_provider(pools=pools)
    result = provider.purge_unconfigured_resources(())
    assert result.vms == (("old", "old-1"),)
    assert result.folders == (f"{root}/group/old",)
    assert admin.find(f"{root}/group/pool-deep/deep-1") is not None


def test_provider_without_pools_purges_nothing(make_provider, admin, layout):
    base, _ = layout
    provider = make_provider(pools=[], name="vsphere-other")
    assert provider.purge_unconfigured_resources(()) == PurgeResult()
    assert admin.find(f"DC0/vm/{base}/stale/stale-1") is not None


def test_folder_holding_a_pool_template_is_kept(make_provider, admin, unique):
    root = f"DC0/vm/tpl-{unique}"
    admin.clone(f"{root}/pool-x", "x-1")
    admin.clone(f"{root}/golden", "base-image").MarkAsTemplate()
    pool = {"name": f"x-{unique}", "folder": f"tpl-{unique}/pool-x", "datacenter": "DC0",
            "template": f"tpl-{unique}/golden/base-image"}
    provider = make_provider(pools=[pool])
    assert provider.purge_unconfigured_resources(()) == PurgeResult()
    assert admin.find(f"{root}/golden/base-image") is not None


def test_pool_folder_at_the_top_purges_nothing_around_it(make_provider, admin, unique):
    admin.clone(f"DC0/vm/top-{unique}", "top-1")
    admin.clone(f"DC0/vm/bystander-{unique}", "bystander-1")
    provider = make_provider(pools=[{"name": f"top-{unique}", "folder": f"top-{unique}", "datacenter": "DC0"}])
    assert provider.purge_unconfigured_resources(()) == PurgeResult()
    assert admin.find(f"DC0/vm/bystander-{unique}/bystander-1") is not None
