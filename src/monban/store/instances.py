"""EC2 instance records: made by the bootstrap file or RunInstances, read by the EC2 API and the
instance metadata service.

Ids are EC2's: ``i-`` and 17 lowercase hex digits, ``iip-assoc-`` and 17 for a profile
association, ``vpc-``/``subnet-`` likewise. An instance's ``ordinal`` is its place in the order
instances were made; its metadata listener is ``--imds-port`` + ordinal.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.store.ec2_models import Instance

DEFAULT_IMAGE_ID = "ami-0123456789abcdef0"
DEFAULT_INSTANCE_TYPE = "t3.micro"
HTTP_TOKENS = ("optional", "required")
STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")


def ec2_id(prefix: str) -> str:
    """``<prefix>-`` and 17 lowercase hex digits, as EC2's long resource ids are."""
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One instance as the EC2 API and the metadata service see it."""

    instance_id: str
    account_id: str
    ordinal: int
    reservation_id: str
    region: str
    availability_zone: str
    state: str
    launch_time: datetime
    image_id: str
    instance_type: str
    vpc_id: str
    subnet_id: str
    private_ip: str
    profile_id: str | None
    association_id: str | None
    association_state: str | None
    http_tokens: str
    http_endpoint: str
    tags: tuple[tuple[str, str], ...]

    @property
    def arn(self) -> str:
        """``arn:aws:ec2:<region>:<account>:instance/<id>`` (``ec2:SourceInstanceARN``)."""
        return f"arn:aws:ec2:{self.region}:{self.account_id}:instance/{self.instance_id}"


def _record(row: Instance) -> InstanceRecord:
    tags = tuple((str(k), str(v)) for k, v in json.loads(row.tags))
    launch = row.launch_time if row.launch_time.tzinfo else row.launch_time.replace(tzinfo=UTC)
    return InstanceRecord(
        instance_id=row.instance_id,
        account_id=row.account_id,
        ordinal=row.ordinal,
        reservation_id=row.reservation_id,
        region=row.region,
        availability_zone=row.availability_zone,
        state=row.state,
        launch_time=launch,
        image_id=row.image_id,
        instance_type=row.instance_type,
        vpc_id=row.vpc_id,
        subnet_id=row.subnet_id,
        private_ip=row.private_ip,
        profile_id=row.profile_id,
        association_id=row.association_id,
        association_state=row.association_state,
        http_tokens=row.http_tokens,
        http_endpoint=row.http_endpoint,
        tags=tags,
    )


def _tags_json(tags: Iterable[tuple[str, str]]) -> str:
    return json.dumps([[k, v] for k, v in tags])


def _private_ip(ordinal: int) -> str:
    """A private address in 10.0.0.0/16 derived from the ordinal (distinct for 65,000 instances)."""
    return str(ipaddress.IPv4Address(0x0A000000 + 10 + ordinal % 65_000))


@dataclass(frozen=True, slots=True)
class NewInstance:
    """What making an instance takes; the rest (ids, ordinal, addresses, time) is made here."""

    account_id: str
    region: str
    availability_zone: str
    profile_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    http_tokens: str = "optional"
    image_id: str = DEFAULT_IMAGE_ID
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_id: str | None = None
    reservation_id: str | None = None  # one per RunInstances call; a new one when None


def create_instance(session: Session, new: NewInstance, now: datetime | None = None) -> InstanceRecord:
    """Add a running instance with the next ordinal (a unique column: two nodes racing for one
    ordinal make one of them fail its flush, and the caller's transaction retries)."""
    if new.http_tokens not in HTTP_TOKENS:
        raise ValueError(f"HttpTokens must be one of {HTTP_TOKENS}")
    top = session.scalar(select(func.max(Instance.ordinal)))
    ordinal = 0 if top is None else top + 1
    row = Instance(
        instance_id=new.instance_id or ec2_id("i"),
        account_id=new.account_id,
        ordinal=ordinal,
        reservation_id=new.reservation_id or ec2_id("r"),
        region=new.region,
        availability_zone=new.availability_zone,
        state="running",
        launch_time=now or datetime.now(UTC),
        image_id=new.image_id,
        instance_type=new.instance_type,
        vpc_id=ec2_id("vpc"),
        subnet_id=ec2_id("subnet"),
        private_ip=_private_ip(ordinal),
        profile_id=new.profile_id,
        association_id=ec2_id("iip-assoc") if new.profile_id else None,
        association_state="associated" if new.profile_id else None,
        http_tokens=new.http_tokens,
        http_endpoint="enabled",
        tags=_tags_json(new.tags),
    )
    session.add(row)
    session.flush()
    return _record(row)


def get_instance(session: Session, instance_id: str) -> InstanceRecord | None:
    row = session.get(Instance, instance_id)
    return None if row is None else _record(row)


def find_by_association(session: Session, association_id: str) -> InstanceRecord | None:
    """The instance holding the profile association ``association_id``, if any."""
    row = session.scalar(select(Instance).where(Instance.association_id == association_id))
    return None if row is None else _record(row)


def list_instances(session: Session, account_id: str | None = None) -> list[InstanceRecord]:
    """Every instance (of one account, when given), terminated ones included, by ordinal."""
    query = select(Instance).order_by(Instance.ordinal)
    if account_id is not None:
        query = query.where(Instance.account_id == account_id)
    return [_record(row) for row in session.scalars(query)]


def _row(session: Session, instance_id: str) -> Instance:
    row = session.get(Instance, instance_id, with_for_update=True)
    if row is None:
        raise LookupError(instance_id)
    return row


def set_profile(session: Session, instance_id: str, profile_id: str | None) -> InstanceRecord:
    """Associate a profile (a new association id) or, with ``None``, disassociate."""
    row = _row(session, instance_id)
    row.profile_id = profile_id
    row.association_id = ec2_id("iip-assoc") if profile_id else None
    row.association_state = "associated" if profile_id else None
    session.flush()
    return _record(row)


def set_state(session: Session, instance_id: str, state: str) -> InstanceRecord:
    if state not in STATES:
        raise ValueError(f"unknown instance state {state!r}")
    row = _row(session, instance_id)
    row.state = state
    session.flush()
    return _record(row)


def set_tags(session: Session, instance_id: str, tags: Iterable[tuple[str, str]]) -> InstanceRecord:
    """Replace the instance's tags (CreateTags/DeleteTags compute the new set)."""
    row = _row(session, instance_id)
    row.tags = _tags_json(tags)
    session.flush()
    return _record(row)
