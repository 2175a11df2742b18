"""The dashboard's JSON routes (1.3.0's two, and the overview the page draws from)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.dashboard.conftest import POOLS
from tests.helpers import RecordingDispatcher, make_settings
from vmpooler.api import create_app
from vmpooler.bootstrap import Services


def client_for(settings):
    return create_app(Services(settings), dispatcher=RecordingDispatcher()).test_client()


@pytest.fixture
def client(populated):
    return client_for(populated)


def test_pool_stats_give_size_and_ready_in_config_order(client):
    body = client.get("/dashboard/stats/vmpooler/pool").get_json()
    assert list(body) == ["centos-7-x86_64", "centos-8-x86_64", "win2019"]
    # 1.3.0 reports the configured size here, not the runtime override.
    assert body == {"centos-7-x86_64": {"size": 4, "ready": 3}, "centos-8-x86_64": {"size": 2, "ready": 0},
                    "win2019": {"size": 3, "ready": 0}}


def test_pool_history_without_a_graph_server_is_the_ready_count(client):
    body = client.get("/dashboard/stats/vmpooler/pool/?history=true").get_json()
    assert body["centos-7-x86_64"] == {"size": 4, "ready": 3, "history": [3]}


def test_running_stats_sum_by_name_prefix(client):
    assert client.get("/dashboard/stats/vmpooler/running").get_json() == {
        "centos": {"running": 3}, "": {"running": 4}}


def test_overview_has_every_figure_the_page_shows(client):
    body = client.get("/dashboard/stats/vmpooler/overview").get_json()
    assert [(p["name"], p["size"], p["ready"], p["pending"], p["running"], p["completed"]) for p in body["pools"]] == [
        ("centos-7-x86_64", 4, 3, 1, 2, 0), ("centos-8-x86_64", 2, 0, 0, 1, 1), ("win2019", 5, 0, 0, 4, 0)]
    first = body["pools"][0]
    assert (first["clone_average"], first["clone_count"]) == (15.0, 2)
    assert (first["boot_average"], first["boot_count"]) == (30.0, 1)
    assert body["capacity"] == {"current": 3, "total": 11, "percent": 27.3}
    assert body["clone"] == {"average": 30.0, "count": 3}
    assert body["boot"] == {"average": 30.0, "count": 1}
    assert body["queue"] == {"ready": 3, "pending": 1, "running": 7, "completed": 1}
    assert body["ondemand"] == {"requested": 1, "processing": 2, "creating": 3}


def test_page_names_the_site_and_loads_only_local_assets(redis_url, redis_client):
    client = client_for(make_settings(redis_url, config={"site_name": "CI <pooler>"}))
    page = client.get("/dashboard").get_data(as_text=True)
    assert "<h1>CI &lt;pooler&gt;</h1>" in page
    for asset in ("chart.umd.min.js", "dashboard.js", "dashboard.css"):
        assert f"/dashboard/static/{asset}" in page
        assert client.get(f"/dashboard/static/{asset}").status_code == 200
    assert "http://" not in page and "https://" not in page
    assert "MIT License" in client.get("/dashboard/static/chart.js.LICENSE.md").get_data(as_text=True)


class _Graphite(BaseHTTPRequestHandler):
    """Answers the render API with one hour of ready / running datapoints."""

    def do_GET(self):
        metric = "ready" if ".ready." in self.path else "running"
        self.server.paths.append(self.path)
        data = {
            "ready": [{"target": "vmpooler.ready.centos-7-x86_64", "datapoints": [[2, 1], [None, 2], [3, 3]]}],
            "running": [{"target": "vmpooler.running.centos-7-x86_64", "datapoints": [[1, 1], [None, 2]]},
                        {"target": "vmpooler.running.centos-8-x86_64", "datapoints": [[5, 1], [6, 2]]}],
        }[metric]
        payload = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def graphite():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Graphite)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join()


def test_history_comes_from_the_graph_server(populated, graphite, redis_url):
    server = f"127.0.0.1:{graphite.server_port}"
    client = client_for(make_settings(redis_url, pools=POOLS, graphs={"server": server, "prefix": "vmpooler"}))
    pools = client.get("/dashboard/stats/vmpooler/pool?history=1").get_json()
    assert pools["centos-7-x86_64"]["history"] == [2] * 8 + [2] * 8 + [3] * 8
    assert "history" not in pools["win2019"]
    running = client.get("/dashboard/stats/vmpooler/running?history=1").get_json()
    assert running["centos"]["history"] == [6, 7]
    assert graphite.paths[0] == "/render?target=vmpooler.ready.*&from=-1hour&format=json"


def test_an_unreachable_graph_server_means_no_history(populated, redis_url):
    client = client_for(make_settings(redis_url, pools=POOLS, graphite={"server": "127.0.0.1:1"}))
    assert "history" not in client.get("/dashboard/stats/vmpooler/pool?history=1").get_json()["centos-7-x86_64"]


@pytest.mark.parametrize("asked, refresh_ms", [("", 5000), ("?refresh=0.5", 500), ("?refresh=nan", 5000),
                                               ("?refresh=0", 5000), ("?refresh=abc", 5000)])
def test_page_refresh_interval_is_bounded(client, asked, refresh_ms):
    assert f'data-refresh-ms="{refresh_ms}"' in client.get("/dashboard/" + asked).get_data(as_text=True)
