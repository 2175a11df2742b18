"""The command line: check-config, and `vmpooler run` starting and stopping everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import psutil
import requests

from tests.helpers import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def vmpooler(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "vmpooler.cli", *args], capture_output=True, text=True,
                          env=env or os.environ, cwd=REPO, timeout=60, **kwargs)


def test_check_config_accepts_the_shipped_configs():
    for path in ("config/vmpooler.yaml", "config/vmpooler.vsphere.yaml"):
        result = vmpooler("check-config", "-c", path)
        assert result.returncode == 0, result.stderr
        assert "configuration OK" in result.stdout


def test_check_config_prints_each_problem_and_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(":config:\n  task_limit: lots\n  colour: red\n:pools:\n  - name: p\n    provider: dummy\n")
    result = vmpooler("check-config", "-c", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "config.task_limit: Not a valid integer.",
        "config.colour: unknown key",
        "pools.0.size: Missing data for required field.",
    ]
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_starts_api_worker_beat_on_embedded_redis_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_SERVER", "VMPOOLER_CONFIG",
                                                              "VMPOOLER_CONFIG_FILE")}
    log = open(tmp_path / "run.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "vmpooler.cli", "run", "--port", str(port),
                                "--concurrency", "2", "--workers", "1"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def ready():
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=5).json()
            except (requests.RequestException, ValueError):
                return None
        status = wait_for(ready, timeout=60, interval=0.2, message="API answering")
        assert set(status["pools"]) == {"debian-12-x86_64", "centos-9-x86_64", "win-2022-x86_64"}
        wait_for(lambda: ready()["pools"]["win-2022-x86_64"]["ready"] == 1, timeout=60, interval=0.2,
                 message="a pool filled by the worker")
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 4  # redis-server, gunicorn, celery worker, celery beat (and their children)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    assert "started an embedded Redis" in (tmp_path / "run.log").read_text()
