"""The vCenter simulator (govmomi's vcsim) for the vSphere provider tests.

The launcher in ``tests/vsphere/vcsim/`` is built once per session from Debian's ``golang-go``
and ``golang-github-vmware-govmomi-dev`` (cached by the hash of its source), then
started on free ports. Without those packages the tests skip, except under CI
(``CI`` set), where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

LAUNCHER_SOURCE = Path(__file__).resolve().parents[1] / "vsphere" / "vcsim"
BUILD_DIR = LAUNCHER_SOURCE.parents[2] / "build" / "vcsim"
GOCODE_ROOT = Path(os.environ.get("GOVMOMI_GOPATH", "/usr/share/gocode"))
USERNAME, PASSWORD = "vmpooler", "vcsim-secret"
# DC0 at the root and F0/DC1 inside a folder; two clusters of three hosts plus a standalone host each.
TOPOLOGY = ["-dc", "2", "-folder", "1", "-cluster", "2", "-clusterhost", "3", "-host", "1", "-vm", "2"]
SOURCE_VM = "DC0_H0_VM0"


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    if under_ci():
        pytest.fail(f"the vSphere tests must run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def vim():
    try:
        from pyVmomi import vim as vim_module
    except ImportError:
        unavailable("pyvmomi is not installed (pip install -e '.[vsphere]')")
    return vim_module


@pytest.fixture(scope="session")
def vcsim_binary(vim) -> Path:
    go = shutil.which("go")
    if go is None:
        unavailable("go is not installed (apt-get install golang-go)")
    if not (GOCODE_ROOT / "src/github.com/vmware/govmomi/simulator").is_dir():
        unavailable(f"govmomi is not under {GOCODE_ROOT} (apt-get install golang-github-vmware-govmomi-dev)")
    digest = hashlib.sha256((LAUNCHER_SOURCE / "main.go").read_bytes()).hexdigest()[:16]
    # A build directory of our own (not pytest's cache plugin, so `-p no:cacheprovider` works).
    cache = BUILD_DIR
    cache.mkdir(parents=True, exist_ok=True)
    binary = cache / f"vcsim-launcher-{digest}"
    if not binary.exists():
        env = dict(os.environ, GOPATH=str(GOCODE_ROOT), GO111MODULE="off", GOCACHE=str(cache / "go-build"),
                   GOFLAGS="")
        partial = binary.with_suffix(f".{os.getpid()}.tmp")
        built = subprocess.run([go, "build", "-o", str(partial), "."], cwd=LAUNCHER_SOURCE, env=env,
                               capture_output=True, text=True, timeout=600)
        if built.returncode != 0:
            pytest.fail(f"building the vcsim launcher failed:\n{built.stderr}", pytrace=False)
        partial.replace(binary)
    return binary


class Simulator:
    """A running launcher: SOAP endpoint plus the control endpoint."""

    def __init__(self, process: subprocess.Popen, soap_url: str, ctl_url: str):
        self.process = process
        parsed = urllib.parse.urlparse(soap_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.ctl_url = ctl_url

    def _control(self, path: str, **params: Any) -> None:
        query = urllib.parse.urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})
        with urllib.request.urlopen(f"{self.ctl_url}/{path}?{query}", timeout=10) as response:
            assert response.status == 200

    def set_host(self, name: str, **params: Any) -> None:
        """cpu, mem (MHz / MB used), cpuMhz, cores, memSize, status, configIssue, maint, cpuModel."""
        self._control("host", name=name, **params)

    def set_vm(self, name: str, **params: Any) -> None:
        """ip, hostname, tools (e.g. toolsOk)."""
        self._control("vm", name=name, **params)

    def reset(self) -> None:
        self._control("reset")

    def provider_options(self, **overrides: Any) -> dict[str, Any]:
        options = {"server": self.host, "port": self.port, "username": USERNAME, "password": PASSWORD,
                   "insecure": True}
        options.update(overrides)
        return options


def start_simulator(binary: Path, *flags: str) -> Simulator:
    # The launcher exits when its stdin closes, so a killed test run leaves no simulator behind.
    process = subprocess.Popen([str(binary), "-watch-stdin", "-username", USERNAME, "-password", PASSWORD,
                                *TOPOLOGY, *flags],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        pytest.fail(f"vcsim did not start: {process.stderr.read()}", pytrace=False)
    info = json.loads(line)
    return Simulator(process, info["url"], info["ctl"])


def stop_simulator(simulator: Simulator) -> None:
    simulator.process.terminate()
    simulator.process.communicate(timeout=10)


@pytest.fixture(scope="session")
def vcsim(vcsim_binary, vim) -> Simulator:
    simulator = start_simulator(vcsim_binary)
    yield simulator
    stop_simulator(simulator)


@pytest.fixture
def extra_vcsim(vcsim_binary, vim) -> Callable[..., Simulator]:
    """``extra_vcsim(*flags)``: another simulator for this test only (e.g. ``-session-idle``)."""
    started: list[Simulator] = []

    def start(*flags: str) -> Simulator:
        started.append(start_simulator(vcsim_binary, *flags))
        return started[-1]

    yield start
    for simulator in started:
        stop_simulator(simulator)


@dataclass
class Admin:
    """A direct pyVmomi session for arranging and inspecting the simulator's inventory."""

    si: Any
    vim: Any

    @property
    def content(self) -> Any:
        return self.si.content

    def find(self, path: str) -> Any:
        return self.content.searchIndex.FindByInventoryPath(path)

    def wait(self, task: Any) -> Any:
        from vmpooler.providers.vsphere.props import wait_for_task

        return wait_for_task(self.content, task, 30, "test setup")

    def read(self, obj: Any, *paths: str) -> dict[str, Any]:
        from vmpooler.providers.vsphere.props import read

        return read(self.content, obj, paths)

    def folder(self, path: str) -> Any:
        """``<dc>/vm/<relative>``, created level by level."""
        dc, _, relative = path.partition("/vm/")
        current = self.find(f"{dc}/vm")
        for name in [part for part in relative.split("/") if part]:
            child = self.content.searchIndex.FindChild(current, name)
            current = child if child is not None else current.CreateFolder(name)
        return current

    def clone(self, folder_path: str, name: str, power_on: bool = False, source: str = f"DC0/vm/{SOURCE_VM}") -> Any:
        """A plain VM in a folder (vcsim ignores ``powerOn``, so power it on separately)."""
        spec = self.vim.vm.CloneSpec(location=self.vim.vm.RelocateSpec(), powerOn=False, template=False)
        vm = self.wait(self.find(source).CloneVM_Task(folder=self.folder(folder_path), name=name, spec=spec))
        if power_on:
            self.power_on(vm)
        return vm

    def power_on(self, vm: Any) -> None:
        self.wait(vm.PowerOnVM_Task())

    def host(self, dc: str, compute: str, name: str) -> Any:
        return self.find(f"{dc}/host/{compute}/{name}")

    def host_name_of(self, vm: Any) -> str:
        host = self.read(vm, "summary.runtime.host")["summary.runtime.host"]
        return self.read(host, "name")["name"]

    def make_template(self, source: str, folder_path: str, name: str) -> None:
        vm = self.find(source)
        if self.read(vm, "runtime.powerState")["runtime.powerState"] == "poweredOn":
            self.wait(vm.PowerOffVM_Task())
        self.wait(self.folder(folder_path).MoveIntoFolder_Task([vm]))
        self.wait(vm.Rename_Task(name))
        vm.MarkAsTemplate()


@pytest.fixture(scope="session")
def admin(vcsim, vim) -> Admin:
    from pyVim.connect import Disconnect, SmartConnect

    si = SmartConnect(host=vcsim.host, port=vcsim.port, user=USERNAME, pwd=PASSWORD,
                      disableSslCertValidation=True)
    helper = Admin(si, vim)
    # Templates live in sub-folders, as vmpooler requires (`Templates/centos-7`).
    helper.make_template("DC0/vm/DC0_C0_RP0_VM1", "DC0/vm/Templates", "centos-7")
    helper.make_template("F0/DC1/vm/F0/DC1_C0_RP0_VM1", "F0/DC1/vm/Templates", "ubuntu-20")
    yield helper
    Disconnect(si)


@pytest.fixture(autouse=True)
def _hosts_back_to_normal(request):
    yield
    if "vcsim" in request.fixturenames:
        request.getfixturevalue("vcsim").reset()


@pytest.fixture
def unique() -> str:
    """A short name no other test uses, for pools, folders and VMs."""
    return uuid.uuid4().hex[:8]


class FakeSleep:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def make_provider(vcsim, admin) -> Callable[..., Any]:
    """``make_provider(pools=[...], config={...}, **provider_options)`` -> a VSphereProvider.

    The provider gets a RecordingMetrics (``.metrics``), a recording sleep
    (``.test_sleep``) and, unless given, a resolver that refuses every name.
    """
    from tests.helpers import RecordingMetrics
    from vmpooler.providers import registry
    from vmpooler.providers.base import ProviderDeps
    from vmpooler.settings import build_settings

    made = []

    def make(pools: list[dict] | None = None, config: dict | None = None, name: str = "vsphere",
             resolver: Callable[[str], str] | None = None, provider_section: dict | None = None, **options: Any):
        section = dict(vcsim.provider_options(**options), **(provider_section or {}))
        if name != "vsphere":
            section["provider_class"] = "vsphere"
        raw = {"config": dict(config or {}), "providers": {name: section},
               "pools": [dict({"size": 1, "provider": name}, **pool) for pool in pools or []]}
        settings = build_settings(raw, env={})
        sleep = FakeSleep()
        extras = {"sleep": sleep, "resolver": resolver or refuse_resolution}
        provider = registry.create(settings.providers[name],
                                   ProviderDeps(settings=settings, metrics=RecordingMetrics(), extras=extras))
        provider.test_sleep = sleep
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def refuse_resolution(name: str) -> str:
    raise socket.gaierror(f"test resolver: unknown host {name}")
