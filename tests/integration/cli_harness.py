"""Running the ``vmpooler`` command as a user does: a real process, in a directory of the test's
choosing, with HOME, XDG_STATE_HOME and TMPDIR of its own (so no state file or Redis is shared)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import requests

from tests.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ")
FAST_CONFIG = """\
:config:
  task_limit: 2
  check_loop_delay_min: 1
:providers:
  :dummy:
    createvm_max_time: 0.2
    destroyvm_max_time: 0.1
:pools:
  - name: 'quick'
    alias: 'fast'
    template: 't/quick'
    size: 1
    provider: dummy
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class User:
    """A user's shell: a home, a working directory and an environment without any Redis or config."""

    def __init__(self):
        # Short paths: the embedded Redis's socket lives in the state directory.
        self.root = Path(tempfile.mkdtemp(prefix="vmp-"))
        self.home, self.cwd, self.tmp = self.root / "home", self.root / "cwd", self.root / "tmp"
        for path in (self.home, self.cwd, self.tmp):
            path.mkdir()
        self.state = self.home / "state" / "vmpooler"
        drop = ("REDIS_URL", "REDIS_SERVER", "VMPOOLER_CONFIG", "VMPOOLER_CONFIG_FILE", "VMPOOLER_STATE_DIR",
                "LOGFILE", "VMPOOLER_DEBUG")
        self.env = {key: value for key, value in os.environ.items() if key not in drop}
        self.env.update(HOME=str(self.home), XDG_STATE_HOME=str(self.home / "state"), TMPDIR=str(self.tmp),
                        PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")

    def write(self, name: str, text: str) -> Path:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def command(self, *args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vmpooler.cli", *args], capture_output=True, text=True,
                              cwd=self.cwd, env={**self.env, **(env or {})}, timeout=timeout)

    def start(self, *args: str, env: dict | None = None) -> Running:
        return Running(self, args, env)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class Running:
    """A ``vmpooler`` command running in the background, its output in a file."""

    def __init__(self, user: User, args: tuple[str, ...], env: dict | None):
        self.output_path = user.root / f"output-{len(list(user.root.glob('output-*')))}.log"
        self._output = open(self.output_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "vmpooler.cli", *args], cwd=user.cwd,
                                        env={**user.env, **(env or {})}, stdout=self._output,
                                        stderr=subprocess.STDOUT)

    @property
    def output(self) -> str:
        return self.output_path.read_text()

    def wait_output(self, text: str, timeout: float = 90) -> None:
        wait_for(lambda: text in self.output or self.process.poll() is not None, timeout=timeout, interval=0.1,
                 message=f"{text!r} in the output")
        assert text in self.output, self.output

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def close(self) -> None:
        if self.process.poll() is None:
            for child in self.descendants():
                child.kill()
            self.process.kill()
        self.process.wait()
        self._output.close()


def wait_running(run: Running, port: int) -> None:
    run.wait_output("vmpooler is running")
    requests.get(f"http://127.0.0.1:{port}/api/v1/vm", timeout=10).raise_for_status()


def all_gone(processes: list[psutil.Process], timeout: float) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive == []

