"""Prometheus: the original's names and labels, summed over every process, served by the API."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.service import running_pooler, serve
from tests.helpers import RecordingDispatcher, make_settings, wait_for
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.metrics.catalogue import UnknownMetric, series
from vmpooler.metrics.prometheus import PrometheusMetrics, exposition
from vmpooler.store import keys
from vmpooler.store.metrics_store import MAX_FIELDS, MetricsStore

COUNT_IN_A_CHILD = textwrap.dedent("""
    import sys
    import redis
    from vmpooler.metrics.prometheus import PrometheusMetrics
    url, times = sys.argv[1], int(sys.argv[2])
    metrics = PrometheusMetrics("vmpooler", lambda: redis.Redis.from_url(url, decode_responses=True))
    for _ in range(times):
        metrics.increment("checkout.success.pool1")
    metrics.timing("clone.pool1", 15)
""")


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, frozenset of labels): value} of a scrape, parsed by Prometheus' own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def labels(**pairs) -> frozenset:
    return frozenset({"vmpooler_instance": "vmpooler", **pairs}.items())


@pytest.mark.parametrize("label, name, expected", [
    ("checkout.success.centos-7", "vmpooler_checkout_success", {"poolname": "centos-7"}),
    ("migrate_from.host1.example.com", "vmpooler_migrate_from", {"host_name": "host1.example.com"}),
    ("connection_waited.provider_connection_pool.vsphere", "vmpooler_connection_waited",
     {"type": "provider_connection_pool", "provider": "vsphere"}),
    ("errors.markedasfailed.debian.pool", "vmpooler_errors_markedasfailed", {"template_name": "debian.pool"}),
    ("delete.success", "vmpooler_delete_success", {}),
    ("tasks.run.vmpooler.pool.check", "vmpooler_tasks_run", {"task_name": "vmpooler.pool.check"}),
])
def test_a_dotted_label_becomes_a_name_and_labels(label, name, expected):
    found = series(label, "vmpooler")
    assert (found.name, dict(found.labels)) == (name, expected)


@pytest.mark.parametrize("label", ["nosuch.metric", "checkout.bogus.pool1", "delete"])
def test_labels_outside_the_table_are_refused(label):
    with pytest.raises(UnknownMetric):
        series(label, "vmpooler")


def test_counts_of_exited_processes_add_up_on_the_scrape(redis_url, redis_client, vmpooler_log):
    for times in (3, 4):
        subprocess.run([sys.executable, "-c", COUNT_IN_A_CHILD, redis_url, str(times)], check=True, timeout=60)
    services = Services(make_settings(redis_url, prometheus={}))
    services.metrics.increment("checkout.success.pool1")  # this process counts too
    services.metrics.gauge("ready.pool1", 2)
    services.metrics.increment("no.such.metric")
    assert "[!] prometheus error logging metric no.such.metric increment 1" in vmpooler_log.text
    with serve(create_app(services, dispatcher=RecordingDispatcher())) as base:
        reply = requests.get(base + "/prometheus", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(reply.text)
    assert found[("vmpooler_checkout_success_total", labels(poolname="pool1"))] == 8
    assert found[("vmpooler_ready", labels(poolname="pool1"))] == 2
    assert found[("vmpooler_clone_count", labels(poolname="pool1"))] == 2
    assert found[("vmpooler_clone_sum", labels(poolname="pool1"))] == 30
    assert found[("vmpooler_clone_bucket", labels(poolname="pool1", le="10.0"))] == 0
    assert found[("vmpooler_clone_bucket", labels(poolname="pool1", le="20.0"))] == 2
    assert found[("vmpooler_clone_bucket", labels(poolname="pool1", le="+Inf"))] == 2
    services.close()


def test_prefixes_and_endpoint_follow_the_configuration(redis_url, redis_client):
    settings = make_settings(redis_url, prometheus={"prefix": "ci", "prometheus_prefix": "pooler",
                                                    "prometheus_endpoint": "/metrics"})
    services = Services(settings)
    services.metrics.increment("delete.failed")
    client = create_app(services, dispatcher=RecordingDispatcher()).test_client()
    assert client.get("/prometheus").status_code == 404
    client.get("/api/v1/vm/some-vm.example.com")
    found = samples(client.get("/metrics").get_data(as_text=True))
    assert found[("pooler_delete_failed_total", frozenset({"vmpooler_instance": "ci"}.items()))] == 1
    # Requests are counted by route, so neither hostnames nor unknown paths make new series.
    requests_total = {dict(labels)["path"]: value for (name, labels), value in found.items()
                      if name == "pooler_http_requests_total"}
    assert requests_total == {"unmatched": 1, "/api/v1/vm/<hostname>": 1}
    assert found[("pooler_http_request_duration_seconds_count",
                  frozenset({"method": "get", "path": "unmatched", "vmpooler_instance": "ci"}.items()))] == 1
    services.close()


def test_no_scrape_endpoint_without_prometheus(services):
    client = create_app(services, dispatcher=RecordingDispatcher()).test_client()
    assert client.get("/prometheus").status_code == 404


@pytest.mark.integration
def test_worker_and_api_metrics_reach_the_scrape(redis_url, redis_client):
    settings = make_settings(redis_url, prometheus={}, pools=[
        {"name": "debian-12", "size": 2, "provider": "dummy", "template": "t/debian"}],
        providers={"dummy": {"seed": 3, "createvm_max_time": 0.1}})
    with running_pooler(settings) as pooler, requests.Session() as http:
        wait_for(lambda: pooler.count("ready", "debian-12") == 2, message="pool filled")
        assert http.post(pooler.url("/api/v1/vm/debian-12")).status_code == 200
        assert http.post(pooler.url("/api/v1/vm/nosuchpool")).status_code == 404

        def scraped():
            found = samples(http.get(pooler.url("/prometheus")).text)
            # The task counter follows the clone's own timing (it is counted once the task returns).
            done = (found.get(("vmpooler_clone_count", labels(poolname="debian-12")), 0) >= 3
                    and found.get(("vmpooler_tasks_run_total", labels(task_name="vmpooler.vm.clone")), 0) >= 3)
            return found if done else None

        found = wait_for(scraped, message="the replacement clone counted")
    pool = labels(poolname="debian-12")
    assert found[("vmpooler_checkout_success_total", pool)] == 1
    assert found[("vmpooler_checkout_invalid_total", labels(poolname="nosuchpool"))] == 1
    assert found[("vmpooler_time_to_ready_state_count", pool)] >= 2
    assert ("vmpooler_ready", pool) in found
    assert found[("vmpooler_tasks_run_total", labels(task_name="vmpooler.pool.check"))] >= 1


def test_counter_samples_end_in_total_exactly_once(redis_client):
    metrics = PrometheusMetrics("vmpooler", lambda: redis_client)
    metrics.increment("http_requests_vm_total.post.vm.checkout")
    metrics.increment("connect.open")
    metrics.flush()
    found = samples(exposition(metrics.store, "vmpooler", "vmpooler").decode())
    assert found == {
        ("vmpooler_http_requests_vm_total", labels(method="post", subpath="vm", operation="checkout")): 1,
        ("vmpooler_connect_open_total", labels()): 1,
    }


def test_new_series_stop_at_the_cap_while_existing_ones_keep_counting(redis_client):
    store = MetricsStore(redis_client, max_fields=2)
    assert [store.add("vmpooler_checkout_invalid", (("poolname", name),)) for name in "abca"] == \
        [True, True, False, True]
    found = samples(exposition(store, "vmpooler", "vmpooler").decode())
    assert found == {("vmpooler_checkout_invalid_total", labels(poolname="a")): 2,
                     ("vmpooler_checkout_invalid_total", labels(poolname="b")): 1}


def test_a_full_store_is_logged(redis_client, vmpooler_log):
    redis_client.hset(keys.PROMETHEUS_COUNTERS, mapping={f"filler{n}": 1 for n in range(MAX_FIELDS)})
    metrics = PrometheusMetrics("vmpooler", lambda: redis_client)
    metrics.increment("checkout.invalid.new")
    metrics.flush()  # datapoints are written in batches
    assert "too many series stored in Redis; vmpooler_checkout_invalid and other new series" in vmpooler_log.text
    assert redis_client.hlen(keys.PROMETHEUS_COUNTERS) == MAX_FIELDS
    # Fields it did not write do not break the scrape.
    assert exposition(MetricsStore(redis_client), "vmpooler", "vmpooler") == b""


def test_datapoints_are_written_in_batches_off_the_callers_path(redis_client):
    metrics = PrometheusMetrics("vmpooler", lambda: redis_client, flush_seconds=60)
    for _ in range(50):
        metrics.increment("checkout.success.pool1")
    metrics.timing("clone.pool1", 3)
    assert not redis_client.exists(keys.PROMETHEUS_COUNTERS, keys.PROMETHEUS_HISTOGRAMS)
    metrics.flush()
    found = samples(exposition(metrics.store, "vmpooler", "vmpooler").decode())
    assert found[("vmpooler_checkout_success_total", labels(poolname="pool1"))] == 50
    assert found[("vmpooler_clone_count", labels(poolname="pool1"))] == 1
    # Left alone, a batch is written by its timer.
    soon = PrometheusMetrics("vmpooler", lambda: redis_client, flush_seconds=0.05)
    soon.increment("checkout.success.pool1")
    wait_for(lambda: samples(exposition(soon.store, "vmpooler", "vmpooler").decode()).get(
        ("vmpooler_checkout_success_total", labels(poolname="pool1"))) == 51, timeout=5, message="timer flush")
