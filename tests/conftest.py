"""Every test gets the harness's fixtures (see ``tests/harness/__init__.py``)."""

pytest_plugins = [
    "tests.harness.fixtures",
    "tests.harness.service",
    "tests.harness.api",
    "tests.harness.vcsim",
]
