"""Reading the bootstrap file: YAML (``yaml.safe_load``) → validated ``Bootstrap``, or refused whole.

Every field is checked the way IAM checks the API parameter it stands for (names, paths, tags,
policy documents through the policy engine, sizes and quotas), and references are resolved inside
the file: a user's ``Groups`` must be groups of its account, ``ManagedPolicyArns`` and
``PermissionsBoundary`` AWS managed policies monban ships or managed policies of the same account,
an instance profile's ``Roles`` roles of its account. Unknown fields are refused (a typo must
not silently drop a permission). Every problem is reported with the path of its field, e.g.
``Accounts[0].Users[2].UserName: must be 1-64 characters of [\\w+=,.@-]``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from monban.aws_managed import aws_arns
from monban.config.fields import Problem
from monban.config.fields import items as _items
from monban.config.fields import mapping as _mapping
from monban.config.fields import text as _text
from monban.config.model import (
    AccountSpec,
    Bootstrap,
    BootstrapError,
    BucketSpec,
    GroupSpec,
    InlinePolicySpec,
    InstanceProfileSpec,
    KeySpec,
    ManagedPolicySpec,
    ObjectSpec,
    OidcProviderSpec,
    RoleSpec,
    UserSpec,
)
from monban.config.workloads import check_workload_ids, check_workloads, read_instance, read_task
from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from monban.policy.parse import (
    check_inline_policy_size,
    check_managed_policy_size,
    check_trust_policy_size,
)
from monban.protocol.errors import AwsError
from monban.services.iam.common import PATH, USER_NAME, EntityType, check_tags

T = TypeVar("T")

ACCOUNT_ID = re.compile(r"^\d{12}$", re.ASCII)
ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z0-9]{16}$")
SECRET = re.compile(r"^[A-Za-z0-9/+]{40}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_MANAGED = 10  # managed policies per user, group or role (IAM quotas)
MAX_GROUPS = 10  # groups per user
MAX_KEYS = 2  # access keys per user
MAX_VALUES = 100_000  # values in a bootstrap file once YAML's aliases are expanded
MAX_DEPTH = 64  # nesting of its values


def _name(value: Any, where: str, limit: int) -> str:
    text = _text(value, where)
    if not 1 <= len(text) <= limit or not USER_NAME.match(text):
        raise Problem(where, f"must be 1-{limit} characters of [\\w+=,.@-]")
    return text


def _path(value: Any, where: str) -> str:
    if value is None:
        return "/"
    text = _text(value, where)
    if len(text) > 512 or not PATH.match(text):
        raise Problem(where, "must be / or start and end with / (printable ASCII, at most 512 characters)")
    return text


def _plain(value: Any) -> Any:
    """YAML's extra scalar types as JSON ones (``Version: 2012-10-17`` unquoted is a date)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _document(value: Any, where: str, kind: PolicyKind, size: Callable[[str], int] | None = None) -> str:
    """A policy document (YAML mapping or JSON text), validated as IAM validates ``kind``; ``size``
    checks its quota (managed 6144, trust 2048)."""
    if isinstance(value, dict):
        text = json.dumps(_plain(value), indent=4)
    elif isinstance(value, str):
        text = value
    else:
        raise Problem(where, "must be a policy document (a mapping or a JSON string)")
    try:
        parse_policy(text, kind)
        if size is not None:
            size(text)
    except MalformedPolicyDocument as exc:
        raise Problem(where, f"{exc.code}: {exc.message}") from exc
    return text


def _tags(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    pairs: list[dict[str, str | None]] = []
    for index, raw in enumerate(_items(value, where)):
        at = f"{where}[{index}]"
        tag = _mapping(raw, at, ("Key", "Value"), ("Key",))
        tag_value = tag.get("Value")
        if isinstance(tag_value, dict | list):
            raise Problem(f"{at}.Value", "must be a string")
        pairs.append(
            {"Key": _text(tag["Key"], f"{at}.Key"), "Value": "" if tag_value is None else str(tag_value)}
        )
    try:
        return tuple(check_tags(pairs))
    except AwsError as exc:
        raise Problem(where, exc.message) from exc


def _keys(value: Any, where: str) -> tuple[KeySpec, ...]:
    keys = []
    for index, raw in enumerate(_items(value, where)):
        at = f"{where}[{index}]"
        item = _mapping(raw, at, ("AccessKeyId", "SecretAccessKey"), ("AccessKeyId", "SecretAccessKey"))
        akid = _text(item["AccessKeyId"], f"{at}.AccessKeyId")
        if not ACCESS_KEY_ID.match(akid):
            raise Problem(f"{at}.AccessKeyId", "must be AKIA followed by 16 characters of A-Z and 0-9")
        secret = _text(item["SecretAccessKey"], f"{at}.SecretAccessKey")
        if not SECRET.match(secret):
            raise Problem(f"{at}.SecretAccessKey", "must be 40 characters of A-Z, a-z, 0-9, / and +")
        keys.append(KeySpec(akid, secret))
    return tuple(keys)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    return tuple(_text(item, f"{where}[{i}]") for i, item in enumerate(_items(value, where)))


def _inline(
    value: Any, where: str, entity_type: EntityType, entity_name: str
) -> tuple[InlinePolicySpec, ...]:
    out: list[InlinePolicySpec] = []
    for index, raw in enumerate(_items(value, where)):
        at = f"{where}[{index}]"
        item = _mapping(raw, at, ("PolicyName", "PolicyDocument"), ("PolicyName", "PolicyDocument"))
        name = _name(item["PolicyName"], f"{at}.PolicyName", 128)
        if any(p.name == name for p in out):
            raise Problem(f"{at}.PolicyName", f"duplicate policy name {name}")
        out.append(
            InlinePolicySpec(
                name, _document(item["PolicyDocument"], f"{at}.PolicyDocument", PolicyKind.IDENTITY)
            )
        )
    try:
        check_inline_policy_size([p.document for p in out], entity_type, entity_name)
    except MalformedPolicyDocument as exc:
        raise Problem(where, f"{exc.code}: {exc.message}") from exc
    return tuple(out)


def _arns(value: Any, where: str) -> tuple[str, ...]:
    arns = _strings(value, where)
    if len(arns) > MAX_MANAGED:
        raise Problem(where, f"at most {MAX_MANAGED} managed policies")
    return arns


# --- entities ----------------------------------------------------------------------------------


def _holder(item: dict[str, Any], at: str, entity_type: EntityType, name: str) -> dict[str, Any]:
    """Path, ManagedPolicyArns and Policies: what users, groups and roles share."""
    return {
        "path": _path(item.get("Path"), f"{at}.Path"),
        "managed_policy_arns": _arns(item.get("ManagedPolicyArns"), f"{at}.ManagedPolicyArns"),
        "policies": _inline(item.get("Policies"), f"{at}.Policies", entity_type, name),
    }


def _boundary(item: dict[str, Any], at: str) -> str | None:
    boundary = item.get("PermissionsBoundary")
    return None if boundary is None else _text(boundary, f"{at}.PermissionsBoundary")


def _user(raw: Any, at: str) -> UserSpec:
    allowed = ("UserName", "Path", "Groups", "ManagedPolicyArns", "Policies", "PermissionsBoundary", "Tags",
               "AccessKeys")  # fmt: skip
    item = _mapping(raw, at, allowed, ("UserName",))
    name = _name(item["UserName"], f"{at}.UserName", 64)
    groups = _strings(item.get("Groups"), f"{at}.Groups")
    if len(groups) > MAX_GROUPS:
        raise Problem(f"{at}.Groups", f"at most {MAX_GROUPS} groups")
    keys = _keys(item.get("AccessKeys"), f"{at}.AccessKeys")
    if len(keys) > MAX_KEYS:
        raise Problem(f"{at}.AccessKeys", f"at most {MAX_KEYS} access keys")
    return UserSpec(
        name=name,
        groups=groups,
        **_holder(item, at, "user", name),
        permissions_boundary=_boundary(item, at),
        tags=_tags(item.get("Tags"), f"{at}.Tags"),
        access_keys=keys,
    )


def _group(raw: Any, at: str) -> GroupSpec:
    item = _mapping(raw, at, ("GroupName", "Path", "ManagedPolicyArns", "Policies"), ("GroupName",))
    name = _name(item["GroupName"], f"{at}.GroupName", 128)
    return GroupSpec(name=name, **_holder(item, at, "group", name))


def _session_duration(value: Any, where: str) -> int:
    if value is None:
        return 3600
    if not isinstance(value, int) or isinstance(value, bool) or not 3600 <= value <= 43200:
        raise Problem(where, "must be a number of seconds from 3600 to 43200")
    return value


def _description(value: Any, where: str) -> str | None:
    if value is None:
        return None
    text = _text(value, where)
    if len(text) > 1000:
        raise Problem(where, "must be at most 1000 characters")
    return text


def _role(raw: Any, at: str) -> RoleSpec:
    allowed = ("RoleName", "Path", "AssumeRolePolicyDocument", "ManagedPolicyArns", "Policies",
               "MaxSessionDuration", "PermissionsBoundary", "Description", "Tags")  # fmt: skip
    item = _mapping(raw, at, allowed, ("RoleName", "AssumeRolePolicyDocument"))
    name = _name(item["RoleName"], f"{at}.RoleName", 64)
    trust = _document(
        item["AssumeRolePolicyDocument"],
        f"{at}.AssumeRolePolicyDocument",
        PolicyKind.TRUST,
        check_trust_policy_size,
    )
    return RoleSpec(
        name=name,
        assume_role_policy_document=trust,
        **_holder(item, at, "role", name),
        max_session_duration=_session_duration(item.get("MaxSessionDuration"), f"{at}.MaxSessionDuration"),
        permissions_boundary=_boundary(item, at),
        description=_description(item.get("Description"), f"{at}.Description"),
        tags=_tags(item.get("Tags"), f"{at}.Tags"),
    )


def _managed(raw: Any, at: str) -> ManagedPolicySpec:
    allowed = ("ManagedPolicyName", "Path", "PolicyDocument", "Description")
    item = _mapping(raw, at, allowed, ("ManagedPolicyName", "PolicyDocument"))
    return ManagedPolicySpec(
        name=_name(item["ManagedPolicyName"], f"{at}.ManagedPolicyName", 128),
        path=_path(item.get("Path"), f"{at}.Path"),
        document=_document(
            item["PolicyDocument"], f"{at}.PolicyDocument", PolicyKind.IDENTITY, check_managed_policy_size
        ),
        description=_description(item.get("Description"), f"{at}.Description"),
    )


def _profile(raw: Any, at: str) -> InstanceProfileSpec:
    item = _mapping(raw, at, ("InstanceProfileName", "Path", "Roles"), ("InstanceProfileName",))
    roles = _strings(item.get("Roles"), f"{at}.Roles")
    if len(roles) > 1:
        raise Problem(f"{at}.Roles", "an instance profile holds at most 1 role")
    return InstanceProfileSpec(
        name=_name(item["InstanceProfileName"], f"{at}.InstanceProfileName", 128),
        path=_path(item.get("Path"), f"{at}.Path"),
        roles=roles,
    )


def _bucket(raw: Any, at: str) -> BucketSpec:
    item = _mapping(raw, at, ("BucketName", "PolicyDocument", "Objects"), ("BucketName",))
    name = _text(item["BucketName"], f"{at}.BucketName")
    if not BUCKET.match(name) or ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name, re.ASCII):
        raise Problem(
            f"{at}.BucketName", "must be 3-63 characters of a-z, 0-9, '.' and '-' (S3 bucket naming)"
        )
    policy = item.get("PolicyDocument")
    objects = []
    for index, obj in enumerate(_items(item.get("Objects"), f"{at}.Objects")):
        where = f"{at}.Objects[{index}]"
        entry = _mapping(obj, where, ("Key", "Body"), ("Key",))
        key = _text(entry["Key"], f"{where}.Key")
        if not 1 <= len(key.encode()) <= 1024:
            raise Problem(f"{where}.Key", "must be 1-1024 bytes")
        objects.append(ObjectSpec(key, _text(entry.get("Body", ""), f"{where}.Body")))
    return BucketSpec(
        name=name,
        policy_document=None
        if policy is None
        else _document(policy, f"{at}.PolicyDocument", PolicyKind.RESOURCE),
        objects=tuple(objects),
    )


# --- accounts and the whole file ---------------------------------------------------------------

SECTIONS: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "Users": ("users", _user),
    "Groups": ("groups", _group),
    "Roles": ("roles", _role),
    "ManagedPolicies": ("managed_policies", _managed),
    "InstanceProfiles": ("instance_profiles", _profile),
    "Buckets": ("buckets", _bucket),
    "Instances": ("instances", read_instance),
    "Tasks": ("tasks", read_task),
}
ACCOUNT_FIELDS = ("AccountId", "RootAccessKeys", "ServiceControlPolicies", *SECTIONS, "OIDCProviders")


def _jwks(value: Any, where: str, base: Path) -> str:
    """A JWKS document: a mapping, JSON text, or the path of a file holding it (relative to the
    bootstrap file's folder)."""
    from monban.services.sts.oidc_keys import parse_jwks

    if isinstance(value, dict):
        text = json.dumps(_plain(value))
    else:
        text = _text(value, where)
        if not text.lstrip().startswith("{"):
            try:
                text = (base / text).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise Problem(where, f"cannot read the JWKS file: {exc}") from exc
    try:
        parse_jwks(text)
    except ValueError as exc:
        raise Problem(where, str(exc)) from exc
    return text


def _oidc_provider(raw: Any, at: str, base: Path) -> OidcProviderSpec:
    """An OIDC provider, checked as CreateOpenIDConnectProvider checks its parameters."""
    from monban.services.iam.oidc_providers import check_client_ids, check_thumbprints, check_url

    allowed = ("Url", "ClientIdList", "ThumbprintList", "Tags", "Jwks")
    item = _mapping(raw, at, allowed, ("Url",))
    try:
        url = check_url(_text(item["Url"], f"{at}.Url"))
        client_ids = check_client_ids(list(_strings(item.get("ClientIdList"), f"{at}.ClientIdList")))
        thumbprints = check_thumbprints(list(_strings(item.get("ThumbprintList"), f"{at}.ThumbprintList")))
    except AwsError as exc:
        raise Problem(at, f"{exc.code}: {exc.message}") from exc
    jwks = item.get("Jwks")
    return OidcProviderSpec(
        url=url,
        client_ids=tuple(client_ids),
        thumbprints=tuple(thumbprints),
        tags=_tags(item.get("Tags"), f"{at}.Tags"),
        jwks=None if jwks is None else _jwks(jwks, f"{at}.Jwks", base),
    )


def _collect(value: Any, where: str, read: Callable[[Any, str], T], problems: list[str]) -> tuple[T, ...]:
    """Read every item of a list, recording (not stopping at) each bad one."""
    out: list[T] = []
    try:
        items = _items(value, where)
    except Problem as exc:
        problems.append(str(exc))
        return ()
    for index, raw in enumerate(items):
        try:
            out.append(read(raw, f"{where}[{index}]"))
        except Problem as exc:
            problems.append(str(exc))
    return tuple(out)


def _account_id(value: Any, where: str) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else _text(value, where)
    if not ACCOUNT_ID.match(text):
        raise Problem(where, "must be 12 digits (quote it in YAML)")
    return text


def _account(raw: Any, at: str, problems: list[str], base: Path) -> AccountSpec | None:
    try:
        item = _mapping(raw, at, ACCOUNT_FIELDS, ("AccountId",))
        account_id = _account_id(item["AccountId"], f"{at}.AccountId")
        root_keys = _keys(item.get("RootAccessKeys"), f"{at}.RootAccessKeys")
    except Problem as exc:
        problems.append(str(exc))
        return None
    scps = _collect(
        item.get("ServiceControlPolicies"),
        f"{at}.ServiceControlPolicies",
        lambda doc, where: _document(doc, where, PolicyKind.SCP),
        problems,
    )
    sections = {
        field: _collect(item.get(key), f"{at}.{key}", read, problems)
        for key, (field, read) in SECTIONS.items()
    }
    oidc = _collect(
        item.get("OIDCProviders"), f"{at}.OIDCProviders", lambda r, w: _oidc_provider(r, w, base), problems
    )
    _unique(((f"{at}.OIDCProviders[{i}].Url", o.url) for i, o in enumerate(oidc)), "provider", problems)
    return AccountSpec(
        account_id=account_id,
        root_access_keys=root_keys,
        service_control_policies=scps,
        oidc_providers=oidc,
        **sections,
    )


def _unique(names: Iterable[tuple[str, str]], what: str, problems: list[str]) -> None:
    """(where, name) pairs whose names must differ case-insensitively."""
    seen: dict[str, str] = {}
    for where, name in names:
        if name.lower() in seen:
            problems.append(f"{where}: duplicate {what} {name} (also at {seen[name.lower()]})")
        else:
            seen[name.lower()] = where


def _policy_arn_problem(arn: str, account: AccountSpec) -> str | None:
    if arn in aws_arns():
        return None
    if any(arn == policy.arn(account.account_id) for policy in account.managed_policies):
        return None
    return f"{arn} is neither an AWS managed policy monban ships nor a ManagedPolicies entry of this account"


def _check_policy_refs(account: AccountSpec, at: str, problems: list[str]) -> None:
    holders: list[tuple[str, Any]] = [("Users", u) for u in account.users]
    holders += [("Groups", g) for g in account.groups] + [("Roles", r) for r in account.roles]
    counters: dict[str, int] = {}
    for section, holder in holders:
        index = counters[section] = counters.get(section, -1) + 1
        where = f"{at}.{section}[{index}]"
        for i, arn in enumerate(holder.managed_policy_arns):
            problem = _policy_arn_problem(arn, account)
            if problem:
                problems.append(f"{where}.ManagedPolicyArns[{i}]: {problem}")
        boundary = getattr(holder, "permissions_boundary", None)
        if boundary and (problem := _policy_arn_problem(boundary, account)):
            problems.append(f"{where}.PermissionsBoundary: {problem}")


def _check_account(account: AccountSpec, at: str, problems: list[str]) -> None:
    """References and uniqueness inside one account."""
    named: tuple[tuple[str, str, str, tuple[Any, ...]], ...] = (
        ("Users", "UserName", "user", account.users),
        ("Groups", "GroupName", "group", account.groups),
        ("Roles", "RoleName", "role", account.roles),
        ("ManagedPolicies", "ManagedPolicyName", "managed policy", account.managed_policies),
        ("InstanceProfiles", "InstanceProfileName", "instance profile", account.instance_profiles),
    )
    for section, field, what, specs in named:
        _unique(((f"{at}.{section}[{i}].{field}", s.name) for i, s in enumerate(specs)), what, problems)
    groups = {g.name.lower() for g in account.groups}
    for i, user in enumerate(account.users):
        for j, group in enumerate(user.groups):
            if group.lower() not in groups:
                problems.append(f"{at}.Users[{i}].Groups[{j}]: no group {group} in this account's Groups")
    roles = {r.name.lower() for r in account.roles}
    for i, profile in enumerate(account.instance_profiles):
        for j, role in enumerate(profile.roles):
            if role.lower() not in roles:
                problems.append(
                    f"{at}.InstanceProfiles[{i}].Roles[{j}]: no role {role} in this account's Roles"
                )
    _check_policy_refs(account, at, problems)
    check_workloads(account, at, problems)


def _check_file(accounts: tuple[AccountSpec, ...], problems: list[str]) -> None:
    """Uniqueness across accounts: account ids, access key ids, bucket names (S3 is global)."""
    _unique(((f"Accounts[{i}].AccountId", a.account_id) for i, a in enumerate(accounts)), "account", problems)
    keys: list[tuple[str, str]] = []
    buckets: list[tuple[str, str]] = []
    for i, account in enumerate(accounts):
        keys += [
            (f"Accounts[{i}].RootAccessKeys[{j}]", k.access_key_id)
            for j, k in enumerate(account.root_access_keys)
        ]
        for u, user in enumerate(account.users):
            keys += [
                (f"Accounts[{i}].Users[{u}].AccessKeys[{j}]", k.access_key_id)
                for j, k in enumerate(user.access_keys)
            ]
        buckets += [(f"Accounts[{i}].Buckets[{j}].BucketName", b.name) for j, b in enumerate(account.buckets)]
    _unique(keys, "access key id", problems)
    _unique(buckets, "bucket", problems)
    check_workload_ids(accounts, problems)


def parse_bootstrap(data: Any, source: str = "<bootstrap>") -> Bootstrap:
    """Validate decoded YAML; raise BootstrapError listing every problem."""
    problems: list[str] = []
    if data is None:
        return Bootstrap(source=source)
    try:
        top = _mapping(data, "(top level)", ("Accounts",))
        raw_accounts = _items(top.get("Accounts"), "Accounts")
    except Problem as exc:
        raise BootstrapError(source, [str(exc)]) from exc
    base = Path(source).parent if source != "<bootstrap>" else Path.cwd()
    parsed = [_account(raw, f"Accounts[{i}]", problems, base) for i, raw in enumerate(raw_accounts)]
    accounts = tuple(a for a in parsed if a is not None)
    if not problems:
        for i, account in enumerate(accounts):
            _check_account(account, f"Accounts[{i}]", problems)
        _check_file(accounts, problems)
    if problems:
        raise BootstrapError(source, problems)
    return Bootstrap(accounts, source)


def load_bootstrap(path: Path | str) -> Bootstrap:
    """Read and validate a bootstrap file; BootstrapError (naming each bad field) if it is not valid."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BootstrapError(source, [f"cannot read the file: {exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BootstrapError(source, [f"not valid YAML: {exc}"]) from exc
    except RecursionError as exc:  # PyYAML's composer recurses once per level of nesting
        raise BootstrapError(source, [f"nested more than {MAX_DEPTH} levels deep"]) from exc
    problem = _unbounded(data)
    if problem:
        raise BootstrapError(source, [problem])
    return parse_bootstrap(data, source)


def _unbounded(data: Any) -> str | None:
    """What makes decoded YAML too big to walk, None if nothing: aliases expand to shared values,
    so a few lines can stand for billions of values (an alias bomb) or for a value that contains
    itself; the validators below walk (and ``json.dumps``) the expansion."""
    count = 0
    stack: list[tuple[Any, tuple[int, ...]]] = [(data, ())]
    while stack:
        value, above = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return f"more than {MAX_VALUES} values once its aliases are expanded"
        if isinstance(value, dict | list):
            if id(value) in above:
                return "a value contains itself (a recursive alias)"
            if len(above) >= MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            inner = (*above, id(value))
            stack.extend((item, inner) for item in (value.values() if isinstance(value, dict) else value))
    return None
