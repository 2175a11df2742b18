"""Each metrics backend puts the original's names on the wire; make_metrics picks one."""

from __future__ import annotations

import pytest
import requests

from tests.harness.service import running_pooler
from tests.helpers import make_settings, wait_for
from tests.metrics.listeners import TcpLineListener, UdpListener
from vmpooler.metrics import NullMetrics, make_metrics
from vmpooler.metrics.graphite import RETRY_AFTER_SECONDS, GraphiteMetrics
from vmpooler.metrics.prometheus import PrometheusMetrics
from vmpooler.metrics.statsd import StatsdMetrics


@pytest.fixture
def udp():
    listener = UdpListener()
    yield listener
    listener.close()


@pytest.fixture
def tcp():
    listener = TcpLineListener()
    yield listener
    listener.close()


def test_backend_priority_is_statsd_then_graphite_then_prometheus_then_none():
    def chosen(**sections):
        return make_metrics(make_settings("redis://unused", **sections))

    everything = {"statsd": {"server": "s"}, "graphite": {"server": "g"}, "prometheus": {}}
    assert isinstance(chosen(**everything), StatsdMetrics)
    assert isinstance(chosen(graphite={"server": "g"}, prometheus={}), GraphiteMetrics)
    assert isinstance(chosen(prometheus={}), PrometheusMetrics)
    assert isinstance(chosen(), NullMetrics)
    statsd = chosen(statsd={"server": "s"})
    assert (statsd.port, statsd.prefix) == (8125, "vmpooler")
    graphite = chosen(graphite={"server": "g", "prefix": "pooler", "port": 2004})
    assert (graphite.server, graphite.port, graphite.prefix) == ("g", 2004, "pooler")


def test_statsd_sends_one_datagram_per_datapoint(udp):
    metrics = StatsdMetrics("127.0.0.1", udp.port, "vmpooler")
    metrics.increment("checkout.success.debian-7")
    metrics.gauge("ready.debian-7", 3)
    metrics.timing("clone.debian-7", 12.5)
    metrics.timing("connection_waited.redis_connection_pool.manager", 0.25)
    assert wait_for(lambda: len(udp.drain()) == 4) and udp.packets == [
        "vmpooler.checkout.success.debian-7:1|c",
        "vmpooler.ready.debian-7:3|g",
        "vmpooler.clone.debian-7:12.5|ms",
        "vmpooler.connection_waited.redis_connection_pool.manager:0.25|ms",
    ]


def test_statsd_names_cannot_break_the_line_protocol(udp):
    StatsdMetrics("127.0.0.1", udp.port, "ci").increment("checkout.invalid.a:b|c@d")
    assert wait_for(udp.drain) == ["ci.checkout.invalid.a_b_c_d:1|c"]


def test_statsd_failure_is_logged_not_raised(vmpooler_log):
    StatsdMetrics("no-such-host.invalid", 8125).increment("delete.success")
    assert "[!] Failure incrementing vmpooler.delete.success on statsd server [no-such-host.invalid:8125]" \
        in vmpooler_log.text


def test_graphite_writes_plaintext_lines_over_one_connection(tcp):
    metrics = GraphiteMetrics("127.0.0.1", tcp.port, "vmpooler", clock=lambda: 1700000000.7)
    metrics.gauge("ready.centos-7", 4)
    metrics.increment("checkout.empty.centos-7")
    metrics.timing("clone.centos-7", 31.25)
    wait_for(lambda: len(tcp.received()) == 3, timeout=5)
    assert tcp.received() == [
        "vmpooler.ready.centos-7 4 1700000000",
        "vmpooler.checkout.empty.centos-7 1 1700000000",
        "vmpooler.clone.centos-7 31.25 1700000000",
    ]


def test_graphite_backs_off_while_the_server_is_down_then_reconnects(vmpooler_log):
    now = [1000.0]
    server = TcpLineListener(listen=False)  # bound, not listening: connections are refused
    try:
        metrics = GraphiteMetrics("127.0.0.1", server.port, clock=lambda: now[0])
        metrics.gauge("ready.a", 1)
        assert f"[!] Failure logging ready.a to graphite server [127.0.0.1:{server.port}]" in vmpooler_log.text
        server.listen()
        metrics.gauge("ready.a", 2)  # still inside the back-off: dropped without a connect
        now[0] += RETRY_AFTER_SECONDS + 1
        metrics.gauge("ready.a", 3)
        wait_for(server.received, timeout=5)
        assert server.received() == [f"vmpooler.ready.a 3 {int(now[0])}"]
    finally:
        server.close()


@pytest.mark.integration
def test_a_running_pooler_sends_the_original_labels_to_statsd(udp, redis_url, redis_client):
    settings = make_settings(redis_url, statsd={"server": "127.0.0.1", "port": udp.port, "prefix": "ci"},
                             pools=[{"name": "alma-9", "size": 1, "provider": "dummy", "template": "t"}],
                             providers={"dummy": {"seed": 2, "createvm_max_time": 0.1}})
    with running_pooler(settings) as pooler, requests.Session() as http:
        wait_for(lambda: pooler.count("ready", "alma-9") == 1, message="pool filled")
        assert http.post(pooler.url("/api/v1/vm/alma-9")).status_code == 200
        assert http.post(pooler.url("/api/v1/vm/alma-9+alma-9")).status_code == 503

        def names():
            return {packet.split(":")[0] + "|" + packet.rsplit("|", 1)[1] for packet in udp.drain()}

        expected = {"ci.clone.alma-9|ms", "ci.time_to_ready_state.alma-9|ms", "ci.ready.alma-9|g",
                    "ci.running.alma-9|g", "ci.checkout.success.alma-9|c", "ci.checkout.empty.alma-9|c",
                    "ci.tasks.run.vmpooler.vm.clone|c", "ci.tasks.run.vmpooler.pool.check|c"}
        wait_for(lambda: expected <= names(), message=f"statsd packets {expected}")
