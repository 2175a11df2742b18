"""Clients that send part of a request and stall do not hold up anyone else.

The real server (``vmpooler api``: gunicorn with vmpooler.gunicorn_conf) over
real sockets; sync workers fail this as soon as there are as many stalled
clients as workers.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

from tests.helpers import wait_for

STALLED = 8
STATUS_BUDGET_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.monotonic()
        conn.request("GET", path)
        reply = conn.getresponse()
        reply.read()
        return reply.status, time.monotonic() - started
    finally:
        conn.close()


@pytest.fixture
def api_server(tmp_path, redis_url, redis_client):
    config = {"redis": {"url": redis_url}, "providers": {"dummy": {}},
              "pools": [{"name": "pool1", "size": 1, "provider": "dummy", "template": "t/pool1"}]}
    path = tmp_path / "vmpooler.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])))
    env.pop("GUNICORN_CMD_ARGS", None)
    process = subprocess.Popen([sys.executable, "-m", "vmpooler.cli", "api", "-c", str(path), "--port", str(port),
                                "--workers", "2"], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        assert process.poll() is None, "the API exited"
        try:
            return get(port, "/api/v1/vm", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, message="API answering")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stall(port: int, partial: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(partial)
    return sock


def test_stalled_clients_do_not_delay_status(api_server):
    port = api_server
    half_headers = b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: "
    half_body = b"POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"po"
    stalled = [stall(port, half_headers if n % 2 else half_body) for n in range(STALLED)]
    try:
        # Every stalled connection has reached a worker (and, for the bodies, the application).
        time.sleep(0.3)
        timings = []
        for _ in range(6):
            status, seconds = get(port, "/api/v1/status")
            assert status == 200
            timings.append(seconds)
        assert max(timings) < STATUS_BUDGET_SECONDS, timings
        # The stalled clients are still waiting, not dropped to make room.
        for sock in stalled:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in stalled:
            sock.close()


def test_a_burst_of_concurrent_requests_is_served_not_refused(api_server):
    # More requests in flight at once than a worker process has Redis connections: they wait
    # for one instead of failing with a 503.
    port, clients = api_server, 150
    ready, statuses = threading.Barrier(clients), []

    def request():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            ready.wait()
            conn.request("GET", "/api/v1/status")
            reply = conn.getresponse()
            reply.read()
            statuses.append(reply.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=request) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * clients
