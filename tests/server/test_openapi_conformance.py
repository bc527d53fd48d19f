"""The OpenAPI document says what the server does: a bounded schemathesis run with every check.

``tests/test_fuzz.py`` asks "does anything crash"; this asks "does every answer match the
document": documented statuses (errors in OpenAI's shape), content types (JSON or SSE),
required bodies, ``Allow`` on 405 (RFC 9110), schema-valid requests accepted and invalid ones
rejected. Clients generate SDKs and mocks from this document, so a mismatch is a bug.

Bounds: ``MAX_EXAMPLES`` per operation and phase, a short hypothesis deadline, requests with a
timeout, no example database. The gateway runs in front of a loopback upstream whose ``ok``
model answers at once.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from openapi_schema import gateway_document, gateway_schema

MAX_EXAMPLES = 15
MODELS = ["auto", "stub", "no-such-model"]


@pytest.fixture(scope="module")
def gw(gateway_factory, up):  # noqa: ANN001, ANN201
    return gateway_factory(
        {"serve": {"timeout": 2.0, "max_body_bytes": 64 * 1024}, "llms": {"stub": {"provider": "vllm", "model": "ok", "base_url": f"{up.url}/v1"}}},
        prefix=False,
    )


PATHS = ("/v1/chat/completions", "/v1/responses")
schema = gateway_schema(MODELS, max_examples=MAX_EXAMPLES, paths=PATHS)


def _checks(path: str) -> list[Any]:
    """Every schemathesis check; for ``/v1/responses`` all but "schema-valid data is accepted".

    A Responses request is translated to chat item by item (input item kinds, tool kinds,
    tool_choice forms, text.format types: :mod:`openclaw_litellm.responses_request`), and
    those rules are not in its JSON schema yet, so schema-valid bodies can get a (correct,
    documented) 400. Everything else is held to the document there too.
    """
    from schemathesis.checks import CHECKS, load_all_checks, positive_data_acceptance

    load_all_checks()
    checks = list(CHECKS.get_all())
    return [c for c in checks if c is not positive_data_acceptance] if path == "/v1/responses" else checks


@schema.parametrize()
@settings(deadline=5000, database=None, derandomize=True, suppress_health_check=list(HealthCheck), max_examples=MAX_EXAMPLES)
def test_every_answer_matches_the_openapi_document(case, gw) -> None:  # noqa: ANN001
    response = case.call(base_url=gw.url, timeout=10)
    case.validate_response(response, checks=_checks(case.operation.path))


def test_the_document_lists_error_statuses_and_required_bodies() -> None:
    document = gateway_document(MODELS, PATHS)
    for path in ("/v1/chat/completions", "/v1/responses"):
        operation = document["paths"][path]["post"]
        assert operation["requestBody"]["required"] is True
        assert {"400", "401", "404", "413", "429", "502", "504"} <= set(operation["responses"])
        error = operation["responses"]["429"]["content"]["application/json"]["schema"]
        assert error["required"] == ["error"] and {"message", "type", "code", "param"} <= set(error["properties"]["error"]["properties"])
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert set(document["paths"]["/health/ready"]["get"]["responses"]) == {"200", "503"}


def test_a_wrong_method_answers_405_with_allow(gw) -> None:  # noqa: ANN001
    import httpx

    response = httpx.delete(f"{gw.url}/v1/chat/completions", timeout=5)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
