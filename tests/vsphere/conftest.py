"""Fixtures of the vSphere provider tests (the simulator itself is in ``tests/harness/vcsim.py``)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def pool(unique) -> dict[str, Any]:
    """A pool in DC0 cloning ``Templates/centos-7`` into its own folder."""
    return {"name": f"pool-{unique}", "template": "Templates/centos-7", "folder": f"vmpooler/pool-{unique}",
            "datastore": "LocalDS_0", "datacenter": "DC0"}


@pytest.fixture
def clone_spy(monkeypatch, vim) -> list[dict[str, Any]]:
    """Every CloneVM_Task call's arguments, as sent (vcsim ignores parts of the spec)."""
    calls: list[dict[str, Any]] = []
    original = vim.VirtualMachine.__dict__["CloneVM_Task"]

    def spy(self, **kwargs):
        calls.append(kwargs)
        return original.__get__(self, type(self))(**kwargs)

    monkeypatch.setattr(vim.VirtualMachine, "CloneVM_Task", spy)
    return calls
