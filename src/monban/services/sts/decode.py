"""Encoded authorization messages and DecodeAuthorizationMessage.

Where AWS adds "Encoded authorization failure message: <blob>" to an AccessDenied (EC2 and STS
style denials; in monban: AssumeRole's denials), the blob is the decision's reasons sealed with
``keyring.messages`` and bound to the denied caller's account: only a principal of that account
that is allowed ``sts:DecodeAuthorizationMessage`` can read it (STS API reference,
DecodeAuthorizationMessage). The decoded JSON has AWS's shape: ``allowed``, ``explicitDeny``,
``matchedStatements``, ``failures``, ``context{principal{id,name,arn},action,resource,conditions}``.
Tags of the resource (``aws:ResourceTag/…``) are left out of the conditions: the resource may be in
another account, and its owner's tags are not the caller's to read.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from monban.access.principal import Caller
from monban.access.state import AppState
from monban.credentials.keyring import SealError
from monban.policy import Decision
from monban.protocol.errors import AwsError
from monban.services.query import Operation, QueryCall, Result, register
from monban.services.sts.validate import Violations

OPERATIONS: dict[str, Operation] = {}

MAX_ENCODED = 10240  # encodedMessageType max length (botocore's sts model)
_HIDDEN_PREFIXES = ("aws:resourcetag/",)

ContextValues = Mapping[str, str | Sequence[str] | None]


def _principal(caller: Caller) -> dict[str, str]:
    p = caller.principal
    name = p.arn.rsplit("/", 1)[-1] if "/" in p.arn else p.account
    return {"id": p.unique_id, "name": name, "arn": p.arn}


def _conditions(values: ContextValues) -> list[dict[str, Any]]:
    items = []
    for key in sorted(values, key=str.lower):
        value = values[key]
        if value is None or key.lower().startswith(_HIDDEN_PREFIXES):
            continue
        listed = [value] if isinstance(value, str) else list(value)
        items.append({"key": key, "values": {"items": [{"value": v} for v in listed]}})
    return items


def _statements(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "statementId": m.sid if m.sid is not None else str(m.index),
            "effect": m.effect.upper(),
            "policy": m.policy,
            "stage": m.stage,
        }
        for m in decision.matched
    ]


def authorization_document(
    caller: Caller, action: str, resource: str, decision: Decision, values: ContextValues
) -> dict[str, Any]:
    """The decoded message: AWS's field names, the engine's reasons."""
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.decision == "explicitDeny",
        "matchedStatements": {"items": _statements(decision)},
        "failures": {"items": []},
        "reason": decision.reason,
        "context": {
            "principal": _principal(caller),
            "action": action,
            "resource": resource,
            "conditions": {"items": _conditions(values)},
        },
    }


def _seal(state: AppState, account: str, document: Mapping[str, Any]) -> str:
    raw = zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)
    sealed = state.keyring.messages.seal(raw, account.encode())
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def encode_denial(
    state: AppState, caller: Caller, action: str, resource: str, decision: Decision, values: ContextValues
) -> str:
    """The sealed blob for an AccessDenied, at most 10,240 characters (conditions, then matched
    statements, are dropped if a message would be longer)."""
    document = authorization_document(caller, action, resource, decision, values)
    blob = _seal(state, caller.account, document)
    if len(blob) > MAX_ENCODED:
        document["context"]["conditions"] = {"items": []}
        blob = _seal(state, caller.account, document)
    if len(blob) > MAX_ENCODED:
        document["matchedStatements"] = {"items": []}
        blob = _seal(state, caller.account, document)
    return blob


def with_encoded_message(message: str, blob: str) -> str:
    """AWS's form: "<message>. Encoded authorization failure message: <blob>"."""
    return f"{message.rstrip('.')}. Encoded authorization failure message: {blob}"


def _invalid() -> AwsError:
    return AwsError("InvalidAuthorizationMessageException", "Invalid authorization message")


def decode_message(state: AppState, account: str, encoded: str) -> str:
    """The JSON text of a message sealed for ``account``; InvalidAuthorizationMessageException for
    anything else (garbage, tampering, another account's message)."""
    try:
        sealed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        raw = zlib.decompress(state.keyring.messages.open(sealed, account.encode()))
        return json.dumps(json.loads(raw), separators=(",", ":"))
    except (SealError, binascii.Error, ValueError, zlib.error) as exc:
        raise _invalid() from exc


@register(OPERATIONS, "DecodeAuthorizationMessage", inline=True)
def decode_authorization_message(call: QueryCall) -> Result:
    """Needs ``sts:DecodeAuthorizationMessage`` (resource ``*``)."""
    encoded = call.params.required("EncodedMessage")
    checks = Violations()
    checks.text(encoded, "encodedMessage", low=1, high=MAX_ENCODED)
    checks.raise_any()
    call.authorize("sts:DecodeAuthorizationMessage", "*")
    return {"DecodedMessage": decode_message(call.state, call.caller.account, encoded)}
