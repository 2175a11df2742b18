"""Without the simulator's build dependencies the vSphere tests skip, except under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.vsphere

ROOT = Path(__file__).resolve().parents[2]
A_SIMULATOR_TEST = "tests/vsphere/test_inventory.py::test_first_datacenter_is_the_default"


def run_without_govmomi(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["GOVMOMI_GOPATH"] = str(tmp_path / "no-gocode")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", A_SIMULATOR_TEST, "-q", "-rs", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_skips_with_a_reason_outside_ci(tmp_path):
    run = run_without_govmomi(tmp_path, ci=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "apt-get install golang-github-vmware-govmomi-dev" in run.stdout


def test_fails_under_ci(tmp_path):
    run = run_without_govmomi(tmp_path, ci="true")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "the vSphere tests must run under CI" in run.stdout
