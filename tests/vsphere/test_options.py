"""Configuration of a vSphere provider section, checked without connecting."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from vmpooler.domain.capacity import worker_threads
from vmpooler.providers import registry
from vmpooler.providers.base import ProviderDeps
from vmpooler.settings import ConfigError, build_settings, load_settings

pytestmark = pytest.mark.vsphere

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "vmpooler.vsphere.yaml"
REQUIRED = {"server": "vcenter.example.com", "username": "svc-vmpooler", "password": "secret"}


def settings_with(section: dict, pools: int = 0, config: dict | None = None):
    return build_settings({
        "config": config or {},
        "providers": {"vsphere": section},
        "pools": [{"name": f"p{i}", "size": 1, "provider": "vsphere"} for i in range(pools)],
    }, env={})


def make(section: dict, pools: int = 0, config: dict | None = None):
    settings = settings_with(section, pools, config)
    return registry.create(settings.providers["vsphere"], ProviderDeps(settings=settings))


def test_defaults_for_optional_keys(vim):
    provider = make(dict(REQUIRED))
    assert provider.options["port"] == 443
    assert provider.options["insecure"] is False
    assert provider.options["ready_check_port"] == 22
    assert provider.options["ready_check_timeout"] == 5


def test_unknown_key_is_rejected_by_name(vim):
    settings = settings_with(dict(REQUIRED, datacentre="DC0"))
    assert registry.validate(settings.providers["vsphere"]) == ["providers.vsphere.datacentre: unknown key"]
    with pytest.raises(ConfigError, match="providers.vsphere.datacentre: unknown key"):
        make(dict(REQUIRED, datacentre="DC0"))


def test_missing_credentials_are_named(vim):
    problems = registry.validate(settings_with({"server": "vc"}).providers["vsphere"])
    assert sorted(problems) == ["providers.vsphere.password: Missing data for required field.",
                                "providers.vsphere.username: Missing data for required field."]


def test_bad_port_is_rejected(vim):
    problems = registry.validate(settings_with(dict(REQUIRED, port=70000)).providers["vsphere"])
    assert len(problems) == 1 and problems[0].startswith("providers.vsphere.port:")


@pytest.mark.parametrize("pools, task_limit", [(0, 1), (50, 3), (2, 10)])
def test_connection_pool_defaults_to_pools_or_worker_threads(vim, pools, task_limit):
    provider = make(dict(REQUIRED), pools=pools, config={"task_limit": task_limit, "ondemand_clone_limit": 2})
    assert provider.connections.size == max(pools, worker_threads(task_limit, 2))
    assert provider.connections.timeout == 60


def test_configured_connection_pool_size_wins(vim):
    provider = make(dict(REQUIRED, connection_pool_size=3), pools=7)
    assert provider.connections.size == 3


def test_creating_a_provider_does_not_connect(vim):
    provider = make(dict(REQUIRED, server="127.0.0.1", port=1))
    assert provider.connections.available == provider.connections.size


def test_missing_pyvmomi_gives_an_install_hint(monkeypatch):
    for module in [m for m in sys.modules if m == "vmpooler.providers.vsphere" or
                   m.startswith("vmpooler.providers.vsphere.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "pyVmomi", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[vsphere\]' in the vmpooler source directory"):
        importlib.import_module("vmpooler.providers.vsphere")


def test_example_config_is_valid(vim):
    settings = load_settings(str(EXAMPLE), env={})
    assert {name: registry.validate(provider) for name, provider in settings.providers.items()} == {
        "vsphere": [], "vsphere-lab": []}
    provider = registry.create(settings.providers["vsphere-lab"], ProviderDeps(settings=settings))
    assert provider.options["ready_check_port"] == 3389
    assert provider.provided_pools == ["win-2022-x86_64"]
