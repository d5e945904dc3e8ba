"""``monban serve | simulate | …``"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from monban.admin import add_admin_commands
from monban.oidc_issuer import add_oidc_commands
from monban.settings import DEFAULT_PORT, Settings, default_data_dir


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
        "--oidc-ca-bundle",
        type=Path,
        default=None,
        help="PEM file of CA certificates trusted for OIDC issuers' discovery (default: the system's)",
    )
    p.add_argument("--log-level", default="warning")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from monban.server.asgi import SETTINGS_ENV, settings_to_env
    from monban.server.boot import banner, boot
    from monban.server.http import CoalescingHttpToolsProtocol

    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir or default_data_dir(),
        database_url=args.database,
        config_file=args.config,
        workers=args.workers,
        min_session_seconds=args.min_session_seconds,
        oidc_ca_bundle=args.oidc_ca_bundle,
    )
    from monban.config import BootstrapError

    try:
        credentials, roots = boot(settings)
    except BootstrapError as error:
        print(f"monban: {error}", file=sys.stderr)
        return 2
    os.environ[SETTINGS_ENV] = settings_to_env(settings)
    print(banner(settings, credentials, roots), flush=True)
    uvicorn.run(
        "monban.server.asgi:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=args.log_level,
        loop="uvloop",
        http=CoalescingHttpToolsProtocol,  # httptools, one write per response (server/http.py)
        access_log=False,
        server_header=False,  # no "server: uvicorn": it names the implementation, one header less per answer
        # aws:SourceIp is the TCP peer, as in AWS: no client may claim another address with
        # X-Forwarded-For (uvicorn would trust it from 127.0.0.1, i.e. from every local client)
        proxy_headers=False,
    )
    return 0


def simulate(args: argparse.Namespace) -> int:
    from monban.policy.simulate import main as simulate_main

    return simulate_main(args.rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="monban", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_args(sub)
    admin_commands = add_admin_commands(sub)  # revoke-role-sessions, revoke-session (monban.admin)
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
