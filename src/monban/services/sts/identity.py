"""GetCallerIdentity and GetAccessKeyInfo (reference §2)."""

from __future__ import annotations

from monban.credentials.session import account_of_access_key_id
from monban.protocol.errors import AwsError
from monban.services.query import Operation, QueryCall, Result, register
from monban.services.sts.validate import ACCESS_KEY_ID, Violations
from monban.store import iam_read

OPERATIONS: dict[str, Operation] = {}


@register(OPERATIONS, "GetCallerIdentity", inline=True)
def get_caller_identity(call: QueryCall) -> Result:
    """Needs no permission; an explicit deny does not block it. UserId per principal type
    (reference §2): AIDA… for users (and their GetSessionToken sessions), AROA…:session for role
    sessions, the account id for root, ``<acct>:<name>`` for federated users."""
    principal = call.caller.principal
    return {"UserId": principal.unique_id, "Account": principal.account, "Arn": principal.arn}


def _unknown(access_key_id: str) -> AwsError:
    return AwsError(
        "InvalidParameterValue", f"The access key ID {access_key_id} cannot be resolved to an account."
    )


def key_account(call: QueryCall, access_key_id: str) -> str:
    """The account of a key: ``ASIA…`` ids carry it (decoded without any database read, and only
    believed when it is an account of this server); ``AKIA…`` ids are looked up. Anything else
    is refused rather than guessed (fail closed)."""
    if access_key_id.startswith("ASIA"):
        account = account_of_access_key_id(access_key_id)
        if account is None or account not in call.state.accounts.get():
            raise _unknown(access_key_id)
        return account
    with call.read() as session:
        record = iam_read.find_access_key(session, access_key_id)
    if record is None:
        raise _unknown(access_key_id)
    return record.account_id


@register(OPERATIONS, "GetAccessKeyInfo", inline=True)
def get_access_key_info(call: QueryCall) -> Result:
    """The account an access key id belongs to; needs ``sts:GetAccessKeyInfo``. AccessKeyId is
    16–128 word characters (botocore's sts model)."""
    access_key_id = call.params.required("AccessKeyId")
    checks = Violations()
    checks.text(access_key_id, "accessKeyId", low=16, high=128, pattern=ACCESS_KEY_ID)
    checks.raise_any()
    call.authorize("sts:GetAccessKeyInfo", "*")
    return {"Account": key_account(call, access_key_id)}
