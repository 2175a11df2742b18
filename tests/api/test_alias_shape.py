"""Aliases are reported as the configuration file writes them: a string stays a string (as 1.3.0)."""

from __future__ import annotations

from tests.helpers import RecordingDispatcher, make_settings
from vmpooler.api import create_app
from vmpooler.bootstrap import Services

POOLS = [
    {"name": "stringy", "size": 1, "provider": "dummy", "template": "t/s", "alias": "NotArray"},
    {"name": "listy", "size": 1, "provider": "dummy", "template": "t/l", "alias": ["one", "two"]},
    {"name": "plain", "size": 1, "provider": "dummy", "template": "t/p"},
]


def client(redis_url):
    settings = make_settings(redis_url, pools=POOLS, config={"experimental_features": True})
    return create_app(Services(settings), dispatcher=RecordingDispatcher()).test_client()


def test_a_string_alias_stays_a_string_and_a_list_stays_a_list(redis_url, redis_client):
    api = client(redis_url)
    status = api.get("/api/v1/status").get_json()["pools"]
    poolstat = api.get("/api/v1/poolstat?pool=stringy,listy,plain").get_json()["pools"]
    config = {pool["name"]: pool for pool in api.get("/api/v1/config").get_json()["pool_configuration"]}
    for view in (status, poolstat, config):
        assert view["stringy"]["alias"] == "NotArray"
        assert view["listy"]["alias"] == ["one", "two"]
        assert "alias" not in view["plain"]


def test_a_string_alias_still_checks_out_its_pool(redis_url, redis_client):
    api = client(redis_url)
    assert api.get("/api/v1/vm").status_code == 200
    assert api.post("/api/v1/vm/NotArray").status_code == 503  # the alias resolves to the empty pool
    assert api.post("/api/v1/vm/Nothing").status_code == 404
