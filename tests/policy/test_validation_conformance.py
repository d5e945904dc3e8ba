"""IAM's write-time validation, replayed from tests/conformance/policy-validation.json.

Every invalid document must fail with exactly the recorded MalformedPolicyDocument message, and every
valid one must parse. The vectors are identity policies (moto's CreatePolicy tests); a document that
names a Principal would be read as a resource policy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import PolicyKind
from monban.policy.parse import parse_policy

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance" / "policy-validation.json"
VECTORS: dict[str, Any] = json.loads(CONFORMANCE.read_text())
INVALID = VECTORS["invalid_policy_document_test_cases"]
VALID = VECTORS["valid_policy_documents"]


def _kind(document: object) -> PolicyKind:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    statements = [statements] if isinstance(statements, dict) else statements
    named = any(isinstance(s, dict) and "Principal" in s for s in statements)
    return PolicyKind.RESOURCE if named else PolicyKind.IDENTITY


def _text(document: object) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def test_vector_counts() -> None:
    assert len(INVALID) == 78
    assert len(VALID) == 54


@pytest.mark.parametrize("case", INVALID, ids=[f"invalid-{i}" for i in range(len(INVALID))])
def test_invalid_document_is_rejected_with_iam_message(case: dict[str, Any]) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(_text(case["document"]), _kind(case["document"]))
    assert caught.value.message == case["error_message"]
    assert caught.value.code == "MalformedPolicyDocument"


@pytest.mark.parametrize("document", VALID, ids=[f"valid-{i}" for i in range(len(VALID))])
def test_valid_document_parses(document: dict[str, Any]) -> None:
    parsed = parse_policy(_text(document), _kind(document))
    body = document["Statement"]
    assert len(parsed.statements) == (1 if isinstance(body, dict) else len(body))
    assert parsed.version == document.get("Version")


@pytest.mark.parametrize("document", VALID, ids=[f"valid-mapping-{i}" for i in range(len(VALID))])
def test_valid_document_parses_from_mapping_and_bytes(document: dict[str, Any]) -> None:
    kind = _kind(document)
    from_text = parse_policy(_text(document), kind)
    assert parse_policy(document, kind) == from_text
    assert parse_policy(_text(document).encode(), kind) == from_text
