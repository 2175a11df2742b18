"""``vmpooler run`` as a user meets it: from any directory, its Redis found by other commands,
stopped by any signal with nothing left behind, and failing fast with one clear line."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from tests.helpers import wait_for
from tests.integration.cli_harness import FAST_CONFIG, LINE, REPO, User, all_gone, free_port, wait_running

pytestmark = pytest.mark.integration


@pytest.fixture
def user():
    user = User()
    yield user
    user.cleanup()


def test_run_anywhere_records_its_redis_and_a_clean_stop_leaves_only_data(user):
    port = free_port()
    run = user.start("run", "--port", str(port), "--workers", "1")
    try:
        wait_running(run, port)
        requests.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=10).raise_for_status()
        output = run.output
        # No config/ here: the configuration shipped in the package, and the log says so.
        assert f"configuration: {REPO / 'vmpooler' / 'data' / 'vmpooler.yaml'}" in output
        state = json.loads((user.state / "run.json").read_text())
        assert state["pid"] == run.process.pid and state["redis_url"] == f"unix://{user.state / 'redis.sock'}"
        assert state["api_url"] == f"http://127.0.0.1:{port}"

        # Other commands find the embedded Redis through the state file.
        status = user.command("status")
        assert status.returncode == 0, status.stderr
        table = status.stdout.split("\n\n")[0]
        assert [line.split()[0] for line in table.splitlines()[1:]] == [
            "debian-12-x86_64", "centos-9-x86_64", "win-2022-x86_64"]

        # So does the API, started apart with no Redis of its own.
        api_port = free_port()
        api = user.start("api", "--port", str(api_port), "--workers", "1")
        try:
            api.wait_output("Booting worker")
            pools = wait_for(lambda: _status(api_port), timeout=60, interval=0.2, message="the second API")["pools"]
            assert set(pools) == {"debian-12-x86_64", "centos-9-x86_64", "win-2022-x86_64"}
        finally:
            api.signal(signal.SIGTERM)
            api.process.wait(timeout=30)
            api.close()

        # One line format from every process; no Celery banner; no access log by default.
        assert all(LINE.match(line) for line in output.splitlines()), output
        assert "celery@" not in output and "GET /api/v1" not in output
        children = run.descendants()
        assert output.count("Creating provider 'dummy'") <= len(children)
        # The worker's concurrency is the Celery app's own unless --concurrency is given.
        (worker,) = [child for child in children if child.ppid() == run.process.pid
                     and child.cmdline()[3:7] == ["-A", "vmpooler.worker", "--quiet", "worker"]]
        assert not any(arg.startswith("--concurrency") for arg in worker.cmdline())

        run.signal(signal.SIGTERM)
        assert run.process.wait(timeout=60) == 0
        assert all_gone(children, timeout=10)
    finally:
        run.close()
    # The data stays in the state directory; the socket, state file and every temporary file go.
    kept = sorted(path.name for path in user.state.iterdir())
    assert kept[-1] == "redis" and kept[:-1] and all(name.startswith("beat-schedule") for name in kept[:-1]), kept
    assert (user.state / "redis" / "vmpooler.rdb").exists()
    assert list(user.tmp.iterdir()) == []
    stopped = user.command("status")
    assert stopped.returncode == 1 and "no vmpooler run is running" in stopped.stderr


def _status(port: int) -> dict | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=5).json()
    except (requests.RequestException, ValueError):
        return None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_ctrl_c_and_hang_up_stop_every_child(user, sig):
    port = free_port()
    user.write("config/vmpooler.yaml", FAST_CONFIG)
    run = user.start("run", "--port", str(port), "--workers", "1", "--access-log")
    try:
        wait_running(run, port)
        # ./config/vmpooler.yaml comes before the packaged one; --access-log logs requests in our format.
        assert f"configuration: {user.cwd / 'config' / 'vmpooler.yaml'}" in run.output
        requests.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=10).raise_for_status()
        run.wait_output('"GET /api/v1/status HTTP/1.1" 200')
        assert all(LINE.match(line) for line in run.output.splitlines()), run.output
        children = run.descendants()
        run.signal(sig)
        assert run.process.wait(timeout=60) == 0
        assert all_gone(children, timeout=10)
    finally:
        run.close()
    assert not (user.state / "run.json").exists()


def test_children_follow_a_killed_run_within_5_seconds(user):
    port = free_port()
    user.write("config/vmpooler.yaml", FAST_CONFIG)
    run = user.start("run", "--port", str(port), "--workers", "1")
    try:
        wait_running(run, port)
        children = run.descendants()
        assert len(children) >= 4  # redis-server, gunicorn, the Celery worker and beat (and their own children)
        run.signal(signal.SIGKILL)
        run.process.wait(timeout=10)
        assert all_gone(children, timeout=5)
    finally:
        run.close()
    # The next run sees that the recorded one is dead and starts afresh on the same data.
    port = free_port()
    again = user.start("run", "--port", str(port), "--workers", "1")
    try:
        wait_running(again, port)
    finally:
        again.signal(signal.SIGTERM)
        again.process.wait(timeout=60)
        again.close()


def test_a_taken_port_fails_at_once_with_one_line(user):
    port = free_port()
    with __import__("socket").create_server(("127.0.0.1", port)):
        result = user.command("run", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"vmpooler run: cannot listen on 127.0.0.1:{port}: Address already in use; choose another port with --port"]
    assert "running" not in result.stdout
    assert not (user.state / "run.json").exists()


def test_an_unreachable_redis_or_a_bad_config_fails_with_one_line(user):
    user.write("noredis.yaml", FAST_CONFIG + ":redis:\n  url: 'redis://127.0.0.1:1/0'\n")
    result = user.command("run", "-c", "noredis.yaml", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "vmpooler run: cannot reach Redis at redis://127.0.0.1:1/0: Error 111 connecting to 127.0.0.1:1. Connection refused."]
    user.write("bad.yaml", ":pools:\n  - name: p\n    provider: dummy\n    timeout: soon\n")
    result = user.command("run", "-c", "bad.yaml", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["vmpooler run: invalid configuration: pools.0.size: Missing data for "
                                          "required field. (and 1 more: run vmpooler check-config)"]
    assert "running" not in result.stdout


@pytest.mark.parametrize("command", ["status", "api", "worker", "beat"])
def test_without_redis_commands_say_so_instead_of_using_localhost(user, command):
    result = user.command(command)
    assert result.returncode == 1
    assert result.stderr == (f"vmpooler {command}: no Redis is configured (no redis section with server or url, "
                             "no REDIS_URL or REDIS_SERVER) and no vmpooler run is running "
                             f"(no live {user.state / 'run.json'})\n")
