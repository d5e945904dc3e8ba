"""DescribeInstances, RunInstances and TerminateInstances over instance records (no machine runs).

RunInstances is authorized as EC2 authorizes it (Service Authorization Reference, Amazon EC2;
EC2 User Guide, "Example policies for working with RunInstances"): ``ec2:RunInstances`` on every
resource of the launch — the new instance, the image, and the subnet, network interface, security
group and volume it is made with — each with its own resource type's condition keys (a condition
on ``ec2:InstanceType`` over ``Resource: "*"`` fails on the image, as on AWS); ``ec2:CreateTags``
with ``ec2:CreateAction`` when tags are given; ``iam:PassRole`` on the profile's role.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.protocol.numbers import NotAnInteger, parse_integer
from monban.services.ec2.associations import pass_profile_role, profile_shape, requested_profile
from monban.services.ec2.catalogue import zone_names
from monban.services.ec2.common import (
    OPERATIONS,
    Filters,
    dry_run,
    ec2_authorize,
    filters,
    instance_arn,
    instance_ids,
    is_tag_filter,
    matches,
    not_found,
    page,
    page_size,
    region_instances,
    tag_filter,
    tag_set,
)
from monban.services.ec2.tags import check_tags, request_tag_context, resource_tag_context, tag_pairs
from monban.services.query import QueryCall, Result, register
from monban.settings import Settings
from monban.store import instances as store
from monban.store.instances import HTTP_TOKENS, InstanceRecord, NewInstance

STATE_CODES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}
IMAGE_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DEFAULT_TYPE = "m1.small"  # RunInstances' documented default
MAX_LAUNCH = 100


def state_shape(state: str) -> dict[str, Any]:
    return {"code": STATE_CODES[state], "name": state}


def _dns_name(record: InstanceRecord) -> str:
    host = "ip-" + record.private_ip.replace(".", "-")
    if record.region == "us-east-1":
        return f"{host}.ec2.internal"
    return f"{host}.{record.region}.compute.internal"


IMDS_TAG = "monban:imds-endpoint"


def imds_endpoint(settings: Settings, record: InstanceRecord) -> str | None:
    """Where the instance's metadata service listens (``--imds-port`` + its ordinal, on the
    server's host), while it has one."""
    if settings.imds_port is None or record.state != "running" or record.http_endpoint != "enabled":
        return None
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.imds_port + record.ordinal}"


def _shown_tags(settings: Settings, record: InstanceRecord) -> list[dict[str, str]] | None:
    """The instance's tags, and (not stored, not filterable) ``monban:imds-endpoint``."""
    shown = tag_set(record.tags)
    endpoint = imds_endpoint(settings, record)
    if endpoint is not None:
        shown.append({"key": IMDS_TAG, "value": endpoint})
    return shown or None


def instance_shape(session: Session, record: InstanceRecord, settings: Settings) -> dict[str, Any]:
    """One ``instancesSet`` item, as DescribeInstances and RunInstances return it."""
    live = record.state != "terminated"
    return {
        "instanceId": record.instance_id,
        "imageId": record.image_id,
        "instanceState": state_shape(record.state),
        "privateDnsName": _dns_name(record) if live else "",
        "dnsName": "",
        "reason": "",
        "amiLaunchIndex": 0,
        "productCodes": [],
        "instanceType": record.instance_type,
        "launchTime": record.launch_time,
        "placement": {"availabilityZone": record.availability_zone, "groupName": "", "tenancy": "default"},
        "monitoring": {"state": "disabled"},
        "subnetId": record.subnet_id if live else None,
        "vpcId": record.vpc_id if live else None,
        "privateIpAddress": record.private_ip if live else None,
        "sourceDestCheck": True,
        "groupSet": [],
        "architecture": "x86_64",
        "rootDeviceType": "ebs",
        "rootDeviceName": "/dev/xvda",
        "blockDeviceMapping": [],
        "virtualizationType": "hvm",
        "clientToken": "",
        "tagSet": _shown_tags(settings, record),
        "hypervisor": "xen",
        "networkInterfaceSet": [],
        "iamInstanceProfile": profile_shape(session, record.profile_id),
        "ebsOptimized": False,
        "enaSupport": True,
        "metadataOptions": {
            "state": "applied",
            "httpTokens": record.http_tokens,
            "httpPutResponseHopLimit": 2 if record.http_tokens == "required" else 1,
            "httpEndpoint": record.http_endpoint,
            "httpProtocolIpv6": "disabled",
            "instanceMetadataTags": "disabled",
        },
    }


def reservations(session: Session, records: list[InstanceRecord], settings: Settings) -> list[dict[str, Any]]:
    """The records grouped by reservation, in their order."""
    grouped: dict[str, list[InstanceRecord]] = {}
    for record in records:
        grouped.setdefault(record.reservation_id, []).append(record)
    return [
        {
            "reservationId": rid,
            "ownerId": members[0].account_id,
            "groupSet": [],
            "instancesSet": [instance_shape(session, r, settings) for r in members],
        }
        for rid, members in grouped.items()
    ]


# --- DescribeInstances ----------------------------------------------------------------------------


def _fields(session: Session, record: InstanceRecord) -> dict[str, list[str]]:
    profile = profile_shape(session, record.profile_id) or {}
    return {
        "instance-id": [record.instance_id],
        "instance-state-name": [record.state],
        "instance-state-code": [str(STATE_CODES[record.state])],
        "availability-zone": [record.availability_zone],
        "instance-type": [record.instance_type],
        "image-id": [record.image_id],
        "vpc-id": [record.vpc_id],
        "subnet-id": [record.subnet_id],
        "private-ip-address": [record.private_ip],
        "private-dns-name": [_dns_name(record)],
        "reservation-id": [record.reservation_id],
        "owner-id": [record.account_id],
        "iam-instance-profile.arn": [profile["arn"]] if "arn" in profile else [],
        "iam-instance-profile.id": [profile["id"]] if "id" in profile else [],
        "metadata-options.http-tokens": [record.http_tokens],
        "metadata-options.http-endpoint": [record.http_endpoint],
    }


_INSTANCE_FILTERS = frozenset(
    {
        "instance-id",
        "instance-state-name",
        "instance-state-code",
        "availability-zone",
        "instance-type",
        "image-id",
        "vpc-id",
        "subnet-id",
        "private-ip-address",
        "private-dns-name",
        "reservation-id",
        "owner-id",
        "iam-instance-profile.arn",
        "iam-instance-profile.id",
        "metadata-options.http-tokens",
        "metadata-options.http-endpoint",
    }
)


def _selected(session: Session, record: InstanceRecord, chosen: Filters) -> bool:
    fields: dict[str, list[str]] | None = None
    for name, patterns in chosen:
        by_tag = tag_filter(name, patterns, record.tags)
        if by_tag is None:
            fields = fields or _fields(session, record)
            by_tag = matches(patterns, fields[name])
        if not by_tag:
            return False
    return True


@register(OPERATIONS, "DescribeInstances")
def describe_instances(call: QueryCall) -> Result:
    """ec2:DescribeInstances (resource ``*``): the caller's instances in the Region of the request,
    terminated ones included; InstanceId.N (InvalidInstanceID.NotFound for one that is not
    there), filters, MaxResults 5–1000 with NextToken (not with InstanceId)."""
    ec2_authorize(call, "ec2:DescribeInstances", "*")
    dry_run(call)
    wanted = instance_ids(call.params)
    chosen = filters(call.params, lambda n: n in _INSTANCE_FILTERS or is_tag_filter(n))
    size = page_size(call.params)
    if wanted and size is not None:
        raise AwsError(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
    with call.read() as session:
        records = region_instances(call, session)
        if wanted:
            known = {r.instance_id for r in records}
            missing = [i for i in wanted if i not in known]
            if missing:
                raise not_found(missing)
            records = [r for r in records if r.instance_id in wanted]
        records = [r for r in records if _selected(session, r, chosen)]
        items, token = page(records, call.params, size)
        return {"reservationSet": reservations(session, items, call.state.settings), "nextToken": token}


# --- RunInstances -------------------------------------------------------------------------------


def _count(call: QueryCall, name: str) -> int:
    value = call.params.get(name)
    if value is None:
        raise AwsError("MissingParameter", f"The request must contain the parameter {name}")
    try:
        count = parse_integer(value)
    except NotAnInteger as exc:
        raise AwsError("InvalidParameterValue", f"Invalid value '{value}' for {name}") from exc
    if count < 1:
        member = name[0].lower() + name[1:]
        raise AwsError("InvalidParameterValue", f"Value ({count}) for parameter {member} is invalid.")
    return count


def _launch_tags(call: QueryCall) -> list[tuple[str, str]]:
    tags: list[tuple[str, str]] = []
    for spec in call.params.indexed_structs("TagSpecification"):
        kind = spec.get("ResourceType")
        if kind != "instance":
            raise AwsError(
                "InvalidParameterValue", f"'{kind}' is not a valid taggable resource type for this operation."
            )
        tags += check_tags(tag_pairs(spec))
    if len(dict(tags)) > 50:
        raise AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
    return list(dict(tags).items())


def _launch_request(call: QueryCall) -> dict[str, Any]:
    p = call.params
    image = p.get("ImageId")
    if image is None:
        raise AwsError("MissingParameter", "The request must contain the parameter ImageId")
    if not IMAGE_ID.match(image):
        raise AwsError("InvalidAMIID.Malformed", f'Invalid id: "{image}" (expecting "ami-...")')
    low, high = _count(call, "MinCount"), _count(call, "MaxCount")
    if low > high:
        raise AwsError("InvalidParameterValue", "MinCount must be less than or equal to MaxCount")
    if low > MAX_LAUNCH:
        raise AwsError("InvalidParameterValue", f"monban launches at most {MAX_LAUNCH} instances per call")
    kind = p.get("InstanceType") or DEFAULT_TYPE
    if not INSTANCE_TYPE.match(kind):
        message = f"The following supplied instance types do not exist: [{kind}]"
        raise AwsError("InvalidParameterValue", message)
    zones = zone_names(call.info.region)
    zone = p.get("Placement.AvailabilityZone") or zones[0]
    if zone not in zones:
        raise AwsError("InvalidParameterValue", f"Invalid availability zone: [{zone}]")
    tokens = p.get("MetadataOptions.HttpTokens") or "optional"
    if tokens not in HTTP_TOKENS:
        raise AwsError("InvalidParameterValue", f"Value ({tokens}) for parameter httpTokens is invalid.")
    return {
        "image": image,
        "count": min(high, MAX_LAUNCH),
        "type": kind,
        "zone": zone,
        "tokens": tokens,
        "tags": _launch_tags(call),
    }


def _authorize_launch(call: QueryCall, session: Session, launch: dict[str, Any]) -> str | None:
    """Every authorization of a launch; returns the profile's unique id."""
    region, account = call.info.region, call.caller.account
    profile = requested_profile(call, session)
    zone = {"ec2:AvailabilityZone": launch["zone"], "ec2:Region": region}
    instance: dict[str, Any] = {
        **zone,
        "ec2:InstanceType": launch["type"],
        "ec2:MetadataHttpTokens": launch["tokens"],
        "ec2:RootDeviceType": "ebs",
        "ec2:Tenancy": "default",
        **request_tag_context(launch["tags"]),
    }
    if profile is not None:
        instance["ec2:InstanceProfile"] = profile.arn
    resources = [
        (f"arn:aws:ec2:{region}:{account}:instance/*", instance),
        (f"arn:aws:ec2:{region}::image/{launch['image']}", {"ec2:Region": region}),
        (f"arn:aws:ec2:{region}:{account}:subnet/*", zone),
        (f"arn:aws:ec2:{region}:{account}:network-interface/*", zone),
        (f"arn:aws:ec2:{region}:{account}:security-group/*", {"ec2:Region": region}),
        (f"arn:aws:ec2:{region}:{account}:volume/*", zone),
    ]
    for resource, context in resources:
        ec2_authorize(call, "ec2:RunInstances", resource, context)
    if launch["tags"]:
        context = {**request_tag_context(launch["tags"]), "ec2:CreateAction": "RunInstances"}
        ec2_authorize(call, "ec2:CreateTags", resources[0][0], context)
    if profile is not None:
        pass_profile_role(call, session, profile, resources[0][0])
    return None if profile is None else profile.id


def _launch(call: QueryCall, launch: dict[str, Any]) -> Result:
    with call.write() as session:
        profile_id = _authorize_launch(call, session, launch)
        dry_run(call)
        reservation = store.ec2_id("r")
        made = []
        for _ in range(launch["count"]):
            new = NewInstance(
                account_id=call.caller.account,
                region=call.info.region,
                availability_zone=launch["zone"],
                profile_id=profile_id,
                tags=tuple(launch["tags"]),
                http_tokens=launch["tokens"],
                image_id=launch["image"],
                instance_type=launch["type"],
                reservation_id=reservation,
            )
            made.append(store.create_instance(session, new, call.info.now))
        return {
            "reservationId": reservation,
            "ownerId": call.caller.account,
            "groupSet": [],
            "instancesSet": [instance_shape(session, r, call.state.settings) for r in made],
        }


@register(OPERATIONS, "RunInstances")
def run_instances(call: QueryCall) -> Result:
    """A record per instance (state running, the profile associated); no machine runs. Two
    launches racing for the same ordinals (two workers or nodes) retry."""
    launch = _launch_request(call)
    for attempt in range(5):
        try:
            return _launch(call, launch)
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


# --- TerminateInstances --------------------------------------------------------------------------


@register(OPERATIONS, "TerminateInstances")
def terminate_instances(call: QueryCall) -> Result:
    """ec2:TerminateInstances on each instance (with its tags as ``aws:ResourceTag/…``); the
    instance ends ``terminated`` and loses its profile association (its credentials stop)."""
    wanted = instance_ids(call.params)
    if not wanted:
        raise AwsError("MissingParameter", "The request must contain the parameter InstanceId")
    with call.write() as session:
        mine = {r.instance_id: r for r in region_instances(call, session)}
        missing = [i for i in wanted if i not in mine]
        if missing:
            raise not_found(missing)
        for instance_id in wanted:
            context = {**resource_tag_context(mine[instance_id]), "ec2:Region": call.info.region}
            ec2_authorize(call, "ec2:TerminateInstances", instance_arn(call, instance_id), context)
        dry_run(call)
        changes = []
        for instance_id in wanted:
            before = mine[instance_id].state
            store.set_profile(session, instance_id, None)
            store.set_state(session, instance_id, "terminated")
            after = "terminated" if before == "terminated" else "shutting-down"
            change = {"currentState": state_shape(after), "previousState": state_shape(before)}
            changes.append({"instanceId": instance_id, **change})
        return {"instancesSet": changes}
