"""Property-based requests generated from the OpenAPI spec against a real server on 127.0.0.1.

Every operation except `POST /v1/rules/reload` gets a bounded number of generated requests
(reload would change the served rules under the other examples). No response may be a 5xx,
and each must match the status codes and schemas the spec documents.

Two checks are off. Negative data: the household model converts by design (0/1 for
booleans, "3" for a need score, as spreadsheets hold them), and the batch endpoint answers
an invalid household with a per-item error inside a 200 response. Positive data: some
rules span several fields (exactly one member is the head) and JSON Schema cannot state
them, so schema-valid households may rightly get 422.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from service.app import create_app
from service.settings import Settings
from tests.service_support import BOTH_ROLES, TOKENS, Server, copy_rules

MAX_EXAMPLES = 20
EXCLUDED_CHECKS = [negative_data_rejection, positive_data_acceptance]


def _spec() -> dict:
    """Build the spec from the app itself; the served /openapi.json is the same document."""
    app = create_app(Settings(_env_file=None, tokens=TOKENS))
    try:
        return app.openapi()
    finally:
        app.state.registry.close()


# NOTE: schemathesis.pytest.from_fixture, which would load the spec from the live server,
# fails under pytest 9.2 (schemathesis 4.32.5: "'Function' object has no attribute '_nodeid'").
# So the spec is built at import time, and test_served_spec_matches checks it equals the served one.
SPEC = _spec()
schema = schemathesis.openapi.from_dict(SPEC).exclude(path="/v1/rules/reload")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("schemathesis")
    server = Server(copy_rules(base / "rules"), base / "server.log")
    yield server
    server.stop()


def test_served_spec_matches(live_server):
    status, body = live_server.request("GET", "/openapi.json")

    assert status == 200
    assert json.loads(body) == SPEC


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_spec(case, live_server):
    case.call_and_validate(base_url=live_server.url, headers=BOTH_ROLES, excluded_checks=EXCLUDED_CHECKS)
