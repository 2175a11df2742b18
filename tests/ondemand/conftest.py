"""A running vmpooler whose beat also sends the on-demand task, as the real schedule does."""

from __future__ import annotations

import contextlib
import threading

import pytest

from tests.harness.service import running_pooler
from tests.helpers import make_settings
from vmpooler.tasks.dispatch import CeleryDispatcher


@contextlib.contextmanager
def ondemand_ticks(app, interval: float = 0.25):
    dispatch = CeleryDispatcher(app)
    stop = threading.Event()

    def tick():
        while not stop.wait(interval):
            dispatch.ondemand()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def ondemand_pooler(redis_url, redis_client):
    """Start a vmpooler (worker, pool ticker, on-demand ticker, HTTP API)."""
    stack = contextlib.ExitStack()

    def start(pools, config=None, providers=None, **sections):
        settings = make_settings(redis_url, pools=pools, config=config, providers=providers, **sections)
        pooler = stack.enter_context(running_pooler(settings))
        stack.enter_context(ondemand_ticks(pooler.app))
        return pooler

    with stack:
        yield start
