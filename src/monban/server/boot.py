"""Start-up: data dir, schema, master key, bootstrap file, root keys.

Runs once per server (before workers fork); each worker then builds its own ``AppState``.
"""

from __future__ import annotations

from pathlib import Path

from monban.credentials import ids
from monban.credentials.keyring import KeyRing, load_master_key
from monban.services.s3.storage import sweep_temporaries
from monban.settings import Settings
from monban.store.accounts import (
    CREDENTIALS_FILE,
    account_ids,
    add_access_key,
    bump_generation,
    ensure_account,
    open_secret,
    root_keys,
    write_root_credentials,
)
from monban.store.datadir import make_private
from monban.store.db import Database, sqlite_file
from monban.store.master_key import settle


def open_state_parts(settings: Settings) -> tuple[Database, KeyRing]:
    """A worker's database and key ring, over a data dir ``boot`` has prepared and checked."""
    make_private(settings.data_dir, sqlite_file(settings.database))
    keyring = KeyRing.from_master(load_master_key(settings.data_dir))
    return Database(settings.database), keyring


def _apply_config(db: Database, keyring: KeyRing, settings: Settings) -> None:
    if settings.config_file is None:
        return
    from monban.config import apply_bootstrap, load_bootstrap

    bootstrap = load_bootstrap(settings.config_file)
    with db.transaction() as session:
        bump_generation(session)  # first: nodes starting at once apply the file one after another
        apply_bootstrap(session, keyring, bootstrap, data_dir=settings.data_dir)


def _root_credentials(db: Database, keyring: KeyRing) -> dict[str, tuple[str, str]]:
    """Every account's first active root key, generating one where an account has none."""
    out: dict[str, tuple[str, str]] = {}
    with db.transaction() as session:
        bump_generation(session)  # first: nodes starting at once on an empty database make one account
        if not account_ids(session):
            ensure_account(session, ids.account_id())
        for account in account_ids(session):
            keys = [k for k in root_keys(session, account) if k.status == "Active"]
            if keys:
                out[account] = (keys[0].access_key_id, open_secret(keyring, keys[0]))
            else:
                row, secret = add_access_key(session, keyring, account, None)
                out[account] = (row.access_key_id, secret)
    return out


def boot(settings: Settings) -> tuple[Path, dict[str, tuple[str, str]]]:
    """Prepare the data dir and database; returns the root credentials file and its keys.
    MasterKeyError when the master key is missing or not the one the database's secrets need."""
    make_private(settings.data_dir, sqlite_file(settings.database))
    db = Database(settings.database)
    sweep_temporaries(settings.data_dir)
    try:
        db.migrate()
        keyring = settle(settings.data_dir, db)
        _apply_config(db, keyring, settings)
        roots = _root_credentials(db, keyring)
    finally:
        db.dispose()
    path = settings.data_dir / CREDENTIALS_FILE
    write_root_credentials(path, roots)
    return path, roots


def banner(settings: Settings, credentials: Path, roots: dict[str, tuple[str, str]]) -> str:
    """What start-up prints once the port is bound: the endpoint, the accounts, where the root
    credentials are, and a command that uses them as printed (the aws CLI needs a region)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host  # an IPv6 address
    endpoint = f"http://{host}:{settings.port}"
    lines = [f"monban listening on {endpoint}  (IAM, STS and S3)"]
    lines += [f"  account {acct}: root access key {akid}" for acct, (akid, _s) in sorted(roots.items())]
    if settings.imds_port is not None:
        lines.append(f"  instance metadata: http://{host}:{settings.imds_port} + each instance's ordinal")
    lines.append(f"  root credentials (profiles monban-<account>): {credentials}")
    lines.append(
        f"    e.g. AWS_SHARED_CREDENTIALS_FILE={credentials} aws --profile monban-{min(roots)} "
        f"--region {settings.region} --endpoint-url {endpoint} iam list-roles"
    )
    return "\n".join(lines)
