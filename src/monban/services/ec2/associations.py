"""IAM instance profiles on instances: AssociateIamInstanceProfile, ReplaceIamInstanceProfileAssociation,
DisassociateIamInstanceProfile, DescribeIamInstanceProfileAssociations — and the profile lookup and
role passing that RunInstances shares.

Handing a role to an instance needs ``iam:PassRole`` on the profile's role, with
``iam:PassedToService`` = ``ec2.amazonaws.com`` (IAM User Guide, "Using an IAM role to grant
permissions to applications running on Amazon EC2 instances": "the user must have permission to
pass the role"); a profile with no role passes nothing. The association names the profile by its
unique id, as EC2 keeps it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.ec2.common import (
    ASSOCIATION_ID,
    EC2_SERVICE,
    OPERATIONS,
    dry_run,
    ec2_authorize,
    filters,
    instance_arn,
    matches,
    page,
    page_size,
    region_instances,
)
from monban.services.ec2.tags import resource_tag_context
from monban.services.iam.instance_profiles import find_profile, roles_of
from monban.services.query import QueryCall, Result, register
from monban.store import instances as store
from monban.store.instances import InstanceRecord
from monban.store.models import InstanceProfile

# Operations that hand a role to an instance (each calls ``pass_profile_role``).
ROLE_PASSING_OPERATIONS: frozenset[str] = frozenset(
    {"RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"}
)


def requested_profile(call: QueryCall, session: Session) -> InstanceProfile | None:
    """``IamInstanceProfile.Arn`` or ``.Name`` (of the caller's account); None when neither is given.
    An unknown one is EC2's InvalidParameterValue."""
    by_arn = call.params.get("IamInstanceProfile.Arn")
    by_name = call.params.get("IamInstanceProfile.Name")
    if by_arn is not None and by_name is not None:
        raise AwsError(
            "InvalidParameterCombination",
            "The parameter 'iamInstanceProfile.name' may not be used in combination with "
            "'iamInstanceProfile.arn'",
        )
    if by_arn is not None:
        profile = session.scalar(
            select(InstanceProfile).where(
                InstanceProfile.arn == by_arn, InstanceProfile.account_id == call.caller.account
            )
        )
        if profile is None:
            raise AwsError(
                "InvalidParameterValue",
                f"Value ({by_arn}) for parameter iamInstanceProfile.arn is invalid. "
                "Invalid IAM Instance Profile ARN",
            )
        return profile
    if by_name is not None:
        profile = find_profile(session, call.caller.account, by_name)
        if profile is None:
            raise AwsError(
                "InvalidParameterValue",
                f"Value ({by_name}) for parameter iamInstanceProfile.name is invalid. "
                "Invalid IAM Instance Profile name",
            )
        return profile
    return None


def pass_profile_role(call: QueryCall, session: Session, profile: InstanceProfile, instance: str) -> None:
    """``iam:PassRole`` on the profile's role for ``instance`` (an instance ARN, or ``instance/*``
    for one being launched)."""
    for role in roles_of(session, profile):
        context = {"iam:PassedToService": EC2_SERVICE, "iam:AssociatedResourceARN": instance}
        ec2_authorize(call, "iam:PassRole", role.arn, context)


def profile_shape(session: Session, profile_id: str | None) -> dict[str, str] | None:
    """``{arn, id}`` of the associated profile; a deleted profile keeps its id and last ARN-less
    shape out (EC2 keeps the association, IAM no longer knows the profile)."""
    if profile_id is None:
        return None
    profile = session.get(InstanceProfile, profile_id)
    if profile is None:
        return {"id": profile_id}
    return {"arn": profile.arn, "id": profile.id}


def association_shape(session: Session, record: InstanceRecord, state: str | None = None) -> dict[str, Any]:
    return {
        "associationId": record.association_id,
        "instanceId": record.instance_id,
        "iamInstanceProfile": profile_shape(session, record.profile_id),
        "state": state or record.association_state,
    }


def _own_instance(call: QueryCall, session: Session, instance_id: str) -> InstanceRecord:
    record = store.get_instance(session, instance_id)
    if record is None or record.account_id != call.caller.account or record.region != call.info.region:
        raise AwsError("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
    return record


def association_not_found(association: str) -> AwsError:
    return AwsError("InvalidAssociationID.NotFound", f"An association ID '{association}' does not exist")


def _by_association(call: QueryCall, session: Session) -> InstanceRecord:
    association = call.params.get("AssociationId")
    if not association:
        raise AwsError("MissingParameter", "The request must contain the parameter associationId")
    record = store.find_by_association(session, association) if ASSOCIATION_ID.match(association) else None
    if record is None or record.account_id != call.caller.account or record.region != call.info.region:
        raise association_not_found(association)
    return record


def _profile_required(call: QueryCall, session: Session) -> InstanceProfile:
    profile = requested_profile(call, session)
    if profile is None:
        raise AwsError("MissingParameter", "The request must contain the parameter iamInstanceProfile")
    return profile


def _authorized_profile(
    call: QueryCall, session: Session, record: InstanceRecord, action: str
) -> InstanceProfile:
    """The profile the request names, once ``action`` on the instance (with the new profile as
    ``ec2:NewInstanceProfile``) and passing its role are authorized, and DryRun answered."""
    profile = _profile_required(call, session)
    arn = instance_arn(call, record.instance_id)
    context = {**resource_tag_context(record), "ec2:NewInstanceProfile": profile.arn}
    ec2_authorize(call, action, arn, context)
    pass_profile_role(call, session, profile, arn)
    dry_run(call)
    return profile


@register(OPERATIONS, "AssociateIamInstanceProfile")
def associate_iam_instance_profile(call: QueryCall) -> Result:
    """ec2:AssociateIamInstanceProfile on the instance, iam:PassRole on the profile's role; one
    association per instance (IncorrectState)."""
    instance_id = call.params.get("InstanceId")
    if not instance_id:
        raise AwsError("MissingParameter", "The request must contain the parameter instanceId")
    with call.write() as session:
        record = _own_instance(call, session, instance_id)
        profile = _authorized_profile(call, session, record, "ec2:AssociateIamInstanceProfile")
        if record.association_id is not None:
            raise AwsError("IncorrectState", f"There is an existing association for instance {instance_id}")
        if record.state == "terminated":
            raise AwsError("IncorrectInstanceState", f"The instance '{instance_id}' is not in a valid state.")
        updated = store.set_profile(session, record.instance_id, profile.id)
        return {"iamInstanceProfileAssociation": association_shape(session, updated, "associating")}


@register(OPERATIONS, "ReplaceIamInstanceProfileAssociation")
def replace_iam_instance_profile_association(call: QueryCall) -> Result:
    with call.write() as session:
        record = _by_association(call, session)
        profile = _authorized_profile(call, session, record, "ec2:ReplaceIamInstanceProfileAssociation")
        updated = store.set_profile(session, record.instance_id, profile.id)
        return {"iamInstanceProfileAssociation": association_shape(session, updated, "associating")}


@register(OPERATIONS, "DisassociateIamInstanceProfile")
def disassociate_iam_instance_profile(call: QueryCall) -> Result:
    with call.write() as session:
        record = _by_association(call, session)
        arn = instance_arn(call, record.instance_id)
        ec2_authorize(call, "ec2:DisassociateIamInstanceProfile", arn, resource_tag_context(record))
        dry_run(call)
        shape = association_shape(session, record, "disassociating")
        store.set_profile(session, record.instance_id, None)
        return {"iamInstanceProfileAssociation": shape}


_ASSOCIATION_FILTERS = frozenset({"instance-id", "state"})


@register(OPERATIONS, "DescribeIamInstanceProfileAssociations")
def describe_iam_instance_profile_associations(call: QueryCall) -> Result:
    """ec2:DescribeIamInstanceProfileAssociations (resource ``*``); AssociationId.N, filters
    instance-id and state, MaxResults 5–1000 with NextToken."""
    ec2_authorize(call, "ec2:DescribeIamInstanceProfileAssociations", "*")
    dry_run(call)
    wanted = call.params.indexed("AssociationId")
    chosen = filters(call.params, _ASSOCIATION_FILTERS.__contains__)
    size = page_size(call.params)
    if wanted and size is not None:
        raise AwsError(
            "InvalidParameterCombination", "The parameter associationIds cannot be used with maxResults"
        )
    with call.read() as session:
        records = [r for r in region_instances(call, session) if r.association_id is not None]
        if wanted:
            missing = sorted(set(wanted) - {r.association_id for r in records})
            if missing:
                raise association_not_found(missing[0])
            records = [r for r in records if r.association_id in wanted]
        records = [r for r in records if _association_matches(r, chosen)]
        items, token = page(records, call.params, size)
        shapes = [association_shape(session, r) for r in items]
        return {"iamInstanceProfileAssociationSet": shapes, "nextToken": token}


def _association_matches(record: InstanceRecord, chosen: Any) -> bool:
    for name, patterns in chosen:
        value = record.instance_id if name == "instance-id" else record.association_state or ""
        if not matches(patterns, [value]):
            return False
    return True
