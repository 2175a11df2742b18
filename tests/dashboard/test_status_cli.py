"""``vmpooler status``: the pools as a table, straight from Redis."""

from __future__ import annotations

import yaml

from tests.dashboard.conftest import POOLS
from vmpooler.cli import main


def write_config(tmp_path, redis_url, pools) -> str:
    path = tmp_path / "vmpooler.yaml"
    path.write_text(yaml.safe_dump({"redis": {"url": redis_url}, "providers": {"dummy": {}}, "pools": pools}))
    return str(path)


def test_status_prints_one_row_per_pool(tmp_path, redis_url, populated, capsys):
    assert main(["status", "-c", write_config(tmp_path, redis_url, POOLS)]) == 0
    table, _, footer = capsys.readouterr().out.partition("\n\n")
    lines = table.splitlines()
    # The embedded test Redis is reached over its socket; no failover has happened.
    assert footer.strip() == f"redis master: unix:{redis_url[len('unix://'):]}; 0 reconnect(s)"
    assert lines[0].split() == ["pool", "size", "ready", "pending", "running", "completed", "clone", "(s)"]
    assert [line.split() for line in lines[1:]] == [
        ["centos-7-x86_64", "4", "3", "1", "2", "0", "15.0"],
        ["centos-8-x86_64", "2", "0", "0", "1", "1", "0"],
        ["win2019", "5", "0", "0", "4", "0", "60.0"],  # the size set through the API
    ]
    # Columns line up: every number ends where its heading ends.
    assert len({len(line) for line in lines}) == 1


def test_status_says_when_redis_cannot_be_reached(tmp_path, capsys):
    config = write_config(tmp_path, "redis://127.0.0.1:1/0", [{"name": "a", "size": 1, "provider": "dummy"}])
    assert main(["status", "-c", config]) == 1
    assert capsys.readouterr().err.startswith("cannot read Redis: ")
