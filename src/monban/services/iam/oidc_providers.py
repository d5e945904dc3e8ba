"""OpenID Connect identity providers: Create/Get/List/DeleteOpenIDConnectProvider,
Add/RemoveClientIDTo/FromOpenIDConnectProvider, UpdateOpenIDConnectProviderThumbprint and the
provider's tags (Tag/Untag/ListOpenIDConnectProviderTags).

IAM API reference for each action; IAM User Guide, "Create an OpenID Connect (OIDC) identity
provider in IAM" and "IAM and AWS STS quotas": the URL begins with ``https://`` (at most 255
characters) and names the provider once per account; the ARN is
``arn:aws:iam::<acct>:oidc-provider/<url without https://>``; at most 100 client ids and 5
thumbprints (each 40 characters) per provider, 100 providers per account. Deleting a provider
that does not exist, adding a client id that is already there and removing one that is not are
not errors ("This operation is idempotent").
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.protocol.errors import AwsError, validation_error
from monban.protocol.query import QueryParams
from monban.services.iam.common import (
    ContextValues,
    authorize_create,
    check_tag_keys,
    delete_tags,
    merge_tags,
    missing_value,
    request_tag_context,
    resource_tag_context,
    tags_of,
    tags_param,
)
from monban.services.iam.paging import page, tag_key
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.models import OidcProvider

OPERATIONS: dict[str, Operation] = {}

ENTITY = "oidc-provider"
MAX_PROVIDERS = 100
MAX_CLIENT_IDS = 100
MAX_THUMBPRINTS = 5
SCHEME = "https://"


# --- parameters --------------------------------------------------------------------------------


def check_url(value: str) -> str:
    """Url: 1–255 characters (OpenIDConnectProviderUrlType), beginning with ``https://`` and
    naming a host; returns it without the scheme, as the ARN and GetOpenIDConnectProvider show it."""
    if len(value) > 255:
        raise validation_error(value, "url", "have length less than or equal to 255")
    rest = value[len(SCHEME) :] if value.lower().startswith(SCHEME) else ""
    host = rest.split("/", 1)[0]
    if not host or any(c.isspace() or c in "?#*" for c in rest) or "@" in host:
        raise AwsError("InvalidInput", "Invalid Url.")
    return rest


def check_client_id(value: str, member: str) -> str:
    """clientIDType: 1–255 characters."""
    if not 1 <= len(value) <= 255:
        bound = "greater than or equal to 1" if not value else "less than or equal to 255"
        raise validation_error(value, member, f"have length {bound}")
    return value


def check_thumbprints(values: list[str]) -> list[str]:
    """thumbprintType: exactly 40 characters (a SHA-1 hex digest), at most 5."""
    if len(values) > MAX_THUMBPRINTS:
        raise AwsError(
            "LimitExceeded", f"Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: {MAX_THUMBPRINTS}"
        )
    for n, value in enumerate(values, 1):
        if len(value) != 40:
            bound = "greater than or equal to 40" if len(value) < 40 else "less than or equal to 40"
            raise validation_error(value, f"thumbprintList.{n}.member", f"have length {bound}")
    return values


def check_client_ids(values: list[str]) -> list[str]:
    if len(values) > MAX_CLIENT_IDS:
        raise AwsError(
            "LimitExceeded", f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
        )
    unique: list[str] = []
    for n, value in enumerate(values, 1):
        check_client_id(value, f"clientIDList.{n}.member")
        if value not in unique:
            unique.append(value)
    return unique


def provider_arn(account: str, url: str) -> str:
    return f"arn:aws:iam::{account}:{ENTITY}/{url}"


def _arn_param(params: QueryParams) -> str:
    value = params.required("OpenIDConnectProviderArn")
    if len(value) < 20:
        raise validation_error(value, "openIDConnectProviderArn", "have length greater than or equal to 20")
    if len(value) > 2048:
        raise validation_error(value, "openIDConnectProviderArn", "have length less than or equal to 2048")
    return value


# --- records -----------------------------------------------------------------------------------


def not_found(arn: str) -> AwsError:
    return AwsError("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}")


def client_ids_of(provider: OidcProvider) -> list[str]:
    return list(json.loads(provider.client_ids))


def thumbprints_of(provider: OidcProvider) -> list[str]:
    return list(json.loads(provider.thumbprints))


def find_provider(session: Session, account: str, url: str) -> OidcProvider | None:
    """The account's provider for an issuer (``url`` without ``https://``)."""
    query = select(OidcProvider).where(OidcProvider.arn == provider_arn(account, url))
    return session.scalar(query)


def create_provider_record(
    session: Session,
    account: str,
    url: str,
    client_ids: list[str],
    thumbprints: list[str],
    jwks: str | None = None,
) -> OidcProvider:
    """Insert a provider (EntityAlreadyExists "Provider with url https://… already exists.");
    also used by the bootstrap file."""
    if find_provider(session, account, url) is not None:
        raise AwsError("EntityAlreadyExists", f"Provider with url {SCHEME}{url} already exists.")
    count = session.scalar(
        select(func.count()).select_from(OidcProvider).where(OidcProvider.account_id == account)
    )
    if (count or 0) >= MAX_PROVIDERS:
        raise AwsError(
            "LimitExceeded", f"Cannot exceed quota for OpenIdConnectProvidersPerAccount: {MAX_PROVIDERS}"
        )
    row = OidcProvider(
        id=ids.unique_id("AOPA"), account_id=account, url=url, arn=provider_arn(account, url),
        client_ids=json.dumps(client_ids), thumbprints=json.dumps(thumbprints), jwks=jwks,
        created_at=now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def authorized_provider(
    call: QueryCall, session: Session, action: str, extra: ContextValues | None = None
) -> OidcProvider:
    """The provider named by OpenIDConnectProviderArn once ``action`` on it is authorized (one of
    another account, or missing, is NoSuchEntity to a caller who may act on it)."""
    arn = _arn_param(call.params)
    row = session.scalar(select(OidcProvider).where(OidcProvider.arn == arn))
    if row is None or row.account_id != call.caller.account:
        call.authorize(action, arn, extra_context=extra)
        raise not_found(arn)
    context: ContextValues = dict(resource_tag_context(session, ENTITY, row.id))
    context.update(extra or {})
    call.authorize(action, row.arn, extra_context=context)
    return row


def provider_shape(session: Session, provider: OidcProvider) -> dict[str, Any]:
    """GetOpenIDConnectProvider's answer: Url (without the scheme), ClientIDList,
    ThumbprintList, CreateDate, Tags."""
    shape: dict[str, Any] = {
        "Url": provider.url,
        "ClientIDList": client_ids_of(provider),
        "ThumbprintList": thumbprints_of(provider),
        "CreateDate": provider.created_at,
    }
    tags = tags_of(session, ENTITY, provider.id)
    if tags:
        shape["Tags"] = tags
    return shape


# --- operations --------------------------------------------------------------------------------


@register(OPERATIONS, "CreateOpenIDConnectProvider")
def create_provider(call: QueryCall) -> Result:
    """CreateOpenIDConnectProvider; tags given at creation also need iam:TagOpenIDConnectProvider
    (IAM User Guide, "Permissions required to tag IAM resources"), as for every Create…
    (``authorize_create``)."""
    p = call.params
    url = check_url(p.required("Url"))
    client_ids = check_client_ids(p.members("ClientIDList"))
    thumbprints = check_thumbprints(p.members("ThumbprintList"))
    tags = tags_param(p)
    account = call.caller.account
    arn = provider_arn(account, url)
    authorize_create(call, "iam:CreateOpenIDConnectProvider", arn, tags)
    with call.write() as session:
        row = create_provider_record(session, account, url, client_ids, thumbprints)
        if tags:
            merge_tags(session, ENTITY, row.id, tags, "TagsPerOpenIDConnectProvider")
        out: dict[str, Any] = {"OpenIDConnectProviderArn": row.arn}
        if tags:
            out["Tags"] = tags_of(session, ENTITY, row.id)
        return out


@register(OPERATIONS, "GetOpenIDConnectProvider")
def get_provider(call: QueryCall) -> Result:
    with call.read() as session:
        row = authorized_provider(call, session, "iam:GetOpenIDConnectProvider")
        return provider_shape(session, row)


@register(OPERATIONS, "ListOpenIDConnectProviders")
def list_providers(call: QueryCall) -> Result:
    """The account's providers by ARN (no paging in this API)."""
    call.authorize("iam:ListOpenIDConnectProviders", "*")
    with call.read() as session:
        query = select(OidcProvider.arn).where(OidcProvider.account_id == call.caller.account)
        arns = sorted(session.scalars(query))
    return {"OpenIDConnectProviderList": [{"Arn": arn} for arn in arns]}


@register(OPERATIONS, "DeleteOpenIDConnectProvider")
def delete_provider(call: QueryCall) -> Result:
    """Idempotent for a provider that does not exist (once the caller may delete it); a role
    trusting the provider stays, and its trust policy then matches no token."""
    with call.write() as session:
        try:
            row = authorized_provider(call, session, "iam:DeleteOpenIDConnectProvider")
        except AwsError as error:
            if error.code == "NoSuchEntity":
                return None
            raise
        delete_tags(session, ENTITY, row.id)
        session.delete(row)
        session.flush()
    return None


@register(OPERATIONS, "AddClientIDToOpenIDConnectProvider")
def add_client_id(call: QueryCall) -> Result:
    client_id = check_client_id(call.params.required("ClientID"), "clientID")
    with call.write() as session:
        row = authorized_provider(call, session, "iam:AddClientIDToOpenIDConnectProvider")
        current = client_ids_of(row)
        if client_id not in current:
            row.client_ids = json.dumps(check_client_ids([*current, client_id]))
            session.flush()
    return None


@register(OPERATIONS, "RemoveClientIDFromOpenIDConnectProvider")
def remove_client_id(call: QueryCall) -> Result:
    client_id = check_client_id(call.params.required("ClientID"), "clientID")
    with call.write() as session:
        row = authorized_provider(call, session, "iam:RemoveClientIDFromOpenIDConnectProvider")
        row.client_ids = json.dumps([c for c in client_ids_of(row) if c != client_id])
        session.flush()
    return None


@register(OPERATIONS, "UpdateOpenIDConnectProviderThumbprint")
def update_thumbprint(call: QueryCall) -> Result:
    """Replaces the whole list (ThumbprintList is required)."""
    thumbprints = check_thumbprints(call.params.members("ThumbprintList"))
    if not thumbprints:
        raise missing_value("thumbprintList")
    with call.write() as session:
        row = authorized_provider(call, session, "iam:UpdateOpenIDConnectProviderThumbprint")
        row.thumbprints = json.dumps(thumbprints)
        session.flush()
    return None


@register(OPERATIONS, "TagOpenIDConnectProvider")
def tag_provider(call: QueryCall) -> Result:
    tags = tags_param(call.params)
    if not tags:
        raise missing_value("tags")
    with call.write() as session:
        context: ContextValues = dict(request_tag_context(tags))
        row = authorized_provider(call, session, "iam:TagOpenIDConnectProvider", context)
        merge_tags(session, ENTITY, row.id, tags, "TagsPerOpenIDConnectProvider")
    return None


@register(OPERATIONS, "UntagOpenIDConnectProvider")
def untag_provider(call: QueryCall) -> Result:
    keys = check_tag_keys(call.params.members("TagKeys"))
    if not keys:
        raise missing_value("tagKeys")
    with call.write() as session:
        row = authorized_provider(call, session, "iam:UntagOpenIDConnectProvider", {"aws:TagKeys": keys})
        delete_tags(session, ENTITY, row.id, keys)
    return None


@register(OPERATIONS, "ListOpenIDConnectProviderTags")
def list_provider_tags(call: QueryCall) -> Result:
    with call.read() as session:
        row = authorized_provider(call, session, "iam:ListOpenIDConnectProviderTags")
        return page(call.params, tags_of(session, ENTITY, row.id), dict, "Tags", tag_key)
