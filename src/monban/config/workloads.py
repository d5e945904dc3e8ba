"""The bootstrap file's workloads: ``Instances`` (EC2 instance records, served by the instance
metadata service) and ``Tasks`` (ECS tasks, served by the container credentials endpoint), read
and applied here.

``Instances: [{InstanceId, IamInstanceProfile, Tags, MetadataOptions: {HttpTokens}, Region,
AvailabilityZone}]`` — every field optional. Instances are made in the file's order (so their
ordinals, hence their metadata ports, follow it). Applying is idempotent by instance id: an
instance whose id exists is left as it is (after its creation the EC2 API owns it: tags, profile
association, state). An entry without ``InstanceId`` gets ``i-`` and the first 17 hex digits of
SHA-256 of ``"<account id>/<index of the entry>"``: the same id at every start, so it is made
once — moving the entry to another place in the list makes another instance.

``Tasks: [{TaskRoleArn, AuthorizationToken}]`` — both required; the role must be of the same
account (ECS: a task role is in the task's account). The file owns the account's tasks, as it
owns its SCPs (there is no ECS API in monban): applying makes them exactly the file's; the token is
kept only as its keyed digest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from monban.config.fields import Problem, items, mapping, text
from monban.config.model import AccountSpec, InstanceSpec, TaskSpec
from monban.credentials.keyring import KeyRing
from monban.protocol.errors import AwsError
from monban.services.iam.common import USER_NAME
from monban.services.iam.instance_profiles import find_profile, profile_not_found
from monban.services.sts.issue import parse_role_arn
from monban.store.instances import NewInstance, create_instance, get_instance
from monban.store.tasks import replace_tasks, token_digest

INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$", re.ASCII)
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$", re.ASCII)
TOKEN = re.compile(r"^[\x21-\x7e]{16,8192}$")
MAX_TAGS = 50  # EC2: tags per resource


def _ec2_tags(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """EC2 tags (EC2 User Guide, "Tag restrictions"): a list of ``{Key, Value}`` or a mapping; keys
    1–127 characters, not starting with ``aws:``, values 0–255, at most 50, keys unique."""
    if isinstance(value, dict):
        pairs = [(k, v, f"{where}.{k}") for k, v in value.items()]
    else:
        pairs = []
        for index, raw in enumerate(items(value, where)):
            tag = mapping(raw, f"{where}[{index}]", ("Key", "Value"), ("Key",))
            pairs.append((tag["Key"], tag.get("Value"), f"{where}[{index}]"))
    if len(pairs) > MAX_TAGS:
        raise Problem(where, f"at most {MAX_TAGS} tags")
    out: dict[str, str] = {}
    for key, raw_value, at in pairs:
        key = text(key, f"{at}.Key" if at.endswith("]") else at)
        if raw_value is not None and not isinstance(raw_value, str | int | float):
            raise Problem(at, "a tag's value must be a string")
        tag_value = "" if raw_value is None else str(raw_value)
        if not 1 <= len(key) <= 127 or key.lower().startswith("aws:"):
            raise Problem(at, "a tag key is 1-127 characters and does not start with aws:")
        if len(tag_value) > 255:
            raise Problem(at, "a tag value is at most 255 characters")
        if key in out:
            raise Problem(at, f"duplicate tag key {key}")
        out[key] = tag_value
    return tuple(out.items())


def _placement(item: dict[str, Any], at: str) -> tuple[str, str]:
    region, zone = item.get("Region"), item.get("AvailabilityZone")
    if region is not None and not REGION.match(text(region, f"{at}.Region")):
        raise Problem(f"{at}.Region", "must be a Region code such as us-east-1")
    if zone is not None:
        zone = text(zone, f"{at}.AvailabilityZone")
        region = region or zone[:-1]
        if not REGION.match(region) or zone[:-1] != region or not zone[-1:].isalpha():
            raise Problem(
                f"{at}.AvailabilityZone", "must be the Region's code and a letter, such as us-east-1a"
            )
    region = region or "us-east-1"
    return region, zone or f"{region}a"


def read_instance(raw: Any, at: str) -> InstanceSpec:
    allowed = ("InstanceId", "IamInstanceProfile", "Tags", "MetadataOptions", "Region", "AvailabilityZone")
    item = mapping(raw, at, allowed)
    instance_id = item.get("InstanceId")
    if instance_id is not None and not INSTANCE_ID.match(text(instance_id, f"{at}.InstanceId")):
        raise Problem(f"{at}.InstanceId", "must be i- and 8 or 17 lowercase hex digits")
    profile = item.get("IamInstanceProfile")
    if profile is not None:
        profile = text(profile, f"{at}.IamInstanceProfile")
        if not 1 <= len(profile) <= 128 or not USER_NAME.match(profile):
            raise Problem(f"{at}.IamInstanceProfile", "must be an instance profile's name")
    options = mapping(item.get("MetadataOptions") or {}, f"{at}.MetadataOptions", ("HttpTokens",))
    tokens = options.get("HttpTokens", "optional")
    if tokens not in ("optional", "required"):
        raise Problem(f"{at}.MetadataOptions.HttpTokens", "must be optional or required")
    region, zone = _placement(item, at)
    return InstanceSpec(
        instance_id=instance_id,
        profile=profile,
        tags=_ec2_tags(item.get("Tags"), f"{at}.Tags"),
        http_tokens=tokens,
        region=region,
        availability_zone=zone,
    )


def read_task(raw: Any, at: str) -> TaskSpec:
    item = mapping(raw, at, ("TaskRoleArn", "AuthorizationToken"), ("TaskRoleArn", "AuthorizationToken"))
    role_arn = text(item["TaskRoleArn"], f"{at}.TaskRoleArn")
    if parse_role_arn(role_arn) is None:
        raise Problem(f"{at}.TaskRoleArn", "must be a role's ARN, arn:aws:iam::<account>:role/<name>")
    token = text(item["AuthorizationToken"], f"{at}.AuthorizationToken")
    if not TOKEN.match(token):
        raise Problem(f"{at}.AuthorizationToken", "must be 16-8192 visible ASCII characters")
    return TaskSpec(role_arn, token)


def instance_id_of(account: str, index: int, spec: InstanceSpec) -> str:
    """The entry's instance id: its own, or the one derived from its place (stable across starts)."""
    if spec.instance_id is not None:
        return spec.instance_id
    return "i-" + hashlib.sha256(f"{account}/{index}".encode()).hexdigest()[:17]


def check_workloads(account: AccountSpec, at: str, problems: list[str]) -> None:
    """References inside one account: task roles of this account; profiles named by instances
    that the file does not declare must exist when the file is applied."""
    for i, task in enumerate(account.tasks):
        parsed = parse_role_arn(task.role_arn)
        if parsed is not None and parsed[0] != account.account_id:
            problems.append(
                f"{at}.Tasks[{i}].TaskRoleArn: a task role must be a role of account {account.account_id}"
            )


def check_workload_ids(accounts: Iterable[AccountSpec], problems: list[str]) -> None:
    """Instance ids and task tokens are unique across the file."""
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for i, account in enumerate(accounts):
        for j, spec in enumerate(account.instances):
            where, instance_id = f"Accounts[{i}].Instances[{j}]", instance_id_of(account.account_id, j, spec)
            if instance_id in ids:
                problems.append(f"{where}: duplicate instance id {instance_id} (also at {ids[instance_id]})")
            ids.setdefault(instance_id, where)
        for j, task in enumerate(account.tasks):
            where = f"Accounts[{i}].Tasks[{j}].AuthorizationToken"
            if task.token in tokens:
                problems.append(f"{where}: the same token as {tokens[task.token]}")
            tokens.setdefault(task.token, where)


def apply_instance(session: Session, account: str, index: int, spec: InstanceSpec) -> None:
    """Make the instance unless its id exists (in this account; another's is refused)."""
    instance_id = instance_id_of(account, index, spec)
    existing = get_instance(session, instance_id)
    if existing is not None:
        if existing.account_id != account:
            raise AwsError("InvalidParameterValue", f"Instance {instance_id} belongs to another account.")
        return
    profile_id = None
    if spec.profile is not None:
        profile = find_profile(session, account, spec.profile)
        if profile is None:
            raise profile_not_found(spec.profile)
        profile_id = profile.id
    new = NewInstance(
        account_id=account,
        region=spec.region,
        availability_zone=spec.availability_zone,
        profile_id=profile_id,
        tags=spec.tags,
        http_tokens=spec.http_tokens,
        instance_id=instance_id,
    )
    create_instance(session, new)


def apply_tasks(session: Session, keyring: KeyRing, account: str, tasks: Iterable[TaskSpec]) -> None:
    """The account's tasks become exactly ``tasks``."""
    replace_tasks(
        session, account, [(t.role_arn, token_digest(keyring.workload_tokens, t.token)) for t in tasks]
    )
