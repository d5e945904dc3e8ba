"""The bootstrap file, parsed: frozen records with CloudFormation's property names in snake case.

Policy documents are kept as JSON text (a YAML mapping is serialised once, at load time), already
validated by the policy engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A long-term access key with a fixed secret (development keys, root keys)."""

    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True, slots=True)
class InlinePolicySpec:
    name: str
    document: str


@dataclass(frozen=True, slots=True)
class ManagedPolicySpec:
    name: str
    path: str
    document: str
    description: str | None

    def arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:policy{self.path}{self.name}"


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    path: str
    managed_policy_arns: tuple[str, ...] = ()
    policies: tuple[InlinePolicySpec, ...] = ()


@dataclass(frozen=True, slots=True)
class UserSpec:
    name: str
    path: str
    groups: tuple[str, ...] = ()
    managed_policy_arns: tuple[str, ...] = ()
    policies: tuple[InlinePolicySpec, ...] = ()
    permissions_boundary: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    access_keys: tuple[KeySpec, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleSpec:
    name: str
    path: str
    assume_role_policy_document: str
    managed_policy_arns: tuple[str, ...] = ()
    policies: tuple[InlinePolicySpec, ...] = ()
    max_session_duration: int = 3600
    permissions_boundary: str | None = None
    description: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceProfileSpec:
    name: str
    path: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    key: str
    body: str


@dataclass(frozen=True, slots=True)
class BucketSpec:
    name: str
    policy_document: str | None = None
    objects: tuple[ObjectSpec, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The shape ``monban.services.s3.bootstrap.apply_buckets`` takes."""
        return {
            "BucketName": self.name,
            "PolicyDocument": self.policy_document,
            "Objects": [{"Key": o.key, "Body": o.body} for o in self.objects],
        }


@dataclass(frozen=True, slots=True)
class OidcProviderSpec:
    """An IAM OIDC provider (CloudFormation's AWS::IAM::OIDCProvider: Url, ClientIdList,
    ThumbprintList, Tags) plus monban's ``Jwks``: the issuer's keys as JSON text, for an issuer
    that cannot be reached (None: discovered over HTTPS)."""

    url: str  # without https://
    client_ids: tuple[str, ...] = ()
    thumbprints: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    jwks: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """An EC2 instance record (``store/instances.py``): RunInstances's IamInstanceProfile (by
    name), TagSpecifications' tags, MetadataOptions' HttpTokens, Placement. ``instance_id`` None:
    derived from the account and the entry's place in the file (``config/workloads.py``)."""

    instance_id: str | None
    profile: str | None
    tags: tuple[tuple[str, str], ...] = ()
    http_tokens: str = "optional"
    region: str = "us-east-1"
    availability_zone: str = "us-east-1a"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """An ECS task: its task role and the token its containers present (kept only as a keyed
    digest in the database)."""

    role_arn: str
    token: str


@dataclass(frozen=True, slots=True)
class AccountSpec:
    account_id: str
    root_access_keys: tuple[KeySpec, ...] = ()
    service_control_policies: tuple[str, ...] = ()
    users: tuple[UserSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    managed_policies: tuple[ManagedPolicySpec, ...] = ()
    instance_profiles: tuple[InstanceProfileSpec, ...] = ()
    buckets: tuple[BucketSpec, ...] = ()
    oidc_providers: tuple[OidcProviderSpec, ...] = ()
    instances: tuple[InstanceSpec, ...] = ()
    tasks: tuple[TaskSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """A whole, valid bootstrap file."""

    accounts: tuple[AccountSpec, ...] = ()
    source: str = "<bootstrap>"  # the file it came from, for error messages


class BootstrapError(ValueError):
    """The file is refused whole; each problem names the path of its field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid bootstrap file:\n  " + "\n  ".join(problems))
