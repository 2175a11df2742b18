"""Waiting for vSphere tasks.

vcsim finishes every task inside the call that starts it, so a task that is
still running is played by a stand-in property collector.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from vmpooler.providers.base import ProviderError

pytestmark = pytest.mark.vsphere


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def collector_reporting(task, *states, error=None):
    """A property collector whose task reports ``states`` in turn (the last one forever)."""
    remaining = list(states)

    def retrieve(specs, options):
        state = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        values = {"info.state": state, "info.result": "done", "info.error": error}
        return SimpleNamespace(token=None, objects=[
            SimpleNamespace(obj=task, propSet=[SimpleNamespace(name=k, val=v) for k, v in values.items()])])

    return SimpleNamespace(propertyCollector=SimpleNamespace(RetrievePropertiesEx=retrieve))


@pytest.fixture
def task(vim):
    return vim.Task("task-1", None)


def test_running_task_times_out(task):
    from vmpooler.providers.vsphere.props import wait_for_task

    clock = Clock()
    with pytest.raises(ProviderError, match="cloning vm1 did not finish within 10 seconds"):
        wait_for_task(collector_reporting(task, "running"), task, 10, "cloning vm1", sleep=clock.sleep, clock=clock)
    assert 10 <= clock.now < 12
    assert clock.sleeps[:3] == [0.05, 0.1, 0.2] and max(clock.sleeps) == 2.0


def test_task_result_once_it_succeeds(task):
    from vmpooler.providers.vsphere.props import wait_for_task

    clock = Clock()
    content = collector_reporting(task, "queued", "running", "success")
    assert wait_for_task(content, task, 10, "x", sleep=clock.sleep, clock=clock) == "done"
    assert clock.sleeps == [0.05, 0.1]


def test_failed_task_raises_with_the_fault(task, vim):
    from vmpooler.providers.vsphere.props import TaskFailed, wait_for_task

    fault = vim.fault.InvalidPowerState(msg="The attempted operation cannot be performed in the current state")
    content = collector_reporting(task, "error", error=fault)
    with pytest.raises(TaskFailed, match="powering off vm1 failed: The attempted operation") as failure:
        wait_for_task(content, task, 10, "powering off vm1")
    assert failure.value.fault is fault
