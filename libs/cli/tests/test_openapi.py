"""Every service's OpenAPI document says what its errors really are: RFC 9457 problems."""

import dataclasses
import importlib

import pytest

from v2v_runtime.service import ServiceKit
from v2v_runtime.testing import TEST_ISSUER


@pytest.mark.requirement("EU-Annex11.4.7")
@pytest.mark.parametrize("service", ["custody", "logistics", "batch", "qc"])
def test_errors_are_documented_as_problem_json(service: str) -> None:
    spec = importlib.import_module(f"v2v_{service}.bootstrap").build()
    spec = dataclasses.replace(spec, token_verifier=TEST_ISSUER.verifier())
    doc = ServiceKit(spec).http_app(manage_lifecycle=False).openapi()
    assert "Problem" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    operations = [op for path in doc["paths"].values() for op in path.values()]
    assert operations
    for op in operations:
        for status, response in op["responses"].items():
            if status.startswith("4"):
                assert list(response.get("content", {})) == ["application/problem+json"], (
                    op.get("operationId"),
                    status,
                )
