"""Shared test helpers: settings from a dict, recording dispatcher and metrics.

``wait_for`` lives in ``tests.harness.waiting``; it is importable from here too.
"""

from __future__ import annotations

from typing import Any

from tests.harness.waiting import wait_for  # noqa: F401 (imported from here by many tests)
from vmpooler.metrics import Metrics
from vmpooler.settings import Settings, build_settings


def make_settings(redis_url: str, pools: list[dict] | None = None, config: dict | None = None,
                  providers: dict | None = None, **sections: Any) -> Settings:
    raw = {
        "config": {"task_limit": 10, "check_loop_delay_min": 1, "check_loop_delay_max": 2, **(config or {})},
        "redis": {"url": redis_url},
        "providers": providers if providers is not None else {"dummy": {"seed": 1}},
        "pools": pools if pools is not None else [
            {"name": "pool1", "size": 2, "provider": "dummy", "template": "templates/pool1"},
        ],
        **sections,
    }
    return build_settings(raw, env={"VMPOOLER_DEBUG": "1"})


class RecordingDispatcher:
    """A Dispatcher that only records what it was asked to start."""

    def __init__(self):
        self.sent: list[tuple[str, tuple]] = []

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.sent.append((name, args))

    def of(self, kind: str) -> list[tuple]:
        return [args for name, args in self.sent if name == kind]


class RecordingMetrics(Metrics):
    """Keeps every datapoint in memory ."""

    def __init__(self) -> None:
        self.points: list[tuple[str, str, float]] = []

    def increment(self, label: str, value: int = 1) -> None:
        self.points.append(("increment", label, value))

    def timing(self, label: str, value: float) -> None:
        self.points.append(("timing", label, value))

    def gauge(self, label: str, value: float) -> None:
        self.points.append(("gauge", label, value))

    def labels(self, kind: str | None = None) -> list[str]:
        return [label for k, label, _ in self.points if kind is None or k == kind]
