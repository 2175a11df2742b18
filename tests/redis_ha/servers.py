"""Real redis-server and Sentinel processes on loopback, on free ports, stopped by PID.

Used by the Redis HA tests and by ``bench/failover.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Sequence

import redis

# Debian's build (what .ci/run installs, with TLS) before any other redis-server on PATH,
# such as a Python package's embedded build without TLS.
REDIS_SERVER = "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else shutil.which("redis-server")
MASTER_NAME = "vmpooler-ha"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, message: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (redis.RedisError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Process:
    """A server started in its own process group; stop() ends exactly that group."""

    def __init__(self, name: str, command: Sequence[str], workdir: str, env: dict | None = None):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(list(command), cwd=workdir, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, grace: float = 10.0) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, sig)
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait()
            except ProcessLookupError:
                pass
        self._log.close()

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


def start_redis(workdir: str, name: str, port: int, extra: Sequence[str] = ()) -> Process:
    command = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", workdir, "--dbfilename", f"{name}.rdb",
               # A replica's first sync starts at once, not after the default 5 s wait for more replicas.
               "--repl-diskless-sync-delay", "0", *extra]
    return Process(name, command, workdir)


class SentinelGroup:
    """A master, a replica and three Sentinels (quorum two) with short failure timers."""

    def __init__(self, down_after_ms: int = 1000, failover_timeout_ms: int = 3000):
        self.workdir = tempfile.mkdtemp(prefix="vmpooler-ha-")
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.ports = {"master": free_port(), "replica": free_port()}
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[str, Process] = {}

    @property
    def sentinels(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.sentinel_ports]

    def start(self) -> SentinelGroup:
        self.processes["master"] = start_redis(self.workdir, "master", self.ports["master"])
        self.processes["replica"] = start_redis(self.workdir, "replica", self.ports["replica"],
                                                ["--replicaof", "127.0.0.1", str(self.ports["master"])])
        wait_until(lambda: self.client("replica").info("replication")["master_link_status"] == "up", 20,
                   "the replica to sync")
        for index, port in enumerate(self.sentinel_ports):
            path = os.path.join(self.workdir, f"sentinel{index}.conf")
            with open(path, "w", encoding="utf-8") as conf:
                conf.write(f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                           f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.ports['master']} 2\n"
                           f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}\n"
                           f"sentinel failover-timeout {MASTER_NAME} {self.failover_timeout_ms}\n"
                           f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self.processes[f"sentinel{index}"] = Process(f"sentinel{index}", [REDIS_SERVER, path, "--sentinel"],
                                                         self.workdir)
        for port in self.sentinel_ports:
            sentinel = redis.Redis(port=port, decode_responses=True)
            wait_until(lambda s=sentinel: len(s.sentinel_sentinels(MASTER_NAME)) == 2
                       and len(s.sentinel_slaves(MASTER_NAME)) == 1, 30,
                       "every Sentinel to know the replica and the other Sentinels")
        return self

    def client(self, role: str) -> redis.Redis:
        return redis.Redis(port=self.ports[role], decode_responses=True, socket_timeout=2)

    def master_port(self) -> int | None:
        """The master's port as the Sentinels' majority sees it."""
        seen = []
        for port in self.sentinel_ports:
            try:
                address = redis.Redis(port=port, decode_responses=True,
                                      socket_timeout=1).sentinel_get_master_addr_by_name(MASTER_NAME)
                seen.append(int(address[1]))
            except (redis.RedisError, TypeError):
                continue
        return max(set(seen), key=seen.count) if seen else None

    def stop_master(self) -> None:
        self.processes["master"].stop(signal.SIGKILL)

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SentinelGroup:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
