from tests.integration.conftest import http, pooler_factory  # noqa: F401 (fixtures)
