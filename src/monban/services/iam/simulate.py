"""The policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy.

IAM API reference for both actions, and IAM User Guide, "Testing IAM policies with the IAM policy
simulator". Every decision comes from the engine (``monban.policy.evaluate``); this module only
gathers the policies (an entity's inline and attached policies — for a user those of its groups too —
its permissions boundary unless PermissionsBoundaryPolicyInputList replaces it, extra
PolicyInputList documents, a ResourcePolicy, the account's SCPs), builds one request per action and
resource from ContextEntries, and reports AWS's EvaluationResult: EvalDecision, MatchedStatements
(SourcePolicyId, SourcePolicyType, Start/EndPosition), MissingContextValues, and the boundary,
organizations and cross-account details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.policy import (
    AuthzRequest,
    Decision,
    MalformedPolicyDocument,
    NamedPolicy,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    compile_policy,
    evaluate,
    parse_policy,
)
from monban.policy.model import PolicyDocument
from monban.policy.variables import Variable, compile_template
from monban.protocol.errors import AwsError, validation_error
from monban.protocol.numbers import in_range
from monban.protocol.query import QueryParams
from monban.protocol.xml import Raw
from monban.services.iam.common import ascii_number, check_enum, missing_value, no_such_entity
from monban.services.iam.entities import KINDS, entity_context
from monban.services.iam.inline_policies import inline_rows
from monban.services.iam.paging import page
from monban.services.iam.roles import check_document_text
from monban.services.query import Operation, QueryCall, Result, register
from monban.store import iam_read
from monban.store.managed import AWS_ACCOUNT, is_aws_arn
from monban.store.models import Attachment, Group, GroupMember, Role, User

OPERATIONS: dict[str, Operation] = {}

_SOURCE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):(user|group|role)/", re.ASCII)
_USER_ARN = re.compile(r"^arn:aws:iam::(\d{12}):user/", re.ASCII)
_CONTEXT_TYPES = (
    "string", "stringList", "numeric", "numericList", "boolean", "booleanList",
    "ip", "ipList", "binary", "binaryList", "date", "dateList",
)  # fmt: skip


# --- statement positions -----------------------------------------------------------------------


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def statement_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets (start, end) of each element of the top-level ``Statement`` (one span for
    a single statement object); empty when the text cannot be read."""
    decoder = json.JSONDecoder()
    try:
        i = _skip_ws(text, 0)
        if text[i] != "{":
            return []
        i = _skip_ws(text, i + 1)
        while i < len(text) and text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = _skip_ws(text, _skip_ws(text, i) + 1)  # past the colon
            if key == "Statement":
                return _element_spans(text, i, decoder)
            _, i = decoder.raw_decode(text, i)
            i = _skip_ws(text, i)
            i = _skip_ws(text, i + 1) if text[i] == "," else i
    except (ValueError, IndexError):
        return []
    return []


def _element_spans(text: str, i: int, decoder: json.JSONDecoder) -> list[tuple[int, int]]:
    if text[i] == "{":
        _, end = decoder.raw_decode(text, i)
        return [(i, end - 1)]
    spans: list[tuple[int, int]] = []
    i = _skip_ws(text, i + 1)
    while text[i] != "]":
        _, end = decoder.raw_decode(text, i)
        spans.append((i, end - 1))
        i = _skip_ws(text, end)
        i = _skip_ws(text, i + 1) if text[i] == "," else i
    return spans


def position(text: str, offset: int) -> dict[str, int]:
    """AWS's Position of a statement brace: 1-based line, and the column just past the brace (the
    AWS CLI's simulate-custom-policy example reports Column 38 for a brace at offset 36)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 2
    return {"Line": line, "Column": column}


# --- the simulated policies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """One simulated policy and how AWS names it in MatchedStatements."""

    policy_id: str
    policy_type: str | None
    text: str
    doc: PolicyDocument


@dataclass
class Simulation:
    """Everything one simulation evaluates, and the name → Source table of its policies."""

    principal: Principal
    identity: list[NamedPolicy] = field(default_factory=list)
    boundary: NamedPolicy | None = None
    scps: tuple[tuple[NamedPolicy, ...], ...] = ()
    resource_policy: NamedPolicy | None = None
    resource_owner: str | None = None
    sources: dict[str, Source] = field(default_factory=dict)

    def add(self, text: str, kind: PolicyKind, policy_id: str, policy_type: str | None) -> NamedPolicy:
        """Parse and compile one document; raises MalformedPolicyDocument."""
        doc = parse_policy(text, kind)
        name = f"{len(self.sources)}:{policy_id}"
        self.sources[name] = Source(policy_id, policy_type, text, doc)
        return NamedPolicy(name, compile_policy(doc))

    def stored(self, text: str, policy_id: str, policy_type: str) -> None:
        """A stored identity policy; one that no longer parses grants nothing (as in authz)."""
        try:
            self.identity.append(self.add(text, PolicyKind.IDENTITY, policy_id, policy_type))
        except MalformedPolicyDocument:
            return

    def given(self, texts: Sequence[str], kind: PolicyKind, list_name: str) -> list[NamedPolicy]:
        """PolicyInputList-style documents; a bad one is InvalidInput (the API has no
        MalformedPolicyDocument error)."""
        out = []
        for index, text in enumerate(texts, start=1):
            check_document_text(text, list_name[0].lower() + list_name[1:])
            try:
                out.append(self.add(text, kind, f"{list_name}.{index}", None))
            except MalformedPolicyDocument as exc:
                raise AwsError("InvalidInput", exc.message) from exc
        return out

    def policy_set(self) -> PolicySet:
        return PolicySet(identity=tuple(self.identity), boundary=self.boundary, scps=self.scps)


def _managed(session: Session, sim: Simulation, entity_type: str, entity_id: str) -> None:
    arns = session.scalars(
        select(Attachment.policy_arn).where(
            Attachment.entity_type == entity_type, Attachment.entity_id == entity_id
        )
    )
    for arn in arns.all():
        text = iam_read.managed_document(session, arn)
        kind = "aws-managed" if is_aws_arn(arn) else "user-managed"
        if text is not None:
            sim.stored(text.document, arn.rsplit("/", 1)[-1], kind)


def _inline(session: Session, sim: Simulation, entity_type: str, entity_id: str) -> None:
    for policy in inline_rows(session, entity_type, entity_id):
        sim.stored(policy.document, policy.name, entity_type)


def _load_entity_policies(session: Session, sim: Simulation, kind: str, entity: User | Group | Role) -> None:
    _inline(session, sim, kind, entity.id)
    _managed(session, sim, kind, entity.id)
    if isinstance(entity, User):
        groups = select(GroupMember.group_id).where(GroupMember.user_id == entity.id)
        for group_id in session.scalars(groups).all():
            _inline(session, sim, "group", group_id)
            _managed(session, sim, "group", group_id)


def _stored_boundary(session: Session, sim: Simulation, boundary_arn: str | None) -> None:
    """The entity's boundary; one that no longer exists or parses allows nothing (fail closed)."""
    if boundary_arn is None:
        return
    text = iam_read.managed_document(session, boundary_arn)
    policy_id = boundary_arn.rsplit("/", 1)[-1]
    kind = "aws-managed" if boundary_arn.split(":")[4] == AWS_ACCOUNT else "user-managed"
    try:
        if text is not None:
            sim.boundary = sim.add(text.document, PolicyKind.BOUNDARY, policy_id, kind)
            return
    except MalformedPolicyDocument:
        pass
    sim.boundary = NamedPolicy(f"{len(sim.sources)}:{policy_id}", compile_policy(_ALLOWS_NOTHING))


_ALLOWS_NOTHING = PolicyDocument(PolicyKind.BOUNDARY, "2012-10-17", None, ())


def _scps(session: Session, sim: Simulation, account: str) -> None:
    levels = []
    for level in iam_read.service_control_policies(session, account):
        compiled = []
        for text in level:
            try:
                compiled.append(
                    NamedPolicy(
                        f"scp:{text.name}", compile_policy(parse_policy(text.document, PolicyKind.SCP))
                    )
                )
            except MalformedPolicyDocument:
                continue
        levels.append(tuple(compiled))
    sim.scps = tuple(levels)


# --- parameters --------------------------------------------------------------------------------


def action_names(params: QueryParams) -> list[str]:
    names = params.members("ActionNames")
    if not names:
        raise missing_value("actionNames")
    for index, name in enumerate(names, start=1):
        if not 3 <= len(name) <= 128:
            bound = "greater than or equal to 3" if len(name) < 3 else "less than or equal to 128"
            raise validation_error(name, f"actionNames.{index}.member", f"have length {bound}")
    return names


def resource_arns(params: QueryParams) -> list[str] | None:
    arns = params.members("ResourceArns")
    for index, value in enumerate(arns, start=1):
        if not 1 <= len(value) <= 2048:
            raise validation_error(
                value, f"resourceArns.{index}.member", "have length less than or equal to 2048"
            )
    return arns or None


def context_entries(params: QueryParams) -> RequestContext:
    """ContextEntries: ContextKeyName (5–256), ContextKeyValues, ContextKeyType (the enum)."""
    values: dict[str, str | Sequence[str] | None] = {}
    for index, entry in enumerate(params.member_structs("ContextEntries"), start=1):
        name = entry.get("ContextKeyName") or ""
        if not 5 <= len(name) <= 256:
            raise validation_error(
                name,
                f"contextEntries.{index}.member.contextKeyName",
                "have length greater than or equal to 5",
            )
        kind = entry.get("ContextKeyType") or "string"
        check_enum(kind, f"contextEntries.{index}.member.contextKeyType", _CONTEXT_TYPES)
        items = [
            v for k, v in sorted(entry.items(), key=_member_order) if k.startswith("ContextKeyValues.member.")
        ]
        values[name] = items if kind.endswith("List") else (items[0] if items else None)
    return RequestContext(values)


def _member_order(item: tuple[str, str]) -> tuple[int, str]:
    """``….member.N`` by N; a member whose N is not an ASCII number first, by name."""
    tail = item[0].rsplit(".", 1)[-1]
    try:
        return in_range(tail, 0, 10**9), ""
    except ValueError:
        return 0, item[0]


def _account_id(text: str) -> bool:
    """Twelve ASCII digits (an AWS account id)."""
    return len(text) == 12 and ascii_number(text)


def caller_principal(value: str) -> Principal:
    """CallerArn: only an IAM user ARN (IAM API reference, SimulatePrincipalPolicy)."""
    match = _USER_ARN.match(value)
    if match is None:
        raise AwsError(
            "InvalidInput", f"Invalid CallerArn: {value}. CallerArn must be the ARN of an IAM user."
        )
    return Principal("User", match.group(1), value, value)


def owner_account(value: str | None) -> str | None:
    """ResourceOwner: an account id or an ARN carrying one (``arn:aws:iam::<acct>:root``)."""
    if value is None:
        return None
    fields = value.split(":")
    account = fields[4] if len(fields) >= 5 else value
    if not _account_id(account):
        raise AwsError("InvalidInput", f"Invalid ResourceOwner: {value}.")
    return account


def add_resource_policy(sim: Simulation, params: QueryParams, has_caller: bool) -> None:
    text = params.get("ResourcePolicy")
    if text is None:
        return
    if not has_caller:
        raise AwsError("InvalidInput", "CallerArn must be specified when ResourcePolicy is included and "
                       "PolicySourceArn is not the ARN of an IAM user.")  # fmt: skip
    sim.resource_policy = sim.given([text], PolicyKind.RESOURCE, "ResourcePolicy")[0]
    sim.sources[sim.resource_policy.name] = Source(
        "ResourcePolicy", "resource", text, sim.sources[sim.resource_policy.name].doc
    )


def add_input_boundary(sim: Simulation, params: QueryParams) -> bool:
    """PermissionsBoundaryPolicyInputList (one document) replaces the entity's boundary."""
    texts = params.members("PermissionsBoundaryPolicyInputList")
    if len(texts) > 1:
        raise AwsError("InvalidInput", "You can input only one permissions boundary policy.")
    if texts:
        sim.boundary = sim.given(texts, PolicyKind.BOUNDARY, "PermissionsBoundaryPolicyInputList")[0]
    return bool(texts)


# --- results -----------------------------------------------------------------------------------


def _keys_of(doc: PolicyDocument, index: int) -> Iterator[str]:
    """Condition keys and policy-variable keys a statement reads."""
    statement = doc.statements[index]
    for clause in statement.conditions:
        yield clause.key
        for value in clause.values:
            yield from _variables(value, doc.version)
    for value in (statement.resources or ()) + (statement.not_resources or ()):
        yield from _variables(value, doc.version)


def _variables(text: str, version: str | None) -> Iterator[str]:
    for part in compile_template(text, version).parts:
        if isinstance(part, Variable):
            yield part.name


def missing_context(sim: Simulation, action: str, context: RequestContext) -> list[str]:
    """Keys the statements that apply to the action read but the request does not supply."""
    missing: dict[str, str] = {}
    named = [*sim.identity, *(p for p in (sim.boundary, sim.resource_policy) if p is not None)]
    for policy in named:
        source = sim.sources.get(policy.name)
        if source is None:
            continue
        for statement in policy.policy.statements_for(action.lower()):
            for key in _keys_of(source.doc, statement.index):
                if key not in context:
                    missing.setdefault(key.lower(), key)
    return sorted(missing.values())


def matched_statements(sim: Simulation, decision: Decision) -> list[dict[str, Any]]:
    """The statements behind the decision: the Allows of an allowed request, the Denies of an
    explicit deny, none for an implicit deny (as the AWS CLI's examples show)."""
    wanted = {"allowed": "Allow", "explicitDeny": "Deny"}.get(decision.decision)
    out = []
    for match in decision.matched:
        source = sim.sources.get(match.policy)
        if wanted is None or match.effect != wanted or source is None or match.stage == "scp":
            continue
        entry: dict[str, Any] = {"SourcePolicyId": source.policy_id, "SourcePolicyType": source.policy_type}
        spans = statement_spans(source.text)
        if match.index < len(spans):
            start, end = spans[match.index]
            entry["StartPosition"] = position(source.text, start)
            entry["EndPosition"] = position(source.text, end)
        out.append(entry)
    return out


def _resource_account(sim: Simulation, resource: str) -> str:
    if sim.resource_owner is not None:
        return sim.resource_owner
    fields = resource.split(":")
    if len(fields) >= 5 and _account_id(fields[4]):
        return fields[4]
    return sim.principal.account


def _request(sim: Simulation, action: str, resource: str, ctx: RequestContext, **kw: Any) -> AuthzRequest:
    values = {
        "resource_account": _resource_account(sim, resource),
        "resource_policy": sim.resource_policy,
        **kw,
    }
    return AuthzRequest(sim.principal, action, resource, context=ctx, **values)


def _details(
    sim: Simulation, action: str, resource: str, ctx: RequestContext, decision: Decision
) -> dict[str, Any]:
    """The boundary, organizations and cross-account details, each asked of the engine."""
    out: dict[str, Any] = {}
    if sim.boundary is not None:
        alone = evaluate(
            _request(sim, action, resource, ctx, resource_policy=None), PolicySet(identity=(sim.boundary,))
        )
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": alone.allowed}
    if sim.scps:
        root = Principal(
            "Account",
            sim.principal.account,
            f"arn:aws:iam::{sim.principal.account}:root",
            sim.principal.account,
        )
        request = AuthzRequest(root, action, resource, sim.principal.account, ctx)
        out["OrganizationsDecisionDetail"] = {
            "AllowedByOrganizations": evaluate(request, PolicySet(scps=sim.scps)).allowed
        }
    if resource != "*":
        out["EvalDecisionDetails"] = Raw(_cross_account(sim, action, resource, ctx, decision))
    return out


def _cross_account(
    sim: Simulation, action: str, resource: str, ctx: RequestContext, decision: Decision
) -> str:
    """EvalDecisionDetails: for a cross-account request the decision of the caller's policies and of
    the resource policy; present but empty within one account."""
    if _resource_account(sim, resource) == sim.principal.account:
        return ""
    own = evaluate(
        _request(sim, action, resource, ctx, resource_policy=None, resource_account=sim.principal.account),
        sim.policy_set(),
    )
    effects = {match.effect for match in decision.matched if match.stage == "resource"}
    resource_side = (
        "explicitDeny" if "Deny" in effects else "allowed" if "Allow" in effects else "implicitDeny"
    )
    entries = (("IAM Policy", own.decision), ("Resource Policy", resource_side))
    return "".join(f"<entry><key>{k}</key><value>{v}</value></entry>" for k, v in entries)


def evaluation_results(sim: Simulation, params: QueryParams, ctx: RequestContext) -> list[dict[str, Any]]:
    """One EvaluationResult per action and resource (ResourceArns, default ``*``)."""
    given = resource_arns(params)
    results = []
    for action in action_names(params):
        for resource in given or ["*"]:
            decision = evaluate(_request(sim, action, resource, ctx), sim.policy_set())
            matched = matched_statements(sim, decision)
            missing = missing_context(sim, action, ctx)
            result: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": decision.decision,
                "MatchedStatements": matched,
                "MissingContextValues": missing,
            }
            result.update(_details(sim, action, resource, ctx, decision))
            if given:
                result["ResourceSpecificResults"] = [{
                    "EvalResourceName": resource, "EvalResourceDecision": decision.decision,
                    "MatchedStatements": matched, "MissingContextValues": missing,
                }]  # fmt: skip
            results.append(result)
    return results


# --- operations --------------------------------------------------------------------------------


def source_entity(session: Session, account: str, source_arn: str) -> tuple[str, User | Group | Role]:
    """The user, group or role PolicySourceArn names (in the caller's account), or NoSuchEntity."""
    match = _SOURCE_ARN.match(source_arn)
    if match is None:
        raise AwsError(
            "InvalidInput", f"Invalid ARN: {source_arn}. PolicySourceArn must be a user, group or role."
        )
    kind = match.group(2)
    model: Any = KINDS[kind].model
    entity: User | Group | Role | None = session.scalar(
        select(model).where(model.arn == source_arn, model.account_id == account)
    )
    if entity is None:
        raise no_such_entity(kind, source_arn.rsplit("/", 1)[-1])
    return kind, entity


def _source_tags(session: Session, call: QueryCall, source_arn: str) -> dict[str, Any]:
    """The condition keys of the user or role PolicySourceArn names, when it exists (its tags as
    aws:ResourceTag/…, iam:ResourceTag/…); nothing otherwise, so existence is not told."""
    try:
        kind, entity = source_entity(session, call.caller.account, source_arn)
    except AwsError:
        return {}
    return dict(entity_context(session, kind, entity))


def _entity_principal(kind: str, entity: User | Group | Role, caller: str | None) -> Principal:
    if caller is not None:
        return caller_principal(caller)
    if isinstance(entity, Role):
        session_arn = f"arn:aws:sts::{entity.account_id}:assumed-role/{entity.name}/simulation"
        return Principal(
            "AssumedRole", entity.account_id, session_arn, f"{entity.id}:simulation", role_arn=entity.arn
        )
    return Principal("User", entity.account_id, entity.arn, entity.id)


@register(OPERATIONS, "SimulatePrincipalPolicy")
def simulate_principal_policy(call: QueryCall) -> Result:
    """SimulatePrincipalPolicy: authorized as iam:SimulatePrincipalPolicy on PolicySourceArn (with
    the tags of the user or role it names)."""
    p = call.params
    source_arn = p.required("PolicySourceArn")
    if not 20 <= len(source_arn) <= 2048:
        raise validation_error(source_arn, "policySourceArn", "have length greater than or equal to 20")
    action_names(p)
    with call.read() as session:
        call.authorize(
            "iam:SimulatePrincipalPolicy", source_arn, extra_context=_source_tags(session, call, source_arn)
        )
    ctx = context_entries(p)
    with call.read() as session:
        kind, entity = source_entity(session, call.caller.account, source_arn)
        caller = p.get("CallerArn")
        sim = Simulation(
            _entity_principal(kind, entity, caller), resource_owner=owner_account(p.get("ResourceOwner"))
        )
        _load_entity_policies(session, sim, kind, entity)
        sim.identity += sim.given(p.members("PolicyInputList"), PolicyKind.IDENTITY, "PolicyInputList")
        if not add_input_boundary(sim, p) and not isinstance(entity, Group):
            _stored_boundary(session, sim, entity.permissions_boundary)
        _scps(session, sim, call.caller.account)
    add_resource_policy(sim, p, caller is not None or kind == "user")
    return _results_page(p, evaluation_results(sim, p, ctx))


@register(OPERATIONS, "SimulateCustomPolicy")
def simulate_custom_policy(call: QueryCall) -> Result:
    """SimulateCustomPolicy: only the given documents; authorized as iam:SimulateCustomPolicy on *."""
    p = call.params
    texts = p.members("PolicyInputList")
    if not texts:
        raise missing_value("policyInputList")
    action_names(p)
    call.authorize("iam:SimulateCustomPolicy", "*")
    ctx = context_entries(p)
    caller = p.get("CallerArn")
    account = call.caller.account
    principal = (
        caller_principal(caller)
        if caller
        else Principal("User", account, f"arn:aws:iam::{account}:user/simulated", "simulated")
    )
    sim = Simulation(principal, resource_owner=owner_account(p.get("ResourceOwner")))
    sim.identity += sim.given(texts, PolicyKind.IDENTITY, "PolicyInputList")
    add_input_boundary(sim, p)
    sim.scps = organization_policies(sim, p)
    add_resource_policy(sim, p, caller is not None)
    return _results_page(p, evaluation_results(sim, p, ctx))


def organization_policies(sim: Simulation, params: QueryParams) -> tuple[tuple[NamedPolicy, ...], ...]:
    """OrderedOrganizationPolicyInputList.member.N.ServiceControlPolicyInputList.member.M: one
    level per N, each of which must allow (at most 7 levels)."""
    levels = params.member_structs("OrderedOrganizationPolicyInputList")
    if len(levels) > 7:
        raise validation_error(
            "[…]", "orderedOrganizationPolicyInputList", "have length less than or equal to 7"
        )
    out = []
    for number, level in enumerate(levels, start=1):
        prefix = "ServiceControlPolicyInputList.member."
        texts = [v for k, v in sorted(level.items(), key=_member_order) if k.startswith(prefix)]
        out.append(tuple(sim.given(texts, PolicyKind.SCP, f"OrderedOrganizationPolicyInputList.{number}")))
    return tuple(out)


def _results_page(p: QueryParams, results: list[dict[str, Any]]) -> Result:
    """EvaluationResults, paged by their place in the (deterministic) list of action × resource
    evaluations: the key of a result is its number."""
    numbered = [(f"{index:09d}", result) for index, result in enumerate(results)]
    return page(p, numbered, lambda pair: pair[1], "EvaluationResults", lambda pair: (pair[0],))
