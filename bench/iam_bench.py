"""IAM GetUser, authenticated, at 32 connections: monban (--workers 1 and 2) vs moto's server (auth
on), in the same run.

    .venv/bin/python -m bench.iam_bench [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys

import boto3

from bench.common import HEADER, WrkResult, conditions, have_wrk, measure, monban, moto, row, signed_query

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is not installed: `apt-get install -y wrk` (Debian), then run this again.")
        return 1
    print(HEADER)
    print("\n".join(run(args.seconds)))
    print(f"\n{conditions()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
