"""Host selection for new clones (``manage_host_selection``).

vcsim places a clone on its template's host whatever the request says, so the
chosen host is read from the clone request.
"""

from __future__ import annotations

import pytest

from tests.harness.pools import pool_config
from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere

H0, H1, H2 = "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"
# Each host has 4 GiB; the model's hosts use 1404 MB (34 %) and 1.5 % of their CPU.
BUSY_MEMORY = {"mem": 3800}


@pytest.fixture
def selecting(make_provider, pool):
    def make(**config):
        settings = dict({"create_folders": True, "manage_host_selection": True, "clone_target": "DC0_C0"}, **config)
        return make_provider(pools=[pool], config=settings)
    return make


def chosen_hosts(admin, clone_spy) -> list[str]:
    return [admin.read(call["spec"].location.host, "name")["name"] for call in clone_spy]


def clone_n(provider, pool, count: int, prefix: str = "vm") -> None:
    for index in range(count):
        provider.create_vm(pool_config(provider, pool["name"]), f"{prefix}-{index}")


def test_busy_and_unhealthy_hosts_are_avoided(selecting, pool, vcsim, admin, clone_spy):
    vcsim.set_host(H0, **BUSY_MEMORY)
    vcsim.set_host(H1, status="red")
    clone_n(selecting(), pool, 3)
    assert chosen_hosts(admin, clone_spy) == [H2, H2, H2]
    cluster_pool = admin.read(admin.find("DC0/host/DC0_C0"), "resourcePool")["resourcePool"]
    assert {call["spec"].location.pool._moId for call in clone_spy} == {cluster_pool._moId}


@pytest.mark.parametrize("trouble", [
    {"maint": True},
    {"configIssue": "Quick stats on this host are not up-to-date"},
    {"status": "yellow"},
    {"cpu": 0},
    {"mem": 0},
])
def test_unfit_hosts_are_skipped(selecting, pool, vcsim, admin, clone_spy, trouble):
    vcsim.set_host(H0, **trouble)
    vcsim.set_host(H2, **trouble)
    clone_n(selecting(), pool, 2)
    assert chosen_hosts(admin, clone_spy) == [H1, H1]


def test_clones_rotate_over_the_least_used_hosts(selecting, pool, vcsim, admin, clone_spy):
    vcsim.set_host(H0, mem=3000)
    vcsim.set_host(H1, mem=1000)
    vcsim.set_host(H2, mem=1100)
    clone_n(selecting(), pool, 4)
    assert chosen_hosts(admin, clone_spy) == [H1, H2, H1, H2]


def test_cpu_load_counts_as_well_as_memory(selecting, pool, vcsim, admin, clone_spy):
    vcsim.set_host(H0, cpu=4000)
    vcsim.set_host(H1, cpu=3000)
    clone_n(selecting(), pool, 2)
    assert chosen_hosts(admin, clone_spy) == [H2, H2]


def test_utilization_limit_is_honoured(selecting, pool, vcsim, admin, clone_spy):
    vcsim.set_host(H1, mem=800)
    clone_n(selecting(utilization_limit=30), pool, 2)
    assert chosen_hosts(admin, clone_spy) == [H1, H1]


def test_no_candidate_is_an_error_naming_the_reasons(selecting, pool, vcsim):
    vcsim.set_host(H0, maint=True)
    vcsim.set_host(H1, status="red")
    vcsim.set_host(H2, **BUSY_MEMORY)
    with pytest.raises(ProviderError, match="there is no candidate") as failure:
        selecting().create_vm(pool_config(selecting(), pool["name"]), "nowhere")
    message = str(failure.value)
    assert f"{H0} in maintenance mode" in message
    assert f"{H1} status is red" in message
    assert f"{H2} over the 90% utilization limit" in message


def test_selection_is_cached_for_host_selection_max_age(selecting, pool, vcsim, admin, clone_spy):
    vcsim.set_host(H0, **BUSY_MEMORY)
    vcsim.set_host(H1, **BUSY_MEMORY)
    provider = selecting(host_selection_max_age=600)
    provider.create_vm(pool_config(provider, pool["name"]), "first")
    vcsim.set_host(H2, **BUSY_MEMORY)
    vcsim.set_host(H0, mem=500)
    provider.create_vm(pool_config(provider, pool["name"]), "second")
    assert chosen_hosts(admin, clone_spy) == [H2, H2]


def test_expired_selection_is_taken_again(selecting, pool, vcsim, admin, clone_spy):
    vcsim.set_host(H0, **BUSY_MEMORY)
    vcsim.set_host(H1, **BUSY_MEMORY)
    provider = selecting(host_selection_max_age=0)
    provider.create_vm(pool_config(provider, pool["name"]), "first")
    vcsim.set_host(H2, **BUSY_MEMORY)
    vcsim.set_host(H0, mem=500)
    provider.create_vm(pool_config(provider, pool["name"]), "second")
    assert chosen_hosts(admin, clone_spy) == [H2, H0]


def test_host_selection_needs_a_cluster_it_can_find(selecting, pool):
    provider = selecting(clone_target="NoSuchCluster")
    with pytest.raises(ProviderError, match="Cluster NoSuchCluster cannot be found"):
        provider.create_vm(pool_config(provider, pool["name"]), "nowhere")


@pytest.mark.parametrize("description, generation", [
    ("Intel(R) Xeon(R) CPU E5-2697 v4 @ 2.30GHz", "v4"),
    ("Intel(R) Xeon(R) CPU E5-2620 v4 @ 2.10GHz", "v4"),
    ("Intel(R) Xeon(R) CPU E5-1620 0 @ 3.60GHz", "Intel(R) Xeon(R) CPU E5-1620 0"),
    ("AMD EPYC 7702 64-Core Processor", "AMD EPYC 7702 64-Core Processor"),
    (None, ""),
])
def test_cpu_generation(vim, description, generation):
    from vmpooler.providers.vsphere.hosts import cpu_generation

    assert cpu_generation(description) == generation


def test_hosts_that_recover_are_used_at_once(selecting, pool, vcsim, admin, clone_spy):
    for host in (H0, H1, H2):
        vcsim.set_host(host, maint=True)
    provider = selecting(host_selection_max_age=600)
    with pytest.raises(ProviderError, match="there is no candidate"):
        provider.create_vm(pool_config(provider, pool["name"]), "too-early")
    vcsim.set_host(H1, maint=False)
    provider.create_vm(pool_config(provider, pool["name"]), "after-recovery")
    assert chosen_hosts(admin, clone_spy) == [H1]
