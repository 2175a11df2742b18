"""vm_ready: a TCP connection to the guest, by its Tools IP or by ``<vm>.<domain>``."""

from __future__ import annotations

import pytest

from tests.harness.pools import foreign_pool, pool_config
from vmpooler.providers.base import ProviderDeps
from vmpooler.settings import build_settings

pytestmark = pytest.mark.vsphere


class Resolver:
    """Maps names to 127.0.0.1 and remembers what it was asked."""

    def __init__(self, *known: str):
        self.known = set(known)
        self.asked: list[str] = []

    def __call__(self, name: str) -> str:
        self.asked.append(name)
        if name not in self.known:
            raise OSError(f"unknown host {name}")
        return "127.0.0.1"


@pytest.fixture
def pending_vm(admin, pool, unique):
    """The name of a running VM of the pool (unique: the control endpoint finds VMs by name)."""
    name = f"pending-{unique}"
    admin.clone(f"DC0/vm/{pool['folder']}", name, power_on=True)
    return name


def test_ready_when_the_port_answers_on_the_dns_name(make_provider, pool, pending_vm, tcp_listener):
    resolver = Resolver(f"{pending_vm}.pool.example.com")
    provider = make_provider(pools=[pool], config={"domain": "pool.example.com"}, resolver=resolver,
                             ready_check_port=tcp_listener.port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is True
    assert resolver.asked == [f"{pending_vm}.pool.example.com"]


def test_not_ready_when_nothing_listens(make_provider, pool, pending_vm, tcp_listener):
    port = tcp_listener.port
    tcp_listener.close()
    provider = make_provider(pools=[pool], config={"domain": "pool.example.com"},
                             resolver=Resolver(f"{pending_vm}.pool.example.com"), ready_check_port=port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is False


def test_not_ready_when_the_name_does_not_resolve(make_provider, pool, pending_vm, tcp_listener):
    provider = make_provider(pools=[pool], config={"domain": "pool.example.com"}, resolver=Resolver(),
                             ready_check_port=tcp_listener.port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is False


def test_bare_name_without_a_domain(make_provider, pool, pending_vm, tcp_listener):
    resolver = Resolver(pending_vm)
    provider = make_provider(pools=[pool], resolver=resolver, ready_check_port=tcp_listener.port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is True
    assert resolver.asked == [pending_vm]


def test_pool_domain_wins_over_the_global_one(make_provider, pool, pending_vm, tcp_listener):
    resolver = Resolver(f"{pending_vm}.pool-domain.test")
    provider = make_provider(pools=[dict(pool, domain="pool-domain.test")], config={"domain": "global.test"},
                             resolver=resolver, ready_check_port=tcp_listener.port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is True


def test_tools_ip_is_used_without_dns(make_provider, pool, pending_vm, tcp_listener, vcsim):
    vcsim.set_vm(pending_vm, ip="127.0.0.1", tools="toolsOk")
    resolver = Resolver()
    provider = make_provider(pools=[pool], config={"domain": "pool.example.com"}, resolver=resolver,
                             ready_check_port=tcp_listener.port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is True
    assert resolver.asked == []


def test_missing_vm_or_pool_is_not_ready(make_provider, pool, pending_vm, tcp_listener):
    provider = make_provider(pools=[pool], resolver=Resolver("ghost", pending_vm),
                             ready_check_port=tcp_listener.port)
    assert provider.vm_ready(pool_config(provider, pool["name"]), "ghost") is False
    assert provider.vm_ready(foreign_pool(pool_config(provider, pool), "other-pool"), pending_vm) is False


def test_resolver_given_to_the_constructor(vcsim, pool, pending_vm, tcp_listener):
    from vmpooler.providers.vsphere import VSphereProvider

    settings = build_settings({"providers": {"vsphere": vcsim.provider_options(ready_check_port=tcp_listener.port)},
                               "pools": [dict(pool, size=1, provider="vsphere")]}, env={})
    resolver = Resolver(pending_vm)
    provider = VSphereProvider(settings.providers["vsphere"], ProviderDeps(settings=settings), resolver=resolver)
    try:
        assert provider.vm_ready(pool_config(provider, pool["name"]), pending_vm) is True
    finally:
        provider.close()
    assert resolver.asked == [pending_vm]
