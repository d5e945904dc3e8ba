"""The credential chains that use AssumeRoleWithWebIdentity, unchanged: the aws CLI's command and
its ``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE`` (+ ``AWS_ROLE_SESSION_NAME``) environment
as EKS injects it, a ``web_identity_token_file`` profile, boto3's default chain, and the
JavaScript SDK's ``fromTokenFile`` and default chain — each in its own process, against a real
server. Also: an HTTPS issuer whose CA the server was not given is IDPCommunicationError."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server, start_server
from tests.e2e.test_sts_support import error_of
from tests.e2e.test_sts_walkthrough import aws, cli_env
from tests.e2e.web_identity_support import (
    DEPLOY_ACCOUNT,
    GITHUB,
    MAIN,
    Federation,
    HttpsIssuer,
    federation,
    https_issuer,
    mint,
    unsigned_sts,
)

__all__ = ["federation", "https_issuer"]  # module fixtures
DEPLOY = f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/deploy"
JS = Path(__file__).resolve().parents[1] / "js"


@pytest.fixture
def token_file(federation: Federation, tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(mint(federation.issuer_keys, GITHUB))
    return path


def _eks_env(server: Server, home: Path, token_file: Path, session: str) -> dict[str, str]:
    env = cli_env(server, home)
    env.update(
        {
            "AWS_ROLE_ARN": DEPLOY,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AWS_ROLE_SESSION_NAME": session,
        }
    )
    return env


def _arn(session: str) -> str:
    return f"arn:aws:sts::{DEPLOY_ACCOUNT}:assumed-role/deploy/{session}"


def test_the_cli_command(federation: Federation, token_file: Path, tmp_path: Path) -> None:
    args = [
        "--role-arn",
        DEPLOY,
        "--role-session-name",
        "cli",
        "--web-identity-token",
        token_file.read_text(),
    ]
    done = aws(cli_env(federation.server, tmp_path), "sts", "assume-role-with-web-identity", *args)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["SubjectFromWebIdentityToken"] == MAIN
    assert answer["AssumedRoleUser"]["Arn"] == _arn("cli")


def test_the_cli_with_eks_variables(federation: Federation, token_file: Path, tmp_path: Path) -> None:
    env = _eks_env(federation.server, tmp_path, token_file, "eks-pod")
    done = aws(env, "sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == _arn("eks-pod")


def test_a_web_identity_token_file_profile(federation: Federation, token_file: Path, tmp_path: Path) -> None:
    env = cli_env(federation.server, tmp_path)
    config = Path(env["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[profile ci]", f"role_arn = {DEPLOY}", f"web_identity_token_file = {token_file}"]
    config.write_text("\n".join([*lines, "role_session_name = prof", ""]))
    done = aws(env, "--profile", "ci", "sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == _arn("prof")


def test_boto3_default_chain(federation: Federation, token_file: Path, tmp_path: Path) -> None:
    env = _eks_env(federation.server, tmp_path, token_file, "boto3-pod")
    code = "import boto3, json; print(json.dumps(boto3.client('sts').get_caller_identity()['Arn']))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == _arn("boto3-pod")


def _node(server: Server, env: dict[str, str], mode: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@aws-sdk" / "credential-providers").is_dir():
        pytest.fail("needs Node.js and `npm ci --prefix tests/js` (make test does both)")
    done = subprocess.run(
        [node, "web_identity.mjs", server.endpoint, mode],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("mode", ["fromTokenFile", "default"])
def test_the_javascript_sdk(federation: Federation, token_file: Path, tmp_path: Path, mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(_eks_env(federation.server, tmp_path, token_file, f"js-{mode}"))
    env["AWS_ENDPOINT_URL_STS"] = federation.server.endpoint
    result = _node(federation.server, env, mode)
    assert result["arn"] == _arn(f"js-{mode}")
    assert result["account"] == DEPLOY_ACCOUNT


@pytest.fixture(scope="module")
def untrusting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server not given the test CA: the HTTPS issuer's certificate does not verify."""
    server = start_server(tmp_path_factory.mktemp("no-ca"), "--min-session-seconds", "1")
    yield server
    server.stop()


def test_an_issuer_whose_certificate_does_not_verify(untrusting: Server, https_issuer: HttpsIssuer) -> None:
    account = next(iter(untrusting.roots))
    iam = untrusting.client("iam")
    iam.create_open_id_connect_provider(Url=https_issuer.url, ClientIDList=["k8s"])
    role = iam.create_role(RoleName="irsa", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {
            "Federated": f"arn:aws:iam::{account}:oidc-provider/{https_issuer.url.removeprefix('https://')}"}}],
    }))["Role"]  # fmt: skip
    token = mint(https_issuer.keys, https_issuer.url, "system:serviceaccount:apps:web", "k8s")
    with pytest.raises(ClientError) as caught:
        unsigned_sts(untrusting).assume_role_with_web_identity(
            RoleArn=role["Arn"], RoleSessionName="pod", WebIdentityToken=token
        )
    code, message, status = error_of(caught)
    assert (code, status) == ("IDPCommunicationError", 400)
    assert message.startswith("Couldn't retrieve verification key from your identity provider")
