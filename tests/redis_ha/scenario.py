"""The failover scenario shared by the test and ``bench/failover.py``.

A whole deployment runs as real processes on loopback: the API (``vmpooler api``,
gunicorn), two Celery workers and beat, on a Redis master with one replica behind
three Sentinels. Clients check VMs out and give them back while the master is
killed; the result says what every client saw and what Redis holds afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

import requests
import yaml

from tests.redis_ha.servers import MASTER_NAME, Process, SentinelGroup, free_port, wait_until
from vmpooler.bootstrap import Services
from vmpooler.cli_status import status_table
from vmpooler.settings import build_settings

POOL = "ha"
EXCLUSIVE = ("pending", "ready", "running", "completed", "discovered")
UNAVAILABLE = "cannot reach its Redis"


def config(group: SentinelGroup, size: int, wait_replicas: int) -> dict:
    return {
        "config": {"task_limit": 10, "check_loop_delay_min": 1, "check_loop_delay_max": 2,
                   "healthcheck_details": True},
        "redis": {"sentinels": group.sentinels, "sentinel_master": MASTER_NAME, "wait_replicas": wait_replicas,
                  "wait_timeout": 500, "connect_timeout": 1, "socket_timeout": 2, "reconnect_attempts": 2},
        # A failed-over broker can lose a delivered task; it comes back after this many seconds.
        "celery": {"visibility_timeout": 10},
        "prometheus": {},
        "providers": {"dummy": {"createvm_max_time": 0.2, "destroyvm_max_time": 0.1, "connection_pool_size": 4}},
        "pools": [{"name": POOL, "size": size, "provider": "dummy", "template": "t/ha"}],
    }


class Deployment:
    """The API, two workers and beat, each in its own process group."""

    def __init__(self, group: SentinelGroup, raw: dict):
        self.workdir = group.workdir
        self.path = os.path.join(self.workdir, "vmpooler.yaml")
        with open(self.path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(raw, handle)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.settings = build_settings(raw, env={"VMPOOLER_DEBUG": "1"})
        self.services = Services(self.settings)
        self.processes: list[Process] = []

    def start(self) -> None:
        env = dict(os.environ, VMPOOLER_CONFIG_FILE=self.path, VMPOOLER_DEBUG="1")
        env.pop("VMPOOLER_CONFIG", None)
        celery = [sys.executable, "-m", "celery", "-A", "vmpooler.worker"]
        commands = {
            "api": [sys.executable, "-m", "vmpooler.cli", "api", "-c", self.path, "--port", str(self.port),
                    "--workers", "2"],
            "worker1": celery + ["worker", "-Q", "pools,provision,vmops", "-c", "2", "-n", "one@%h", "-l", "WARNING"],
            "worker2": celery + ["worker", "-Q", "pools,provision,vmops", "-c", "2", "-n", "two@%h", "-l", "WARNING"],
            "beat": celery + ["beat", "-s", os.path.join(self.workdir, "beat-schedule"), "-l", "WARNING"],
        }
        for name, command in commands.items():
            self.processes.append(Process(name, command, self.workdir, env))

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.services.close()

    def ready(self) -> int:
        return self.services.redis.scard(f"vmpooler__ready__{POOL}")

    def placements(self) -> dict[str, list[str]]:
        pipe = self.services.redis.pipeline(transaction=False)
        for state in EXCLUSIVE:
            pipe.smembers(f"vmpooler__{state}__{POOL}")
        where: dict[str, list[str]] = {}
        for state, members in zip(EXCLUSIVE, pipe.execute()):
            for vm in members:
                where.setdefault(vm, []).append(state)
        return where

    def provider_vms(self) -> set[str]:
        return set(self.services.provider("dummy").vms_in_pool(self.services.settings.pool(POOL)))


@dataclass
class Call:
    kind: str
    started: float
    seconds: float
    status: int | None
    json: bool
    redis_down: bool = False


@dataclass
class Clients:
    """Threads that check a VM out, hold it briefly and give it back, until stopped."""

    base: str
    count: int = 3
    pause: float = 0.1
    calls: list[Call] = field(default_factory=list)
    handed_out: list[str] = field(default_factory=list)
    unreturned: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.count)]

    def _call(self, session: requests.Session, kind: str, method: str, path: str) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = session.request(method, self.base + path, timeout=15)
        except requests.RequestException:
            self._record(Call(kind, started, time.monotonic() - started, None, False))
            return None
        try:
            body = response.json()
            is_json = True
        except ValueError:
            body, is_json = {}, False
        self._record(Call(kind, started, time.monotonic() - started, response.status_code, is_json,
                          UNAVAILABLE in str(body.get("error", ""))))
        return response

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                response = self._call(session, "checkout", "POST", f"/api/v1/vm/{POOL}")
                if response is not None and response.status_code == 200:
                    host = response.json()[POOL]["hostname"]
                    with self._lock:
                        self.handed_out.append(host)
                    self._stop.wait(self.pause)
                    self._give_back(session, host)
                self._stop.wait(self.pause)

    def _give_back(self, session: requests.Session, host: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = self._call(session, "return", "DELETE", f"/api/v1/vm/{host}")
            if response is not None and response.status_code == 200:
                return
            time.sleep(0.2)
        with self._lock:
            self.unreturned.append(host)

    def succeeded_since(self, moment: float, at_least: int = 1) -> bool:
        with self._lock:
            done = sum(1 for c in self.calls if c.kind == "checkout" and c.status == 200 and c.started >= moment)
        return done >= at_least

    def start(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def latency_ms(calls: list[Call], until: float) -> dict:
    times = sorted(c.seconds * 1000 for c in calls if c.kind == "checkout" and c.status == 200 and c.started < until)
    if not times:
        return {"count": 0}
    return {"count": len(times), "p50": round(statistics.median(times), 2),
            "p95": round(times[int(0.95 * (len(times) - 1))], 2), "mean": round(statistics.fmean(times), 2)}


def run(wait_replicas: int = 1, size: int = 8, before: int = 20, after: int = 10) -> dict:
    """Run the scenario; the result is JSON-ready (times in seconds, latencies in ms)."""
    started = time.monotonic()
    with SentinelGroup() as group:
        deployment = Deployment(group, config(group, size, wait_replicas))
        try:
            deployment.start()
            wait_until(lambda: requests.get(deployment.base + "/api/v1/status", timeout=2).ok, 60, "the API")
            wait_until(lambda: deployment.ready() == size, 60, "the pool to fill")
            loaded = time.monotonic()
            clients = Clients(deployment.base).start()
            # Under load first: ``before`` checkouts, then the master goes; ``after`` more on the new one.
            wait_until(lambda: clients.succeeded_since(loaded, before), 60, "checkouts before the failover")
            killed = time.monotonic()
            group.stop_master()
            wait_until(lambda: group.master_port() == group.ports["replica"], 30, "the Sentinels to promote")
            promoted = time.monotonic()
            try:
                wait_until(lambda: clients.succeeded_since(promoted), 10, "a checkout on the promoted replica")
            except AssertionError:
                pass  # reported as first_checkout_after_promotion_s: None
            with contextlib.suppress(AssertionError):  # a shortfall shows in the result's counts
                wait_until(lambda: clients.succeeded_since(promoted, after), 30, "checkouts after the failover")
            clients.stop()
            try:
                wait_until(lambda: _settled(deployment, size), 90, "the pool to settle", interval=0.2)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {_state(deployment)}") from None
            health = requests.get(deployment.base + "/healthcheck", timeout=5).json()
            scrape = requests.get(deployment.base + "/prometheus", timeout=5).text
            report = _report(clients, deployment, group, health, scrape, started, killed, promoted)
            report["api_unhandled_errors"] = _unhandled(deployment.processes[0].log())
            report["status_footer"] = status_table(deployment.settings).rpartition("\n")[2]
            return report
        finally:
            deployment.stop()


def _unhandled(log: str) -> list[str]:
    """The last line of each traceback the API logged (what a 500 came from)."""
    return [line for line in log.splitlines() if re.match(r"[\w.]+(Error|Exception)\b", line)][:10]


def _state(deployment: Deployment) -> dict:
    """What Redis and the provider hold, and the workers' logs, for a failure message."""
    redis = deployment.services.redis
    return {"placements": deployment.placements(), "provider": sorted(deployment.provider_vms()),
            "clone_counter": redis.get("vmpooler__tasks__clone"),
            "locks": {key: redis.get(key) for key in redis.scan_iter("vmpooler__lock__*")},
            # Messages piling up mean the workers stopped consuming; none, that beat stopped sending.
            "queued": {queue: redis.llen(queue) for queue in ("pools", "provision", "vmops")},
            "unacked": redis.hlen("unacked"),
            # Which processes are gone (a crash reads as a stall in the queues above).
            "exited": {p.name: p.popen.returncode for p in deployment.processes if not p.alive()},
            # The last lines of each process on its own: one chatty process must not hide the others.
            "logs": {p.name: p.log().splitlines()[-25:] for p in deployment.processes}}


def _settled(deployment: Deployment, size: int) -> bool:
    where = deployment.placements()
    return (deployment.ready() == size and all(len(states) == 1 for states in where.values())
            and deployment.provider_vms() <= set(where))


def _report(clients: Clients, deployment: Deployment, group: SentinelGroup, health: dict, scrape: str,
            started: float, killed: float, promoted: float) -> dict:
    calls = clients.calls
    after_promotion = [c.started + c.seconds for c in calls
                       if c.kind == "checkout" and c.status == 200 and c.started >= promoted]
    where = deployment.placements()
    statuses: dict[str, int] = {}
    for call in calls:
        statuses[str(call.status)] = statuses.get(str(call.status), 0) + 1
    return {
        "seconds_total": round(time.monotonic() - started, 1),
        "promotion_after_kill_s": round(promoted - killed, 2),
        "first_checkout_after_promotion_s": round(min(after_promotion) - promoted, 2) if after_promotion else None,
        "checkouts_ok": len(clients.handed_out),
        "handed_out_twice": sorted({h for h in clients.handed_out if clients.handed_out.count(h) > 1}),
        "unreturned": clients.unreturned,
        "statuses": statuses,
        "non_json": sum(1 for c in calls if c.status is not None and not c.json),
        "redis_503": sum(1 for c in calls if c.status == 503 and c.redis_down),
        "no_answer": sum(1 for c in calls if c.status is None),
        "in_two_sets": {vm: states for vm, states in where.items() if len(states) > 1},
        "unaccounted_provider_vms": sorted(deployment.provider_vms() - set(where)),
        "checkout_latency_ms_before_failover": latency_ms(calls, killed),
        "health_redis": health.get("redis"),
        "replica_address": f"127.0.0.1:{group.ports['replica']}",
        "prometheus_failovers": [line for line in scrape.splitlines() if line.startswith("vmpooler_redis_failovers")],
    }
