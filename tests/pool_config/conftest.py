"""A running vmpooler (worker, pool ticker, HTTP API) with any configuration sections."""

from __future__ import annotations

import contextlib

import pytest

from tests.harness.service import running_pooler
from tests.helpers import make_settings


@pytest.fixture
def config_pooler(redis_url, redis_client):
    stack = contextlib.ExitStack()

    def start(pools, config=None, providers=None, **sections):
        settings = make_settings(redis_url, pools=pools, config=config, providers=providers, **sections)
        return stack.enter_context(running_pooler(settings))

    with stack:
        yield start
