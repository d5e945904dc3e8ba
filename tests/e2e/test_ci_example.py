"""The README's "CI and Kubernetes" example, as printed: examples/ci.yaml with the test issuer's JWKS,
the main branch deploying and a pull request refused through the aws CLI, and a pod's token
through the EKS variables."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, start_server
from tests.e2e.test_sts_walkthrough import aws, cli_env
from tests.e2e.web_identity_support import GITHUB, monban_oidc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ci.yaml"
EKS = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ACCOUNT = "123456789010"


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path_factory.mktemp("ci-example")
    keys = folder / "data"
    shutil.copy(EXAMPLE, folder / "ci.yaml")
    (folder / "github-jwks.json").write_text(monban_oidc(keys, "jwks", "--issuer", GITHUB))
    (folder / "eks-jwks.json").write_text(monban_oidc(keys, "jwks", "--issuer", EKS))
    server = start_server(keys, "--config", str(folder / "ci.yaml"))
    yield server, keys
    server.stop()


def _token_file(keys: Path, issuer: str, sub: str, path: Path) -> Path:
    monban_oidc(
        keys, "token", "--issuer", issuer, "--sub", sub, "--aud", "sts.amazonaws.com", "--output", str(path)
    )
    assert not path.read_text().endswith("\n")  # a token file, as Kubernetes projects one
    return path


def _assume(server: Server, home: Path, token: Path) -> tuple[int, str, str]:
    args = ["--role-arn", f"arn:aws:iam::{ACCOUNT}:role/deploy", "--role-session-name", "gha-run"]
    done = aws(
        cli_env(server, home),
        "sts",
        "assume-role-with-web-identity",
        *args,
        "--web-identity-token",
        f"file://{token}",
    )
    return done.returncode, done.stdout, done.stderr


def test_the_main_branch_deploys_a_pull_request_does_not(ci: tuple[Server, Path], tmp_path: Path) -> None:
    server, keys = ci
    main = _token_file(keys, GITHUB, "repo:acme/app:ref:refs/heads/main", tmp_path / "gha-token")
    code, out, err = _assume(server, tmp_path, main)
    assert code == 0, err
    assert json.loads(out)["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/gha-run"
    pull = _token_file(keys, GITHUB, "repo:acme/app:pull_request", tmp_path / "pr-token")
    code, out, err = _assume(server, tmp_path, pull)
    assert code != 0
    assert (
        "(AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform"
        in err
    )


def test_a_pod_with_the_eks_variables(ci: tuple[Server, Path], tmp_path: Path) -> None:
    server, keys = ci
    token = _token_file(keys, EKS, "system:serviceaccount:apps:web", tmp_path / "pod-token")
    env = cli_env(server, tmp_path)
    env.update(
        {
            "AWS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/s3-reader",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ROLE_SESSION_NAME": "web-0",
        }
    )
    done = aws(env, "sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/s3-reader/web-0"
    listed = aws(env, "s3api", "list-buckets")  # AmazonS3ReadOnlyAccess
    assert listed.returncode == 0, listed.stderr
