"""Parse and validate policy documents the way IAM does when a policy is written.

Public API
----------
``parse_policy(source, kind) -> PolicyDocument``
    ``source`` is JSON text (``str``), UTF-8 ``bytes`` or an already-decoded mapping. Returns a
    frozen ``PolicyDocument`` or raises ``MalformedPolicyDocument`` whose ``.message`` is IAM's text.
    Any input at all (wrong types, deep nesting, invalid UTF-8, huge documents) ends in
    ``MalformedPolicyDocument`` (or its subclass ``PolicySizeExceeded``), never another exception.

``policy_size(source) -> int``
    The size IAM charges against its quotas: characters, white space not counted
    (IAM User Guide, "IAM and AWS STS quotas"). A mapping is measured in its compact JSON form.

``check_managed_policy_size(source) -> int``           managed policy / version, 6,144
``check_inline_policy_size(sources, entity_type, entity_name) -> int``
    all inline policies of one user (2,048), group (5,120) or role (10,240), summed
``check_trust_policy_size(source) -> int``             role trust policy, 2,048 (ACLSizePerRole)
``check_session_policy_size(source) -> int``           STS session policy, 2,048 plain-text characters
    Each returns the measured size or raises ``PolicySizeExceeded`` (``.code`` LimitExceeded, or
    ValidationError for the STS parameter-length rule).

Validation order
----------------
IAM reports one error, and which one depends on the order of its checks (recorded in
``tests/conformance/policy-validation.json``): JSON and element syntax ("Syntax errors in
policy."), Version, the document kind's element rules, "legacy parsing" (Effect case, Date values,
resource ARN shape), unique Sids, actions present, the first resource-format error, action prefixes,
resources present, then trust-policy actions and principal values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NoReturn, TypeVar

from monban.policy.errors import MalformedPolicyDocument, PolicySizeExceeded
from monban.policy.model import (
    ConditionClause,
    Effect,
    PolicyDocument,
    PolicyKind,
    PrincipalSpec,
    Statement,
)
from monban.policy.operators import parse_operator

PolicySource = str | bytes | bytearray | Mapping[str, Any]
Entries = tuple[tuple[str, tuple[str, ...]], ...]
_T = TypeVar("_T")

SYNTAX_ERROR: Final = "Syntax errors in policy."
VERSION_ERROR: Final = "Policy document must be version 2012-10-17 or greater."
LEGACY_ERROR: Final = "The policy failed legacy parsing"
DUPLICATE_SID_ERROR: Final = "Statement IDs (SID) in a single policy must be unique."
NO_ACTIONS_ERROR: Final = "Policy statement must contain actions."
NO_RESOURCES_ERROR: Final = "Policy statement must contain resources."
PREFACE_ERROR: Final = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON_ERROR: Final = "Actions/Condition can contain only one colon."
VENDOR_ERROR: Final = "Resource vendor must be fully qualified and cannot contain regexes."
PRINCIPAL_NOT_ALLOWED_ERROR: Final = "Policy document should not specify a principal."
TRUST_ACTIONS_ERROR: Final = "AssumeRole policy may only specify STS AssumeRole actions."
TRUST_NO_PRINCIPAL_ERROR: Final = (
    "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
    "The passed in policy has a statement with no principals!"
)
RESOURCE_NO_PRINCIPAL_ERROR: Final = "Missing required field Principal"

MANAGED_POLICY_SIZE_LIMIT: Final = 6144
TRUST_POLICY_SIZE_LIMIT: Final = 2048
SESSION_POLICY_SIZE_LIMIT: Final = 2048
INLINE_POLICY_SIZE_LIMITS: Final[Mapping[str, int]] = {"user": 2048, "group": 5120, "role": 10240}
MAX_DOCUMENT_CHARS: Final = 131072  # IAM API: PolicyDocument length constraint

VALID_VERSIONS: Final = frozenset({"2008-10-17", "2012-10-17"})
_TOP_ELEMENTS: Final = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS: Final = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction"}
    | {"Resource", "NotResource", "Condition"}
)
_EFFECTS: Final[Mapping[str, Effect]] = {"Allow": "Allow", "Deny": "Deny"}
_NO_PRINCIPAL_KINDS: Final = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_VENDOR_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_PARTITIONS: Final = frozenset({"aws", "*"})
_IAM_PATH_PREFIXES: Final = (
    "user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
    "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/",
    "report/", "access-report/",
)  # fmt: skip
IAM_PATH_ERROR: Final = 'IAM resource path must either be "*" or start with {}.'.format(
    ", ".join(_IAM_PATH_PREFIXES)
)
# Newer IAM resource types (Service Authorization Reference) that IAM's message does not list.
_IAM_EXTRA_PREFIXES: Final = ("assumed-role/", "delegation-request/", "role-template/")
_S3_REGIONAL_PREFIXES: Final = (
    "accesspoint/", "job/", "storage-lens/", "storage-lens-group/", "access-grants/", "async-request/",
)  # fmt: skip
_TRUST_ACTIONS: Final = frozenset(
    {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity"}
    | {"sts:tagsession", "sts:setsourceidentity", "sts:setcontext"}
)
_NAME: Final = r"[\w+=,.@-]+"
_PRINCIPAL_FORMS: Final[Mapping[str, re.Pattern[str]]] = {
    "AWS": re.compile(
        rf"\*|\d{{12}}|arn:aws:iam::\d{{12}}:(?:root|(?:user|role)(?:/{_NAME})+)"
        rf"|arn:aws:sts::\d{{12}}:(?:assumed-role/{_NAME}/{_NAME}|federated-user/{_NAME})",
        re.ASCII,
    ),
    "Service": re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:amazonaws\.com(?:\.cn)?|amazon\.com)"),
    "Federated": re.compile(
        rf"arn:aws:iam::\d{{12}}:(?:saml-provider/{_NAME}|oidc-provider/[^\s*?]+)"
        r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
        re.ASCII,
    ),
    "CanonicalUser": re.compile(r"[0-9a-f]{64}"),
}
_TRUST_PRINCIPAL_TYPES: Final = frozenset({"AWS", "Service", "Federated"})


class _Number:
    """A JSON number kept as written, so that it can never pass for a string."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True, slots=True)
class _Stmt:
    """A statement after the syntax pass; each pair is (element name as written, values)."""

    index: int
    sid: str | None
    effect: str
    principal: tuple[str, Entries] | None
    actions: tuple[str, tuple[str, ...]] | None
    resources: tuple[str, tuple[str, ...]] | None
    conditions: tuple[ConditionClause, ...]


def _fail(message: str = SYNTAX_ERROR) -> NoReturn:
    raise MalformedPolicyDocument(message)


def _require(condition: bool) -> None:
    if not condition:
        _fail()


def parse_policy(source: PolicySource, kind: PolicyKind) -> PolicyDocument:
    """Validate ``source`` as a ``kind`` policy and return it parsed (IAM's write-time checks)."""
    version, doc_id, statements = _read_document(_load(source))
    if kind in _NO_PRINCIPAL_KINDS and version != "2012-10-17":
        _fail(VERSION_ERROR)
    _check_kind_elements(statements, kind)
    resource_error = _legacy_parse(statements)
    _check_unique_sids(statements)
    if not all(s.actions and s.actions[1] for s in statements):
        _fail(NO_ACTIONS_ERROR)
    if resource_error is not None:
        _fail(resource_error)
    _check_action_prefixes(statements)
    if kind is not PolicyKind.TRUST and not all(s.resources and s.resources[1] for s in statements):
        _fail(NO_RESOURCES_ERROR)
    if kind is PolicyKind.TRUST:
        _check_trust_actions(statements)
    if kind not in _NO_PRINCIPAL_KINDS:
        _check_principals(statements, kind)
    document = PolicyDocument(kind, version, doc_id, tuple(_statement(s) for s in statements))
    _check_condition_values(document)
    return document


def _check_condition_values(document: PolicyDocument) -> None:
    """Condition values each operator cannot take (a Bool of "yes", a bad CIDR…) are rejected when
    the document is written, never discovered when it is evaluated."""
    from monban.policy.conditions import compile_conditions

    for statement in document.statements:
        compile_conditions(statement.conditions, document.version)


def _as_text(source: object) -> str:
    """JSON text of ``source``: a mapping is serialised compactly, bytes must be UTF-8."""
    if isinstance(source, str):
        return source
    if isinstance(source, bytes | bytearray):
        try:
            return bytes(source).decode("utf-8")
        except UnicodeDecodeError:
            _fail()
    if isinstance(source, Mapping):
        try:
            plain = source if isinstance(source, dict) else dict(source)
            return json.dumps(plain, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            _fail()
    _fail()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Reject an object that names a key twice: which value counts would be ambiguous."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _load(source: object) -> dict[str, Any]:
    """Decode the document; anything but a JSON object is a syntax error."""
    text = _as_text(source)
    _check_length(len(text), MAX_DOCUMENT_CHARS, "policyDocument")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_no_constants,
        )
    except (ValueError, RecursionError):
        _fail()
    _require(isinstance(value, dict))
    return value  # type: ignore[no-any-return]


def _read_document(raw: dict[str, Any]) -> tuple[str | None, str | None, list[_Stmt]]:
    """Top level: only Version, Id and Statement; Statement an object or a non-empty list."""
    _require(raw.keys() <= _TOP_ELEMENTS and "Statement" in raw)
    version = raw.get("Version")
    _require("Version" not in raw or (isinstance(version, str) and version in VALID_VERSIONS))
    doc_id = raw.get("Id")
    _require("Id" not in raw or isinstance(doc_id, str))
    body = raw["Statement"]
    items = [body] if isinstance(body, dict) else body
    _require(isinstance(items, list) and len(items) > 0)
    return version, doc_id, [_read_statement(i, item) for i, item in enumerate(items)]


def _read_statement(index: int, raw: object) -> _Stmt:
    """One statement: known elements only, an Effect, and at most one of each Not- pair."""
    if not isinstance(raw, dict) or not raw.keys() <= _STATEMENT_ELEMENTS:
        _fail()
    effect = raw.get("Effect")
    _require(isinstance(effect, str) and effect.lower() in ("allow", "deny"))
    sid = raw.get("Sid")
    _require("Sid" not in raw or isinstance(sid, str))
    return _Stmt(
        index=index,
        sid=sid,
        effect=str(effect),
        principal=_pair(raw, "Principal", _read_principal),
        actions=_pair(raw, "Action", _read_strings),
        resources=_pair(raw, "Resource", _read_strings),
        conditions=_read_conditions(raw["Condition"]) if "Condition" in raw else (),
    )


def _pair(raw: dict[str, Any], name: str, reader: Callable[[object], _T]) -> tuple[str, _T] | None:
    """Read ``name`` or ``Not<name>`` (never both) with ``reader``."""
    negated = "Not" + name
    _require(not (name in raw and negated in raw))
    for element in (name, negated):
        if element in raw:
            return element, reader(raw[element])
    return None


def _read_strings(value: object) -> tuple[str, ...]:
    """A string or a list of strings; IAM ignores null list members."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        _fail()
    _require(all(item is None or isinstance(item, str) for item in value))
    return tuple(item for item in value if item is not None)


def _read_principal(value: object) -> Entries:
    """``"*"`` or an object mapping principal types to a string or list of strings."""
    if value == "*":
        return (("AWS", ("*",)),)
    if not isinstance(value, dict):
        _fail()
    return tuple((kind, _read_strings(values)) for kind, values in value.items())


def _read_conditions(value: object) -> tuple[ConditionClause, ...]:
    """Condition: operator -> {key -> value(s)}. An unknown operator is only accepted with an
    empty block (IAM accepts it; it adds no clause), otherwise it is a syntax error."""
    if not isinstance(value, dict):
        _fail()
    clauses: list[ConditionClause] = []
    for operator, block in value.items():
        _require(isinstance(block, dict))
        _require(parse_operator(operator) is not None or not block)
        for key, raw in block.items():
            clauses.append(ConditionClause(operator, key, _condition_values(raw)))
    return tuple(clauses)


def _condition_value(value: object) -> str:
    """A scalar condition value as IAM reads it: booleans ``true``/``false``, numbers as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, _Number):
        _fail()
    return value.text


def _condition_values(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_condition_value(item) for item in value)
    return (_condition_value(value),)


def _check_kind_elements(statements: list[_Stmt], kind: PolicyKind) -> None:
    """Which elements a kind allows: identity-side documents name no principal; resource and
    trust policies must; a trust policy has no NotPrincipal, Resource or NotResource."""
    for s in statements:
        if kind in _NO_PRINCIPAL_KINDS and s.principal is not None:
            _fail(PRINCIPAL_NOT_ALLOWED_ERROR)
        if kind is PolicyKind.TRUST:
            for element in (s.principal, s.resources):
                if element is not None and element[0] in ("NotPrincipal", "Resource", "NotResource"):
                    _fail(f"Has prohibited field {element[0]}")
            if s.principal is None:
                _fail(TRUST_NO_PRINCIPAL_ERROR)
        if kind is PolicyKind.RESOURCE and s.principal is None:
            _fail(RESOURCE_NO_PRINCIPAL_ERROR)


def _check_unique_sids(statements: list[_Stmt]) -> None:
    """IAM: Sids, where given and non-empty, are unique within the document."""
    sids = [s.sid for s in statements if s.sid]
    if len(set(sids)) != len(sids):
        _fail(DUPLICATE_SID_ERROR)


def _action_error(action: str) -> str | None:
    """IAM's action check: ``*`` or ``vendor:name``, one colon, vendor of [A-Za-z0-9.-]."""
    parts = action.split(":")
    if len(parts) == 1:
        return None if action == "*" else PREFACE_ERROR
    if len(parts) > 2:
        return ONE_COLON_ERROR
    vendor = parts[0]
    if vendor != "*" and (not vendor or not _VENDOR_CHARS.issuperset(vendor)):
        return f"Vendor {vendor} is not valid"
    return None


def _check_action_prefixes(statements: list[_Stmt]) -> None:
    """Action and NotAction values, in document order; the first bad one is reported."""
    for s in statements:
        for action in s.actions[1] if s.actions else ():
            error = _action_error(action)
            if error is not None:
                _fail(error)


def _check_trust_actions(statements: list[_Stmt]) -> None:
    """A role trust policy may name only the sts actions that start or tag a role session."""
    for s in statements:
        for action in s.actions[1] if s.actions else ():
            if action.lower() not in _TRUST_ACTIONS:
                _fail(TRUST_ACTIONS_ERROR)


def _check_principals(statements: list[_Stmt], kind: PolicyKind) -> None:
    """Principal values (reference §4): ``*``, account ids, user/role/session ARNs, service
    names, identity providers, canonical users; no partial wildcards."""
    for s in statements:
        entries = s.principal[1] if s.principal else ()
        if not any(values for _, values in entries):
            _fail(TRUST_NO_PRINCIPAL_ERROR if kind is PolicyKind.TRUST else RESOURCE_NO_PRINCIPAL_ERROR)
        for principal_type, values in entries:
            for value in values:
                if not _principal_ok(principal_type, value, kind):
                    label = principal_type if principal_type == "AWS" else principal_type.upper()
                    _fail(f'Invalid principal in policy: "{label}":"{value}"')


def _principal_ok(principal_type: str, value: str, kind: PolicyKind) -> bool:
    """Trust policies take AWS, Service and Federated principals; resource policies also
    CanonicalUser (S3)."""
    if kind is PolicyKind.TRUST and principal_type not in _TRUST_PRINCIPAL_TYPES:
        return False
    form = _PRINCIPAL_FORMS.get(principal_type)
    return form is not None and form.fullmatch(value) is not None


def _legacy_parse(statements: list[_Stmt]) -> str | None:
    """IAM's "legacy parsing": Effect exactly Allow/Deny, Date values readable, resource ARNs of a
    readable shape. Returns the first resource-format error, which IAM reports later."""
    for s in statements:
        if s.effect not in _EFFECTS or not all(map(_legacy_dates_ok, s.conditions)):
            _fail(LEGACY_ERROR)
    first_error: str | None = None
    for s in statements:
        for resource in s.resources[1] if s.resources else ():
            error = _resource_format_error(resource)
            if error is None and not _legacy_resource_ok(resource):
                _fail(LEGACY_ERROR)
            first_error = first_error or error
    return first_error


def _legacy_dates_ok(clause: ConditionClause) -> bool:
    """Every value of a Date-operator clause reads as a date."""
    operator = parse_operator(clause.operator)
    if operator is None or not operator.base.startswith("Date"):
        return True
    return all(_legacy_date_ok(value) for value in clause.values)


def _legacy_resource_ok(resource: str) -> bool:
    """False for an ARN with an empty service, or one shortened with ``::`` before its sixth field."""
    if resource == "*":
        return True
    return (resource.count(":") >= 5 or "::" not in resource) and resource.split(":")[2] != ""


def _resource_format_error(resource: str) -> str | None:
    """IAM's resource check: ``*`` or ``arn:<partition>:<service>:…`` of this partition."""
    if resource == "*":
        return None
    parts = resource.split(":")
    if len(parts) == 1:
        return f'Resource {resource} must be in ARN format or "*".'
    if parts[1] not in _PARTITIONS:
        return _partition_error(parts[1], parts[2:] or [""])
    if len(parts) == 2 or "*" in parts[2] or "?" in parts[2]:
        return VENDOR_ERROR
    return _service_resource_error(resource, parts)


def _partition_error(partition: str, rest: list[str]) -> str:
    """IAM's message shows the ARN re-read with ``*`` for the missing fields."""
    fields = [
        rest[0] if rest[0] != "" or len(rest) > 1 else "*",
        rest[1] if len(rest) > 1 else "*",
        rest[2] if len(rest) > 2 else "*",
        ":".join(rest[3:]) if len(rest) > 3 else "*",
    ]
    return f'Partition "{partition}" is not valid for resource "arn:{partition}:{":".join(fields)}".'


def _service_resource_error(resource: str, parts: list[str]) -> str | None:
    """IAM and S3 bucket ARNs carry no region; IAM resource paths start with a known type."""
    service = parts[2]
    regionless = len(parts) >= 5 and parts[3] == ""
    resource_id = ":".join(parts[5:])
    if service == "iam":
        if not regionless:
            return f"IAM resource {resource} cannot contain region information."
        if resource_id not in ("*", "root") and not resource_id.startswith(
            _IAM_PATH_PREFIXES + _IAM_EXTRA_PREFIXES
        ):
            return IAM_PATH_ERROR
    if service == "s3" and not regionless and not resource_id.startswith(_S3_REGIONAL_PREFIXES):
        return f"Resource {resource} can not contain region information."
    return None


def _int_in(text: str, low: int, high: int) -> bool:
    """``text`` is an optionally signed decimal integer within [low, high]."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    if len(digits.lstrip("0")) > 20:
        return False
    return low <= int(text) <= high


def _legacy_date_ok(value: str) -> bool:
    """A Date condition value: epoch seconds, or an ISO 8601 date/time of bounded fields."""
    text = value.lower()
    if "t" not in text and "-" not in text:
        return _int_in(text, 0, 2**63 - 1)
    date, _, time = text.partition("t")
    return _date_ok(date) and _time_ok(time)


def _date_ok(date: str) -> bool:
    negative = date.startswith("-")
    fields = (date[1:] if negative else date).split("-")
    if negative:
        fields[0] = "-" + fields[0]
    bounds = ((-292275054, 292278993), (1, 12), (1, 31))
    return len(fields) <= 3 and all(_int_in(f, lo, hi) for f, (lo, hi) in zip(fields, bounds, strict=False))


def _time_ok(time: str) -> bool:
    fields = time.split(":", 2)
    if fields[0] and not _int_in(fields[0], 0, 23):
        return False
    if len(fields) > 1 and not _int_in(fields[1], 0, 59):
        return False
    return len(fields) < 3 or _seconds_ok(fields[2])


def _seconds_ok(field: str) -> bool:
    """Seconds with optional fraction (≤ 9 digits' worth) and a ``z`` or ``±hh[:mm]`` zone."""
    if "z" in field:
        seconds, _, rest = field.partition("z")
        if rest:
            return False
    elif "+" in field or "-" in field:
        seconds, _, zone = field.partition("+" if "+" in field else "-")
        hours, colon, minutes = zone.partition(":")
        if len(hours) != 2 or not _int_in(hours, 0, 23):
            return False
        if colon and (len(minutes) != 2 or not _int_in(minutes, 0, 59)):
            return False
    else:
        seconds = field
    whole, dot, fraction = seconds.partition(".")
    return _int_in(whole, 0, 59) and (not dot or _int_in(fraction, 0, 999_999_999))


def _split(pair: tuple[str, _T] | None, name: str) -> tuple[_T | None, _T | None]:
    """(value of ``name``, value of ``Not<name>``) from a parsed pair."""
    if pair is None:
        return None, None
    return (pair[1], None) if pair[0] == name else (None, pair[1])


def _statement(s: _Stmt) -> Statement:
    principal, not_principal = _split(s.principal, "Principal")
    actions, not_actions = _split(s.actions, "Action")
    resources, not_resources = _split(s.resources, "Resource")
    return Statement(
        index=s.index,
        sid=s.sid,
        effect=_EFFECTS[s.effect],
        principal=PrincipalSpec(principal) if principal is not None else None,
        not_principal=PrincipalSpec(not_principal) if not_principal is not None else None,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        conditions=s.conditions,
    )


def policy_size(source: PolicySource) -> int:
    """Characters IAM counts against a size quota: all but white space."""
    text = _as_text(source)
    return len(text) - sum(text.count(c) for c in " \t\n\r")


def _limit(size: int, limit: int, message: str) -> int:
    if size > limit:
        raise PolicySizeExceeded(message, limit=limit, size=size)
    return size


def check_managed_policy_size(source: PolicySource) -> int:
    """CreatePolicy / CreatePolicyVersion: LimitExceeded above 6,144 characters."""
    limit = MANAGED_POLICY_SIZE_LIMIT
    return _limit(policy_size(source), limit, f"Cannot exceed quota for PolicySize: {limit}")


def check_inline_policy_size(
    sources: Iterable[PolicySource],
    entity_type: Literal["user", "group", "role"],
    entity_name: str,
) -> int:
    """Put{User,Group,Role}Policy: the entity's inline policies together (pass the new one with
    the others it keeps) may not exceed 2,048 / 5,120 / 10,240 characters."""
    limit = INLINE_POLICY_SIZE_LIMITS[entity_type]
    total = sum(policy_size(source) for source in sources)
    message = f"Maximum policy size of {limit} bytes exceeded for {entity_type} {entity_name}"
    return _limit(total, limit, message)


def check_trust_policy_size(source: PolicySource) -> int:
    """CreateRole / UpdateAssumeRolePolicy: LimitExceeded above 2,048 characters."""
    limit = TRUST_POLICY_SIZE_LIMIT
    return _limit(policy_size(source), limit, f"Cannot exceed quota for ACLSizePerRole: {limit}")


def check_session_policy_size(source: PolicySource) -> int:
    """AssumeRole & co. ``Policy``: at most 2,048 plain-text characters, white space included
    (an API parameter constraint, so STS answers ValidationError)."""
    return _check_length(len(_as_text(source)), SESSION_POLICY_SIZE_LIMIT, "policy")


def _check_length(size: int, limit: int, parameter: str) -> int:
    """An API parameter-length constraint: AWS answers ValidationError."""
    if size > limit:
        message = (
            f"1 validation error detected: Value at '{parameter}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}"
        )
        raise PolicySizeExceeded(message, limit=limit, size=size, code="ValidationError")
    return size
