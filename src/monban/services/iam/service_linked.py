"""Service-linked roles: CreateServiceLinkedRole, DeleteServiceLinkedRole,
GetServiceLinkedRoleDeletionStatus, and the protection of such roles from ordinary edits.

IAM API reference for the three actions; IAM User Guide, "Using service-linked roles": the role is
named by the service (``AWSServiceRoleFor…``, ``_<CustomSuffix>`` appended when given), lives under
``/aws-service-role/<service principal>/``, trusts that service, and only the service may change
or delete it: IAM refuses DeleteRole, UpdateAssumeRolePolicy, policy and boundary changes and
tagging with UnmodifiableEntity "Cannot perform the operation on the protected role '<name>' - this
role is only modifiable by AWS" (its description may still be edited). A second role of the same
name is InvalidInput "Service role name <name> has been taken in this account, please try a
different suffix."; CreateRole under ``/aws-service-role/`` is InvalidInput "Path prefix
'/aws-service-role/' can only be used for AWS Service linked Roles". Deletion is a task
(``task/aws-service-role/<service>/<role>/<uuid>``) whose status GetServiceLinkedRoleDeletionStatus
reports; monban has no resources that use the role, so the task succeeds at once.

The services accepted are those for which an AWS managed policy names the role
(``arn:aws:iam::*:role/aws-service-role/<service>/AWSServiceRoleFor…``, grants of
iam:CreateServiceLinkedRole), with that name.
"""

from __future__ import annotations

import json
import re
import uuid

from sqlalchemy import delete

from monban.aws_managed import service_linked_roles
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import arn, find_role, role_shape, tags_of
from monban.services.iam.entities import SERVICE_ROLE_PATH as PATH_PREFIX
from monban.services.iam.entities import is_service_linked
from monban.services.iam.roles import authorized_role, check_description, create_role_record, delete_principal
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.models import Attachment, InlinePolicy, InstanceProfileRole, RoleDeletionTask

OPERATIONS: dict[str, Operation] = {}

_NAME = re.compile(r"^[\w+=,.@-]+$")
_TASK = re.compile(r"^task/aws-service-role/([\w+=,.@-]+)/([\w+=,.@-]+)/[0-9a-f-]{36}$")


def _check_param(value: str, member: str, limit: int) -> str:
    if not 1 <= len(value) <= limit:
        bound = "greater than or equal to 1" if not value else f"less than or equal to {limit}"
        raise validation_error(value, member, f"have length {bound}")
    if not _NAME.match(value):
        raise validation_error(value, member, "satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def _role_name(service: str, suffix: str | None) -> str:
    base = service_linked_roles().get(service)
    if base is None:
        raise AwsError("InvalidInput", f"Service {service} does not support service-linked roles.")
    name = f"{base}_{suffix}" if suffix else base
    if len(name) > 64:
        raise validation_error(name, "roleName", "have length less than or equal to 64")
    return name


@register(OPERATIONS, "CreateServiceLinkedRole")
def create_service_linked_role(call: QueryCall) -> Result:
    """CreateServiceLinkedRole: authorized as iam:CreateServiceLinkedRole on the new role's ARN with
    iam:AWSServiceName (Service Authorization Reference, IAM)."""
    p = call.params
    service = _check_param(p.required("AWSServiceName"), "aWSServiceName", 128)
    suffix = p.get("CustomSuffix")
    if suffix is not None:
        _check_param(suffix, "customSuffix", 64)
    description = check_description(p.get("Description"))
    account = call.caller.account
    name = _role_name(service, suffix)
    path = f"{PATH_PREFIX}{service}/"
    context = {"iam:AWSServiceName": service}
    call.authorize("iam:CreateServiceLinkedRole", arn(account, "role", path, name), extra_context=context)
    with call.write() as session:
        if find_role(session, account, name) is not None:
            raise AwsError(
                "InvalidInput",
                f"Service role name {name} has been taken in this account, please try a different suffix.",
            )
        role = create_role_record(session, account, name, path, _trust(service), description)
        return {"Role": role_shape(session, role, tags_of(session, "role", role.id))}


@register(OPERATIONS, "DeleteServiceLinkedRole")
def delete_service_linked_role(call: QueryCall) -> Result:
    """DeleteServiceLinkedRole: the role goes with its policies and instance-profile memberships
    (the service owns them); the task is recorded as SUCCEEDED."""
    with call.write() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:DeleteServiceLinkedRole")
        if not is_service_linked(role):
            raise AwsError("InvalidInput", f"Role {role.name} is not a service-linked role.")
        service = role.path[len(PATH_PREFIX) : -1]
        task_id = f"task/aws-service-role/{service}/{role.name}/{uuid.uuid4()}"
        for model, column in ((Attachment, Attachment.entity_id), (InlinePolicy, InlinePolicy.entity_id)):
            session.execute(delete(model).where(column == role.id, model.entity_type == "role"))
        session.execute(delete(InstanceProfileRole).where(InstanceProfileRole.role_id == role.id))
        done = RoleDeletionTask(task_id=task_id, account_id=role.account_id, role_arn=role.arn)
        done.status, done.created_at = "SUCCEEDED", now()
        session.add(done)
        delete_principal(session, "role", role)
        return {"DeletionTaskId": task_id}


@register(OPERATIONS, "GetServiceLinkedRoleDeletionStatus")
def get_deletion_status(call: QueryCall) -> Result:
    """GetServiceLinkedRoleDeletionStatus: authorized on the deleted role's ARN; a task of another
    account, or none, is NoSuchEntity."""
    task_id = call.params.required("DeletionTaskId")
    match = _TASK.match(task_id) if len(task_id) <= 1000 else None
    if match is None:
        raise AwsError("InvalidInput", f"Invalid deletion task id: {task_id}")
    account = call.caller.account
    role_arn = arn(account, "role", f"{PATH_PREFIX}{match.group(1)}/", match.group(2))
    call.authorize("iam:GetServiceLinkedRoleDeletionStatus", role_arn)
    with call.read() as session:
        task = session.get(RoleDeletionTask, task_id)
        if task is None or task.account_id != account:
            raise AwsError("NoSuchEntity", f"Deletion task {task_id} was not found.")
        return {"Status": task.status}
