"""IAM GetUser, authenticated, at 32 connections: monban (--workers 1 and 2) vs moto's server (auth
on), in the same run.

    .venv/bin/python -m bench.iam_bench [--seconds 10]
"""

from __future__ import annotations

import sys

import boto3

from bench.common import WrkResult, measure, monban, moto, row, signed_query, wrk_main

ALICE = ("AKIABENCHALICE000001", "benchbenchbenchbenchbenchbenchbenchbench")
CONFIG = f"""
Accounts:
  - AccountId: "123456789010"
    Users:
      - UserName: alice
        AccessKeys: [{{AccessKeyId: {ALICE[0]}, SecretAccessKey: {ALICE[1]}}}]
        Policies:
          - PolicyName: read-iam
            PolicyDocument:
              Version: "2012-10-17"
              Statement: [{{Effect: Allow, Action: "iam:Get*", Resource: "*"}}]
"""
BODY = "Action=GetUser&Version=2010-05-08&UserName=alice"


def moto_key(endpoint: str) -> tuple[str, str]:
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="x" * 40,
    )
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.put_user_policy(
        UserName="alice",
        PolicyName="read-iam",
        PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}'
        ),
    )
    return key["AccessKeyId"], key["SecretAccessKey"]


def get_user(endpoint: str, key: tuple[str, str], who: str, seconds: int) -> WrkResult:
    return measure(signed_query(endpoint, "iam", BODY, key), who, seconds)


def run(seconds: int = 10) -> list[str]:
    with moto() as peer:
        theirs = get_user(peer.endpoint, moto_key(peer.endpoint), "moto", seconds)
    rows = []
    for workers in (1, 2):
        with monban(CONFIG, "--workers", str(workers)) as server:
            ours = get_user(server.endpoint, ALICE, "monban", seconds)
        rows.append(row(f"IAM GetUser (authenticated), --workers {workers}", ours, theirs))
    return rows


def main() -> int:
    return wrk_main(__doc__, lambda args: run(args.seconds))


if __name__ == "__main__":
    sys.exit(main())
