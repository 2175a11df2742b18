"""Waiting on observable state instead of on time."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, message: str = ""):
    """Poll ``condition`` until it is truthy and return its value; fail with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message or condition}")
        time.sleep(interval)
