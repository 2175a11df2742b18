"""The v1/v3 naming rule, in one place: v1 short names plus a ``domain`` key, v3 FQDNs."""

import pytest

from tests.helpers import make_settings
from vmpooler.api.naming import Naming

POOLS = [
    {"name": "own", "size": 1, "provider": "dummy", "domain": "own.example.com"},
    {"name": "inherits", "size": 1, "provider": "dummy"},
    {"name": "bare", "size": 1, "provider": "plain"},
]
PROVIDERS = {"dummy": {"domain": "provider.example.com"}, "plain": {"provider_class": "dummy"}}


@pytest.fixture
def settings():
    return make_settings("redis://unused", pools=POOLS, providers=PROVIDERS, config={"domain": "example.com"})


def test_v1_lists_short_names_and_adds_the_global_domain(settings):
    v1 = Naming(settings, v3=False)
    assert [v1.hostname("vm1", pool) for pool in ("own", "inherits", "bare")] == ["vm1", "vm1", "vm1"]
    assert v1.with_domain({"ok": True}) == {"ok": True, "domain": "example.com"}
    assert v1.details("vm1", "own") == {"domain": "own.example.com"}


def test_v3_lists_fqdns_in_the_pools_domain_without_a_domain_key(settings):
    v3 = Naming(settings, v3=True)
    assert [v3.hostname("vm1", pool) for pool in ("own", "inherits", "bare")] == [
        "vm1.own.example.com", "vm1.provider.example.com", "vm1.example.com"]
    assert v3.with_domain({"ok": True}) == {"ok": True}
    assert v3.details("vm1", "inherits") == {"fqdn": "vm1.provider.example.com"}
    # A VM whose pool is no longer configured is named in the global domain.
    assert v3.hostname("vm1", "gone") == "vm1.example.com"


def test_without_any_domain_both_versions_answer_the_short_name():
    settings = make_settings("redis://unused")
    for naming in (Naming(settings, v3=False), Naming(settings, v3=True)):
        assert naming.hostname("vm1", "pool1") == "vm1"
        assert naming.with_domain({"ok": True}) == {"ok": True}
        assert naming.details("vm1", "pool1") == {}


def test_incoming_hostnames(settings):
    v1, v3 = Naming(settings, v3=False), Naming(settings, v3=True)
    assert v1.vm_name("vm1.provider.example.com") == "vm1"
    assert v1.vm_name("vm1.elsewhere.org") == "vm1.elsewhere.org"
    assert v3.vm_name("vm1.elsewhere.org") == "vm1"
    assert v1.vm_name("vm1") == v3.vm_name("vm1") == "vm1"
