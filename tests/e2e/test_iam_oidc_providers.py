"""IAM OpenID Connect providers through boto3: create, get, list, client ids, thumbprints, tags,
delete — their ARNs and shapes, their errors, and who may call them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, allow, error, first_account, second_account, uid
from tests.e2e.server import Server

THUMB = "a" * 40


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _url() -> str:
    return f"https://{uid('issuer')}.example.com/id/ABC"


def test_provider_lifecycle(acct: Account) -> None:
    iam, url = acct.iam(), _url()
    tags = [{"Key": "team", "Value": "platform"}]
    created = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[THUMB], Tags=tags
    )
    arn = created["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{acct.id}:oidc-provider/{url.removeprefix('https://')}"
    assert created["Tags"] == tags
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == url.removeprefix("https://")
    assert got["ClientIDList"] == ["sts.amazonaws.com"]
    assert got["ThumbprintList"] == [THUMB]
    assert got["Tags"] == tags and got["CreateDate"]
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="k8s")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="k8s")  # idempotent
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com"
    )
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=["b" * 40])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["ClientIDList"], got["ThumbprintList"]) == (["k8s"], ["b" * 40])
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["team"])
    listed = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)
    assert listed["Tags"] == [{"Key": "env", "Value": "dev"}]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)  # idempotent, as documented
    with pytest.raises(ClientError) as caught:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error(caught) == ("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}", 404)


def test_a_url_names_one_provider(acct: Account) -> None:
    iam, url = acct.iam(), _url()
    iam.create_open_id_connect_provider(Url=url, ClientIDList=["a"])
    with pytest.raises(ClientError) as caught:
        iam.create_open_id_connect_provider(Url=url, ClientIDList=["b"])
    assert error(caught) == ("EntityAlreadyExists", f"Provider with url {url} already exists.", 409)


@pytest.mark.parametrize("url", ["http://issuer.example.com", "issuer.example.com", "https://"])
def test_the_url_must_be_https(acct: Account, url: str) -> None:
    with pytest.raises(ClientError) as caught:
        acct.iam().create_open_id_connect_provider(Url=url, ClientIDList=["a"])
    assert error(caught)[0] == "InvalidInput"


def test_thumbprints_have_forty_characters_and_five_at_most(acct: Account) -> None:
    iam = acct.iam()
    with pytest.raises(ClientError) as caught:
        iam.create_open_id_connect_provider(Url=_url(), ThumbprintList=["abc" * 20])
    assert error(caught)[0] == "ValidationError"
    with pytest.raises(ClientError) as caught:
        iam.create_open_id_connect_provider(Url=_url(), ThumbprintList=[str(n) * 40 for n in range(6)])
    assert error(caught)[0] == "LimitExceeded"


def test_another_accounts_provider_does_not_exist_for_the_caller(server: Server) -> None:
    owner, other = first_account(server), second_account(server)
    arn = owner.iam().create_open_id_connect_provider(Url=_url(), ClientIDList=["a"])[
        "OpenIDConnectProviderArn"
    ]
    with pytest.raises(ClientError) as caught:
        other.iam().get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error(caught)[0] == "NoSuchEntity"
    assert {"Arn": arn} not in other.iam().list_open_id_connect_providers()["OpenIDConnectProviderList"]


def test_callers_need_the_iam_actions(acct: Account) -> None:
    arn = acct.iam().create_open_id_connect_provider(Url=_url(), ClientIDList=["a"])[
        "OpenIDConnectProviderArn"
    ]
    _name, key = acct.user("reader", allow("iam:GetOpenIDConnectProvider", arn))
    reader = acct.iam(key)
    assert reader.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["a"]
    with pytest.raises(ClientError) as caught:
        reader.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:DeleteOpenIDConnectProvider on resource: {arn}" in message


def test_tags_at_creation_need_the_tag_action(acct: Account) -> None:
    _name, key = acct.user("creator", allow("iam:CreateOpenIDConnectProvider"))
    creator = acct.iam(key)
    creator.create_open_id_connect_provider(Url=_url(), ClientIDList=["a"])
    with pytest.raises(ClientError) as caught:
        creator.create_open_id_connect_provider(
            Url=_url(), ClientIDList=["a"], Tags=[{"Key": "k", "Value": "v"}]
        )
    assert "iam:TagOpenIDConnectProvider" in error(caught)[1]
