"""The on-demand and configuration endpoints under fuzzing, with every write enabled:
never a server error, and every answer matches the OpenAPI document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance


@schemathesis.check
def no_server_error(ctx, response, case):
    """A 503 (pool busy) is documented; anything else >= 500 is a bug."""
    if response.status_code >= 500 and response.status_code != 503:
        raise AssertionError(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")


@pytest.fixture
def config_schema(make_api):
    api = make_api(config={"experimental_features": True, "domain": "example.com"})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app)


schema = schemathesis.pytest.from_fixture("config_schema").include(path_regex="^/api/v1/(ondemandvm|config|poolreset)")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_configuration_and_ondemand(case):
    response = case.call()
    case.validate_response(response, checks=[no_server_error, response_schema_conformance,
                                             status_code_conformance, content_type_conformance])
