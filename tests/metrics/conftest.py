"""Fixtures of the monitoring tests."""

from __future__ import annotations

import logging

import pytest


class LogLines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def vmpooler_log():
    """Messages of the ``vmpooler`` loggers (attached directly: configure_logging stops propagation)."""
    handler = LogLines()
    logger = logging.getLogger("vmpooler")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
