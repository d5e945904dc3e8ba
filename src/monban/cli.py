"""``monban serve | simulate | …``"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from monban.admin import add_admin_commands
from monban.oidc_issuer import add_oidc_commands
from monban.settings import DEFAULT_PORT, HEADER_TIMEOUT, Settings, default_data_dir


def _serve_args(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the server (IAM, STS and S3 on one port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument(
        "--data-dir", type=Path, default=None, help="default $MONBAN_DATA_DIR or ~/.local/share/monban"
    )
    p.add_argument("--config", type=Path, default=None, help="bootstrap file (YAML), applied at start")
    p.add_argument("--database", default=None, help="SQLAlchemy URL; default SQLite in the data dir")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--min-session-seconds",
        type=int,
        default=900,
        help="lowest DurationSeconds accepted (AWS: 900); lower it only in test setups",
    )
    p.add_argument(
        "--header-timeout",
        type=seconds,
        default=HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request headers are not all in within this many seconds of "
        "connecting or of the previous response (slow or stalled clients; default %(default)g)",
    )
    p.add_argument(
        "--oidc-ca-bundle",
        type=Path,
        default=None,
        help="PEM file of CA certificates trusted for OIDC issuers' discovery (default: the system's)",
    )
    p.add_argument("--log-level", default="warning")


def seconds(text: str) -> float:
    """A --header-timeout value."""
    value = float(text)
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0 and below 86400")
    return value


def serve(args: argparse.Namespace) -> int:
    from monban.config import BootstrapError
    from monban.credentials.keyring import MasterKeyError
    from monban.server.asgi import SETTINGS_ENV, settings_to_env
    from monban.server.boot import banner, boot
    from monban.store.datadir import serving

    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir or default_data_dir(),
        database_url=args.database,
        config_file=args.config,
        workers=args.workers,
        min_session_seconds=args.min_session_seconds,
        header_timeout=args.header_timeout,
        oidc_ca_bundle=args.oidc_ca_bundle,
    )
    with serving(settings.data_dir):  # no master key rotation meanwhile (admin.py)
        try:
            credentials, roots = boot(settings)
        except (BootstrapError, MasterKeyError) as error:
            print(f"monban: {error}", file=sys.stderr)
            return 2
        os.environ[SETTINGS_ENV] = settings_to_env(settings)
        print(banner(settings, credentials, roots), flush=True)
        _run_uvicorn(settings, args.log_level)
    return 0


def _run_uvicorn(settings: Settings, log_level: str) -> None:
    import uvicorn

    from monban.server.http import CoalescingHttpToolsProtocol

    uvicorn.run(
        "monban.server.asgi:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=log_level,
        loop="uvloop",
        # httptools, one write per response, a deadline for the headers (server/http.py); uvicorn
        # calls the partial as it would the class (and pickles it for --workers > 1)
        http=cast(Any, partial(CoalescingHttpToolsProtocol, header_timeout=settings.header_timeout)),
        access_log=False,
        server_header=False,  # no "server: uvicorn": it names the implementation, one header less per answer
        # aws:SourceIp is the TCP peer, as in AWS: no client may claim another address with
        # X-Forwarded-For (uvicorn would trust it from 127.0.0.1, i.e. from every local client)
        proxy_headers=False,
    )


def simulate(args: argparse.Namespace) -> int:
    from monban.policy.simulate import main as simulate_main

    return simulate_main(args.rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="monban", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_args(sub)
    admin_commands = add_admin_commands(sub)  # revoke-role-sessions, revoke-session, rotate-master-key
    oidc_commands = add_oidc_commands(sub)  # oidc token, oidc jwks (monban.oidc_issuer)
    sim = sub.add_parser("simulate", help="evaluate authorization requests (JSON lines) with the engine")
    sim.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {"serve": serve, "simulate": simulate}
    commands.update(admin_commands)
    commands.update(oidc_commands)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
