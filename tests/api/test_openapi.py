"""The OpenAPI document lists every route, and the API keeps to it under fuzzing."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from vmpooler.api.openapi import build_document, undocumented_routes


@schemathesis.check
def no_undocumented_server_error(ctx, response, case):
    """5xx only where the document promises one (503: no ready VM, unhealthy service); never a 500."""
    documented = case.operation.definition.raw.get("responses", {})
    if response.status_code >= 500 and str(response.status_code) not in documented:
        raise AssertionError(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")


FUZZ_CHECKS = [no_undocumented_server_error, response_schema_conformance, status_code_conformance,
               content_type_conformance]


def test_every_route_is_documented(api):
    assert undocumented_routes(api.app) == []
    document = api.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    def shape(path: str) -> str:
        return re.sub(r"[<{][^>}]*[>}]", "{}", path)

    documented = {(shape(path), method) for path, ops in document["paths"].items() for method in ops}
    assert len({shape(path) for path in document["paths"]}) == len(document["paths"]), "ambiguous paths"
    for rule in api.app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path = shape(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {rule.rule} is not in the document"


def test_an_undocumented_route_is_reported(api):
    @api.app.get("/api/v1/secret")
    def secret():
        return "x"

    assert undocumented_routes(api.app) == ["['GET'] /api/v1/secret"]


def test_keyed_responses_describe_their_other_keys(api):
    schemas = build_document(api.app)["components"]["schemas"]
    assert schemas["Checkout"]["additionalProperties"]["$ref"].endswith("/Hostnames")
    assert "oneOf" in schemas["CheckoutRequest"]["additionalProperties"]
    json.dumps(schemas)


@pytest.fixture
def fuzz_app(make_api):
    api = make_api(config={"domain": "example.com", "max_lifetime_upper_limit": 48},
                   auth={"provider": "dummy"}, tagfilter={"url": "(.*)/job"})
    for n in range(30):
        api.add_vm("pool1", f"ready{n}")
        api.add_vm("pool2", f"other{n}")
    api.add_vm("pool1", "busy", state="running", checkout="2026-01-10 08:00:00 +0000")
    return api.app


@pytest.fixture
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_no_server_errors_and_answers_match_the_document(case):
    response = case.call()
    case.validate_response(response, checks=FUZZ_CHECKS)
