"""``vmpooler run``: start the API, a worker, beat (and Redis when none is configured), watch them, stop them.

Each child runs in its own session, so a terminal's Ctrl-C or hang-up reaches only this process,
which then stops the children in order. On Linux each child also gets a parent-death signal, so
they follow even when this process is killed outright.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Callable

log = logging.getLogger("vmpooler")

STOP_GRACE_SECONDS = 15
API_START_SECONDS = 90
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform.startswith("linux") else None


class StartError(Exception):
    """A part of the service could not start; the message is the one line to print."""


def die_with_parent(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to send ``sig`` to the child when this process dies."""
    if _LIBC is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), sig)
    return preexec


def check_port_free(host: str, port: int) -> None:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise StartError(f"cannot listen on {host}:{port}: {reason}; choose another port with --port") from None


def local_url(host: str, port: int) -> str:
    """The URL this machine reaches the API at (a wildcard bind answers on loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def answers(url: str) -> bool:
    """Whether the API answers HTTP at all (an error status is an answer too)."""
    try:
        with urllib.request.urlopen(url + "/api/v1/vm", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


class Children:
    """The child processes of a run, by name, started and stopped together."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], death_signal: int) -> None:
        self.processes[name] = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL,
                                                start_new_session=True, preexec_fn=die_with_parent(death_signal))

    def exited(self) -> tuple[str, int] | None:
        """(name, status) of a child that has exited, if any."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop(self) -> None:
        """SIGTERM every child's process group, wait, then SIGKILL what is left."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Stopper:
    """Turns SIGINT, SIGTERM and SIGHUP into a request to stop."""

    def __init__(self):
        self.requested: str | None = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._request)

    def _request(self, signum, _frame) -> None:
        self.requested = signal.Signals(signum).name


def wait_until_answering(children: Children, url: str, stopper: Stopper) -> bool:
    """True once the API answers; False when asked to stop first; StartError when a child exits."""
    deadline = time.monotonic() + API_START_SECONDS
    while not answers(url):
        if stopper.requested:
            return False
        exited = children.exited()
        if exited:
            raise StartError(f"the {exited[0]} process exited with status {exited[1]} during start-up "
                             f"(its messages are above)")
        if time.monotonic() > deadline:
            raise StartError(f"the API did not answer at {url} within {API_START_SECONDS} s")
        time.sleep(0.2)
    return True


def supervise(children: Children, stopper: Stopper) -> int:
    """Wait for a stop request (exit 0) or a child's exit (exit 1)."""
    while not stopper.requested:
        exited = children.exited()
        if exited:
            log.error("[!] the %s process exited with status %s; stopping everything", *exited)
            return 1
        time.sleep(0.2)
    log.info("[!] %s received: stopping", stopper.requested)
    return 0
