"""AssumeRoleWithWebIdentity against a real server, with boto3 (unsigned, as on AWS): tokens from the
test issuer (`monban oidc`, its JWKS declared in the bootstrap file) and from a local HTTPS issuer
found by discovery (its CA passed with --oidc-ca-bundle). A GitHub-style trust policy admits the
main branch and refuses a pull request, another repository, a wrong audience, an expired token, a
token signed by another key and an issuer registered in another account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_sts_support import error_of, session_client, uid
from tests.e2e.web_identity_support import (
    AUDIENCE,
    DEPLOY_ACCOUNT,
    GITHUB,
    MAIN,
    OTHER_ISSUER,
    Federation,
    HttpsIssuer,
    federation,
    github_trust,
    https_issuer,
    mint,
    unsigned_sts,
)

__all__ = ["federation", "https_issuer"]  # module fixtures
DEPLOY = f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/deploy"
PROVIDER = f"arn:aws:iam::{DEPLOY_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
DENIED = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)


def assume(fed: Federation, token: str, role: str = DEPLOY, **extra: Any) -> dict[str, Any]:
    sts = unsigned_sts(fed.server)
    answer: dict[str, Any] = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="gha-run", WebIdentityToken=token, **extra
    )
    return answer


def refused(fed: Federation, token: str, role: str = DEPLOY) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        assume(fed, token, role)
    return error_of(caught)


def test_the_main_branch_may_deploy(federation: Federation) -> None:
    answer = assume(federation, mint(federation.issuer_keys, GITHUB))
    assert answer["SubjectFromWebIdentityToken"] == MAIN
    assert answer["Provider"] == PROVIDER
    assert answer["Audience"] == AUDIENCE
    user = answer["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{DEPLOY_ACCOUNT}:assumed-role/deploy/gha-run"
    assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":gha-run")
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    me = session_client(federation.server, "sts", answer["Credentials"]).get_caller_identity()
    assert me["Arn"] == user["Arn"]


def test_a_pull_request_may_not(federation: Federation) -> None:
    token = mint(federation.issuer_keys, GITHUB, "repo:acme/app:pull_request")
    assert refused(federation, token) == DENIED


def test_another_repository_may_not(federation: Federation) -> None:
    token = mint(federation.issuer_keys, GITHUB, "repo:evil/app:ref:refs/heads/main")
    assert refused(federation, token) == DENIED


def test_a_wrong_audience_is_an_invalid_token(federation: Federation) -> None:
    token = mint(federation.issuer_keys, GITHUB, MAIN, "https://github.com/acme")
    assert refused(federation, token) == ("InvalidIdentityToken", "Incorrect token audience", 400)


def test_an_expired_token(federation: Federation) -> None:
    code, message, status = refused(
        federation, mint(federation.issuer_keys, GITHUB, MAIN, AUDIENCE, "--ttl=-900")
    )
    assert (code, status) == ("ExpiredTokenException", 400)
    assert message.startswith("Token expired: current date/time ")


def test_a_token_signed_by_another_key(federation: Federation, tmp_path: Path) -> None:
    forged = mint(tmp_path / "other-keys", GITHUB)  # same issuer URL, same claims, another key
    code, message, status = refused(federation, forged)
    assert (code, status) == ("InvalidIdentityToken", 400)
    assert message.startswith("Couldn't retrieve verification key from your identity provider")


def test_a_tampered_token(federation: Federation) -> None:
    header, payload, signature = mint(federation.issuer_keys, GITHUB, "repo:acme/app:pull_request").split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = MAIN
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(federation, f"{header}.{forged}.{signature}") == (
        "InvalidIdentityToken",
        "Invalid token signature",
        400,
    )


def test_an_issuer_of_another_account(federation: Federation) -> None:
    token = mint(federation.issuer_keys, OTHER_ISSUER)  # registered in 444455556666 only
    assert refused(federation, token) == (
        "InvalidIdentityToken",
        f"No OpenIDConnect provider found in your account for {OTHER_ISSUER}",
        400,
    )


def test_not_a_jwt(federation: Federation) -> None:
    code, message, status = refused(federation, "Atza|not-a-jwt")
    assert (code, status) == ("InvalidIdentityToken", 400)
    assert message.startswith("The ID Token provided is not a valid JWT.")


def test_a_missing_role_is_refused_like_a_distrusting_one(federation: Federation) -> None:
    token = mint(federation.issuer_keys, GITHUB)
    assert refused(federation, token, f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/{uid('nope')}") == DENIED


def test_duration_is_bounded_by_the_role(federation: Federation) -> None:
    token = mint(federation.issuer_keys, GITHUB)
    assert assume(federation, token, DurationSeconds=7200)["Credentials"]["Expiration"]
    with pytest.raises(ClientError) as caught:
        assume(federation, token, DurationSeconds=7201)
    assert error_of(caught)[0] == "ValidationError"


def _tagged_role(fed: Federation) -> str:
    """A role trusting acme's repositories (GitHub's ``repository`` key) with session tags, whose
    own policy needs the web identity provider and the ``team`` tag of the token."""
    iam = fed.server.client("iam", account=DEPLOY_ACCOUNT)
    name = uid("tagged")
    trust = github_trust(
        DEPLOY_ACCOUNT,
        ("StringEquals", "repository", "acme/app"),
        ("StringLike", "job_workflow_ref", "acme/app/.github/workflows/*@refs/heads/main"),
        actions=["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
    )
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:GetRole",
                "Resource": role["Arn"],
                "Condition": {
                    "StringEquals": {"aws:FederatedProvider": PROVIDER, "aws:PrincipalTag/team": "platform"}
                },
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="self", PolicyDocument=json.dumps(policy))
    return str(role["Arn"])


def test_github_claims_session_tags_and_the_federated_provider(federation: Federation) -> None:
    role = _tagged_role(federation)
    tags = {"principal_tags": {"team": ["platform"]}, "transitive_tag_keys": ["team"]}
    claims = [
        "--claim=repository=acme/app",
        "--claim=job_workflow_ref=acme/app/.github/workflows/deploy.yml@refs/heads/main",
        f"--claim=https://aws.amazon.com/tags={json.dumps(tags)}",
    ]
    answer = assume(federation, mint(federation.issuer_keys, GITHUB, MAIN, AUDIENCE, *claims), role)
    iam = session_client(federation.server, "iam", answer["Credentials"])
    assert iam.get_role(RoleName=role.rsplit("/", 1)[1])["Role"]["Arn"] == role
    other_branch = [
        claims[0],
        "--claim=job_workflow_ref=acme/app/.github/workflows/deploy.yml@refs/heads/dev",
    ]
    assert (
        refused(federation, mint(federation.issuer_keys, GITHUB, MAIN, AUDIENCE, *other_branch), role)
        == DENIED
    )


def test_session_tags_need_sts_tag_session(federation: Federation) -> None:
    tags = json.dumps({"principal_tags": {"team": ["platform"]}})
    token = mint(
        federation.issuer_keys, GITHUB, MAIN, AUDIENCE, f"--claim=https://aws.amazon.com/tags={tags}"
    )
    assert refused(federation, token) == DENIED  # deploy's trust policy allows no sts:TagSession


# --- an issuer found by discovery over HTTPS ------------------------------------------------------


def _https_role(fed: Federation, issuer: HttpsIssuer) -> str:
    iam = fed.server.client("iam", account=DEPLOY_ACCOUNT)
    url = issuer.url.removeprefix("https://")
    arn = f"arn:aws:iam::{DEPLOY_ACCOUNT}:oidc-provider/{url}"
    if arn not in [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]:
        iam.create_open_id_connect_provider(Url=issuer.url, ClientIDList=["k8s"])
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{url}:sub": "system:serviceaccount:apps:web", f"{url}:aud": "k8s"}
                },
            }
        ],
    }
    name = uid("irsa")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def test_a_kubernetes_token_from_an_https_issuer(federation: Federation, https_issuer: HttpsIssuer) -> None:
    role = _https_role(federation, https_issuer)
    token = mint(https_issuer.keys, https_issuer.url, "system:serviceaccount:apps:web", "k8s")
    answer = assume(federation, token, role)
    assert answer["SubjectFromWebIdentityToken"] == "system:serviceaccount:apps:web"
    assert answer["Provider"].endswith(":oidc-provider/" + https_issuer.url.removeprefix("https://"))
    other = mint(https_issuer.keys, https_issuer.url, "system:serviceaccount:apps:batch", "k8s")
    assert refused(federation, other, role) == DENIED


def test_keys_are_fetched_again_when_the_issuer_rotates(
    federation: Federation, https_issuer: HttpsIssuer, tmp_path: Path
) -> None:
    role = _https_role(federation, https_issuer)
    sub = "system:serviceaccount:apps:web"
    assume(federation, mint(https_issuer.keys, https_issuer.url, sub, "k8s"), role)  # keys now cached
    old_keys = https_issuer.keys
    https_issuer.publish(tmp_path / "rotated")
    try:
        answer = assume(federation, mint(https_issuer.keys, https_issuer.url, sub, "k8s"), role)
        assert answer["SubjectFromWebIdentityToken"] == sub
    finally:
        https_issuer.publish(old_keys)
