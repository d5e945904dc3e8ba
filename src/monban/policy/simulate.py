"""``monban simulate``: authorization requests as JSON in, decisions as JSON lines out.

Input: JSON lines, or one JSON document holding a request object or a list of them, from a file
or stdin. A request::

    {"principal": "arn:aws:iam::111122223333:user/alice"            # or an object, see below
     "action": "s3:GetObject", "resource": "arn:aws:s3:::bucket/key",
     "resource_account": "111122223333",                            # default: the caller's
     "context": {"aws:SourceIp": "192.0.2.1", "aws:TagKeys": ["a", "b"]},
     "identity_policies": [<document> or {"name": ..., "document": <document>}, ...],
                          # a document may be an AWS managed policy's ARN
     "resource_policy": ..., "permissions_boundary": ..., "session_policies": [...],
     "scps": [[...], [...]],                                        # one list per organization level
     "is_trust_policy": false}

A document is a JSON object or its text. The principal object has ``type``, ``account``, ``arn``,
``unique_id``, ``role_arn``, ``service``, ``tags``; what is missing is derived from the ARN, and an
ARN string alone is enough for root, users, roles (simulated as a session of the role),
assumed-role sessions and federated users; ``"*"`` is an anonymous caller and a bare service name
(``ec2.amazonaws.com``) a service principal. The context gets the global keys the caller implies
(``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:userid``,
``aws:username``, ``aws:PrincipalTag/…``) unless it sets them itself. Other fields (a case's
``rule`` or ``expect``) are ignored.

Output, one line per request: ``{"decision", "matched": [{"policy", "index", "sid", "effect",
"stage"}], "reason"}``, or ``{"error": {"code", "message"}}`` for a request that cannot be
evaluated — ``MalformedPolicyDocument`` with IAM's message for a bad policy, ``InvalidInput`` for
anything else. :func:`build_request` is the same translation for IAM's SimulatePrincipalPolicy and
SimulateCustomPolicy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from base64 import b32encode
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

from monban.aws_managed import aws_document, is_aws_arn
from monban.policy.compiled import NamedPolicy, load_policy
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.evaluate import evaluate
from monban.policy.matching import has_identity_policies
from monban.policy.model import PolicyKind
from monban.policy.request import AuthzRequest, PolicySet
from monban.policy.types import Decision, Principal, PrincipalType

__all__ = [
    "InvalidInput",
    "answer",
    "build_request",
    "decision_json",
    "main",
    "principal_from_arn",
    "principal_keys",
    "run",
]

_DESCRIPTION = (
    "Evaluate authorization requests (JSON lines, or one JSON document)\nwith monban's policy engine."
)
_EPILOG = """\
a request: {"principal": ARN, "action": "s3:GetObject", "resource": ARN, "context": {...},
  "identity_policies": [...], "resource_policy", "permissions_boundary", "session_policies",
  "scps": [[...], ...], "resource_account", "is_trust_policy"}
one output line per request: {"decision": "allowed" | "explicitDeny" | "implicitDeny",
  "matched": [...], "reason": ...}, or {"error": {"code", "message"}}
exit status: 0 when it ran, 2 when FILE cannot be read"""
_SIMULATED_SESSION = "monban-simulate"
_WEB_IDENTITY_PROVIDERS = frozenset(
    {"accounts.google.com", "cognito-identity.amazonaws.com", "graph.facebook.com", "www.amazon.com"}
)


class InvalidInput(ValueError):
    """A request that is not of the documented shape (IAM's ``InvalidInput``)."""

    code = "InvalidInput"


# --- principals ------------------------------------------------------------------------------


def _fake_id(prefix: str, seed: str) -> str:
    """A stable unique id (AIDA…/AROA…, 21 characters) for a simulated entity."""
    digest = b32encode(hashlib.sha256(seed.encode()).digest()).decode()
    return prefix + digest[:17]


def _iam_arn(fields: list[str], account: str, resource: str) -> Principal:
    kind, _, rest = resource.partition("/")
    if resource == "root":
        return Principal(type="Account", account=account, arn=":".join(fields), unique_id=account)
    if kind == "user" and rest:
        return Principal(
            type="User", account=account, arn=":".join(fields), unique_id=_fake_id("AIDA", ":".join(fields))
        )
    if kind == "role" and rest:
        name = rest.rsplit("/", 1)[-1]
        role_arn = ":".join(fields)
        session = f"arn:{fields[1]}:sts::{account}:assumed-role/{name}/{_SIMULATED_SESSION}"
        unique = f"{_fake_id('AROA', role_arn)}:{_SIMULATED_SESSION}"
        return Principal(
            type="AssumedRole", account=account, arn=session, unique_id=unique, role_arn=role_arn
        )
    if kind in ("oidc-provider", "saml-provider") and rest:
        return Principal(type="FederatedUser", account=account, arn=":".join(fields), unique_id=rest)
    raise InvalidInput(f"not a principal ARN: {':'.join(fields)}")


def _sts_arn(fields: list[str], account: str, resource: str) -> Principal:
    arn = ":".join(fields)
    kind, _, rest = resource.partition("/")
    role, _, session = rest.partition("/")
    if kind == "assumed-role" and role and session:
        role_arn = f"arn:{fields[1]}:iam::{account}:role/{role}"
        unique = f"{_fake_id('AROA', role_arn)}:{session}"
        return Principal(type="AssumedRole", account=account, arn=arn, unique_id=unique, role_arn=role_arn)
    if kind == "federated-user" and rest:
        return Principal(type="FederatedUser", account=account, arn=arn, unique_id=f"{account}:{rest}")
    raise InvalidInput(f"not a principal ARN: {arn}")


def principal_from_arn(value: str) -> Principal:
    """The caller an ARN (or ``*``, a service name, a web identity provider) stands for."""
    if value in ("*", "anonymous"):
        return Principal(type="Anonymous", account="", arn="*", unique_id="anonymous")
    if value in _WEB_IDENTITY_PROVIDERS:
        return Principal(type="FederatedUser", account="", arn=value, unique_id=value)
    if value.endswith(".amazonaws.com") and ":" not in value:
        return Principal(type="Service", account="", arn=value, unique_id=value, service=value)
    fields = value.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn" or not (len(fields[4]) == 12 and fields[4].isdigit()):
        raise InvalidInput(f"not a principal ARN: {value}")
    if fields[2] == "iam":
        return _iam_arn(fields, fields[4], fields[5])
    if fields[2] == "sts":
        return _sts_arn(fields, fields[4], fields[5])
    raise InvalidInput(f"not a principal ARN: {value}")


_PRINCIPAL_TYPES: frozenset[str] = frozenset(
    {"Account", "User", "AssumedRole", "FederatedUser", "Service", "Anonymous"}
)


def _text(data: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value


def _principal_object(data: Mapping[str, Any]) -> Principal:
    """A principal object; missing fields come from its ARN."""
    arn = _text(data, "arn")
    base = None
    if arn is not None:
        try:
            base = principal_from_arn(arn)
        except InvalidInput:
            if "type" not in data:
                raise
    kind = _text(data, "type", base.type if base else None)
    if kind not in _PRINCIPAL_TYPES:
        raise InvalidInput(f"principal type must be one of {', '.join(sorted(_PRINCIPAL_TYPES))}")
    tags = data.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise InvalidInput("principal tags must be an object of strings")
    principal_type: PrincipalType = kind  # type: ignore[assignment]
    return Principal(
        type=principal_type,
        account=_text(data, "account", base.account if base else "") or "",
        arn=arn or "*",
        unique_id=_text(data, "unique_id", base.unique_id if base else "") or "",
        role_arn=_text(data, "role_arn", base.role_arn if base else None),
        service=_text(data, "service", base.service if base else None),
        tags=dict(tags),
    )


def _principal(value: object) -> Principal:
    if isinstance(value, str):
        return principal_from_arn(value)
    if isinstance(value, dict):
        return _principal_object(value)
    raise InvalidInput("principal must be an ARN or an object")


# --- context ---------------------------------------------------------------------------------


def _context_value(key: str, value: object) -> ContextValue:
    """JSON to a context value: strings, lists of strings; booleans and numbers as IAM reads them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return [str(_context_value(key, item)) for item in value]
    raise InvalidInput(f"context value of {key} must be a string, a number, a boolean or a list")


def principal_keys(principal: Principal) -> dict[str, ContextValue]:
    """The global condition keys a signed request by ``principal`` carries (reference §6)."""
    if not has_identity_policies(principal):
        return {}
    keys: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.role_arn or principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": principal.type,
        "aws:userid": principal.unique_id,
    }
    if principal.type == "User":
        keys["aws:username"] = principal.arn.rsplit("/", 1)[-1]
    for key, value in principal.tags.items():
        keys[f"aws:PrincipalTag/{key}"] = value
    return keys


def _context(value: object, principal: Principal) -> RequestContext:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidInput("context must be an object")
    given = {str(key): _context_value(str(key), item) for key, item in value.items()}
    return RequestContext(principal_keys(principal)).merged(given)


# --- policies --------------------------------------------------------------------------------


def _policy(value: object, kind: PolicyKind, default_name: str) -> NamedPolicy:
    """A document (object or JSON text), an AWS managed policy's ARN (its default version, named
    after it), or ``{"name", "document"}``, compiled."""
    name = default_name
    if isinstance(value, dict) and "document" in value:
        name = _text(value, "name", default_name) or default_name
        value = value["document"]
    elif isinstance(value, str) and is_aws_arn(value):
        name = value.rsplit("/", 1)[-1]
    if isinstance(value, str) and is_aws_arn(value):
        document = aws_document(value)
        if document is None:
            raise InvalidInput(f"{name}: no AWS managed policy {value}")
        value = document
    if not isinstance(value, dict | str):
        raise InvalidInput(f"{default_name}: a policy must be a JSON object or its text")
    return load_policy(value, kind, name)


def _policy_list(value: object, kind: PolicyKind, prefix: str) -> tuple[NamedPolicy, ...]:
    if not isinstance(value, list):
        raise InvalidInput(f"{prefix} must be a list of policies")
    return tuple(_policy(item, kind, f"{prefix}-{n}") for n, item in enumerate(value, 1))


def _policy_set(data: Mapping[str, Any]) -> PolicySet:
    boundary = data.get("permissions_boundary")
    session = data.get("session_policies")
    scps = data.get("scps")
    scps = [] if scps is None else scps
    if not isinstance(scps, list):
        raise InvalidInput("scps must be a list of lists of policies")
    identity = data.get("identity_policies")
    return PolicySet(
        identity=_policy_list([] if identity is None else identity, PolicyKind.IDENTITY, "identity-policy"),
        boundary=None if boundary is None else _policy(boundary, PolicyKind.BOUNDARY, "permissions-boundary"),
        session=None if session is None else _policy_list(session, PolicyKind.SESSION, "session-policy"),
        scps=tuple(_policy_list(level, PolicyKind.SCP, f"scp-{n}") for n, level in enumerate(scps, 1)),
    )


def build_request(data: Mapping[str, Any]) -> tuple[AuthzRequest, PolicySet]:
    """The engine's request and policy set for one simulation request (see the module docstring).

    Raises :class:`InvalidInput` for a malformed request and ``MalformedPolicyDocument`` for a
    document IAM would refuse.
    """
    principal = _principal(data.get("principal"))
    action, resource = _text(data, "action"), _text(data, "resource")
    if not action or not resource:
        raise InvalidInput("action and resource are required strings")
    trust = data.get("is_trust_policy", False)
    if not isinstance(trust, bool):
        raise InvalidInput("is_trust_policy must be a boolean")
    policy = data.get("resource_policy")
    kind = PolicyKind.TRUST if trust else PolicyKind.RESOURCE
    request = AuthzRequest(
        principal=principal,
        action=action,
        resource=resource,
        resource_account=_text(data, "resource_account", principal.account),
        context=_context(data.get("context"), principal),
        resource_policy=None
        if policy is None
        else _policy(policy, kind, "trust-policy" if trust else "resource-policy"),
        is_trust_policy=trust,
    )
    return request, _policy_set(data)


# --- output ----------------------------------------------------------------------------------


def decision_json(decision: Decision) -> dict[str, Any]:
    """The output object for one decision."""
    matched = [
        {"policy": m.policy, "index": m.index, "sid": m.sid, "effect": m.effect, "stage": m.stage}
        for m in decision.matched
    ]
    return {"decision": decision.decision, "matched": matched, "reason": decision.reason}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def answer(item: object) -> dict[str, Any]:
    """The output object for one decoded request (never raises for bad input)."""
    if not isinstance(item, dict):
        return _error(InvalidInput.code, "a request must be a JSON object")
    try:
        request, policies = build_request(item)
    except MalformedPolicyDocument as exc:
        return _error(exc.code, exc.message)
    except InvalidInput as exc:
        return _error(InvalidInput.code, str(exc))
    return decision_json(evaluate(request, policies))


def _requests(lines: Iterable[str]) -> Iterator[object]:
    """Decoded requests: the whole input as one JSON document (an object or a list of them),
    else one JSON value per non-blank line; a line that is not JSON yields an error marker."""
    text = "".join(lines)
    try:
        whole = json.loads(text)
    except ValueError:
        pass
    else:
        yield from whole if isinstance(whole, list) else [whole]
        return
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            yield _NotJson(str(exc))


class _NotJson:
    def __init__(self, message: str) -> None:
        self.message = message


def run(lines: Iterable[str], out: TextIO) -> None:
    """Evaluate every request in ``lines`` and write one JSON line per request to ``out``."""
    for item in _requests(lines):
        if isinstance(item, _NotJson):
            result = _error(InvalidInput.code, f"not JSON: {item.message}")
        else:
            result = answer(item)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``monban simulate``'s arguments (for this module's :func:`main` and ``monban``'s subcommand)."""
    parser.description = _DESCRIPTION
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="requests as JSON lines, or one JSON document (an object or a list of them) "
        "(default: -, standard input)",
    )


def run_file(path: str) -> int:
    """Evaluate the requests of ``path`` (``-``: stdin); 2 when it cannot be read, else 0."""
    if path == "-":
        run(sys.stdin, sys.stdout)
        return 0
    try:
        with open(path, encoding="utf-8") as handle:
            run(handle, sys.stdout)
    except OSError as exc:
        print(f"monban simulate: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """``monban simulate [FILE]``: FILE (default ``-``, stdin) holds the requests."""
    parser = argparse.ArgumentParser(prog="monban simulate")
    add_arguments(parser)
    return run_file(parser.parse_args(argv).file)


if __name__ == "__main__":
    sys.exit(main())
