"""Server settings: command-line flags, with environment variables as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4747
# Seconds a connection has for a request's headers (server/http.py). Apache's mod_reqtimeout allows
# 20 s by default; nginx's client_header_timeout, 60 s.
HEADER_TIMEOUT = 20.0


def default_data_dir() -> Path:
    env = os.environ.get("MONBAN_DATA_DIR")
    return Path(env) if env else Path.home() / ".local" / "share" / "monban"


@dataclass(frozen=True)
class Settings:
    """Everything ``monban serve`` is told. ``min_session_seconds`` lowers the 900 s floor of
    DurationSeconds for test setups (AWS's floor stays the default)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    config_file: Path | None = None
    workers: int = 1
    min_session_seconds: int = 900
    region: str = "us-east-1"
    max_body_bytes: int = 1024 * 1024
    cache_seconds: float = 1.0  # how long a worker trusts its cached IAM generation / revocations
    header_timeout: float = HEADER_TIMEOUT
    oidc_ca_bundle: Path | None = None  # CA certificates for OIDC discovery (default: the system's)
    throttle: str = ""  # per-account rate limits (access/throttle.py); empty: none
    audit_max_bytes: int = 100 * 1024 * 1024  # the audit file's size before it is rotated
    audit_files: int = 4  # rotated audit files kept (at most 5 x audit_max_bytes); 0: no audit trail
    audit_stdout: bool = False  # each audit record on stdout as well
    imds_port: int | None = None  # instance metadata listeners: this port + each instance's ordinal
    # where object bytes live (services/s3/stores.py): "files" (the data dir), "database"
    # (PostgreSQL chunks) or "s3://bucket/prefix" (a gateway); empty: database on PostgreSQL, else files
    object_store: str = ""
    object_store_endpoint: str | None = None  # the gateway's S3 endpoint URL (default: AWS's)
    object_store_region: str = "us-east-1"  # the gateway's region (what its signatures name)
    object_store_profile: str | None = None  # the gateway's credentials, from this profile

    @property
    def object_store_kind(self) -> str:
        """ "files", "database" or "gateway": what ``object_store`` says, or the default."""
        if self.object_store.startswith("s3://"):
            return "gateway"
        if self.object_store:
            return self.object_store
        return "database" if self.database.startswith("postgresql") else "files"

    @property
    def database(self) -> str:
        from monban.store.db import sqlite_url

        return self.database_url or sqlite_url(self.data_dir)
