"""Metrics behind one interface (``increment``, ``timing``, ``gauge``).

Labels are the original's dotted names (``clone.<pool>``, ``errors.markedasfailed.<pool>``).
"""

from __future__ import annotations


class Metrics:
    def increment(self, label: str, value: int = 1) -> None:
        raise NotImplementedError

    def timing(self, label: str, value: float) -> None:
        raise NotImplementedError

    def gauge(self, label: str, value: float) -> None:
        raise NotImplementedError


class NullMetrics(Metrics):
    """The default backend: metrics are dropped."""

    def increment(self, label: str, value: int = 1) -> None:
        pass

    def timing(self, label: str, value: float) -> None:
        pass

    def gauge(self, label: str, value: float) -> None:
        pass


class RecordingMetrics(Metrics):
    """Keeps every datapoint in memory (used by tests and benchmarks)."""

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
