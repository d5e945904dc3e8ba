"""monban: an AWS-compatible IAM, STS and S3 server that says no exactly when AWS would.

Run `monban COMMAND --help` for a command's options and their defaults.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from monban.access.throttle import AWS_PRESET, parse_limits
from monban.admin import DATA_DIR_HELP, add_admin_commands
from monban.audit_cli import add_audit_command
from monban.oidc_issuer import add_oidc_commands
from monban.settings import DEFAULT_PORT, HEADER_TIMEOUT, Settings, default_data_dir

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
STARTUP_FAILURE = 3  # uvicorn's exit status when a worker could not start


def _serve_args(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the server (IAM, STS and S3 on one port)",
        description="Run monban: IAM, STS and S3 on one port. The data dir is created at first "
        "start; the bootstrap file, if any, is applied at every start.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default: %(default)s)")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR", help=DATA_DIR_HELP)
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="bootstrap file (YAML) applied, idempotently, at every start (default: none)",
    )
    p.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@host/db (default: SQLite "
        "monban.db in the data dir)",
    )
    _object_store_args(p)
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes (default: %(default)s)"
    )
    p.add_argument(
        "--min-session-seconds",
        type=int,
        default=900,
        metavar="N",
        help="lowest DurationSeconds that AssumeRole and GetSessionToken accept (default: %(default)s, "
        "AWS's floor); lower it only in test setups, to see credentials expire",
    )
    p.add_argument(
        "--header-timeout",
        type=seconds,
        default=HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request headers are not all in within this many seconds of "
        "connecting or of the previous response, for slow or stalled clients (default: %(default)g)",
    )
    p.add_argument(
        "--oidc-ca-bundle",
        type=Path,
        default=None,
        metavar="FILE",
        help="PEM file of CA certificates trusted for OIDC issuers' discovery (default: the system's)",
    )
    p.add_argument(
        "--throttle",
        type=throttle_spec,
        default=None,
        metavar="LIMITS",
        help="per-account request-rate limits, answered as AWS does (IAM/STS: Throttling, 400; S3: "
        "SlowDown, 503): CLASS=RATE[:BURST] per second, comma-separated, CLASS one of sts, iam, "
        "s3-read, s3-write; 'aws' is AWS's figures, " + AWS_PRESET + " (IAM's is an example: AWS "
        "publishes none). Keyed on the authenticated account; unsigned requests share one bucket. "
        "Each worker enforces 1/N of the limits (default: no limits)",
    )
    p.add_argument(
        "--audit-max-bytes",
        type=int,
        default=Settings.audit_max_bytes,
        metavar="N",
        help="rotate the audit trail (DATA_DIR/audit/audit.log) beyond this size (default: %(default)s)",
    )
    p.add_argument(
        "--audit-files",
        type=int,
        default=Settings.audit_files,
        metavar="N",
        help="keep N rotated audit files audit.log.1 … audit.log.N besides audit.log (about 1 KiB a call: "
        "the default keeps the last half million calls or so in at most 500 MiB); 0 writes no audit "
        "trail (default: %(default)s)",
    )
    p.add_argument(
        "--audit-stdout", action="store_true", help="print each audit record on stdout too (default: off)"
    )
    p.add_argument(
        "--imds-port",
        type=port_number,
        default=None,
        metavar="PORT",
        help="serve the EC2 instance metadata service (IMDSv1 and v2, the instance role's credentials) "
        "of each running instance on its own port, PORT + the instance's ordinal (0 for the first "
        "instance made), on --host; instances made later get theirs within 0.5 s (default: none: "
        "no instance metadata listeners)",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=LOG_LEVELS,
        help="uvicorn's log level (default: %(default)s)",
    )


def _object_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--object-store",
        type=object_store_spec,
        default=None,
        metavar="WHERE",
        help="where object bytes go: 'files' (the data dir), 'database' (1 MiB chunks in PostgreSQL, "
        "read by every node) or s3://BUCKET[/PREFIX] (gateway: an S3-compatible store; credentials "
        "from MONBAN_OBJECT_STORE_ACCESS_KEY_ID and MONBAN_OBJECT_STORE_SECRET_ACCESS_KEY, else "
        "--object-store-profile, else the AWS default chain) (default: database on PostgreSQL, "
        "else files)",
    )
    p.add_argument(
        "--object-store-endpoint",
        default=None,
        metavar="URL",
        help="the gateway's S3 endpoint, e.g. http://127.0.0.1:9000 (default: AWS's, for the region)",
    )
    p.add_argument(
        "--object-store-region",
        default=Settings.object_store_region,
        metavar="REGION",
        help="the region the gateway's signatures name (default: %(default)s)",
    )
    p.add_argument(
        "--object-store-profile",
        default=None,
        metavar="NAME",
        help="AWS profile of the gateway's credentials when MONBAN_OBJECT_STORE_* are not set "
        "(default: none: the AWS default chain)",
    )


def object_store_spec(text: str) -> str:
    """An --object-store value: files, database or an s3:// URL."""
    from monban.services.s3.gateway import parse_url

    if text in ("files", "database"):
        return text
    try:
        parse_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}; or give files or database") from None
    return text


def seconds(text: str) -> float:
    """A --header-timeout value."""
    value = float(text)
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0 and below 86400")
    return value


def port_number(text: str) -> int:
    """An --imds-port value: a TCP port."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: give a TCP port, 1 to 65535")
    return value


def throttle_spec(text: str) -> str:
    """A --throttle value, checked here so that a typo is a usage error, not a worker's crash."""
    try:
        parse_limits(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening as uvicorn would bind it (SO_REUSEADDR, inherited
    by the workers); OSError when the address is taken or not this machine's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _listen_error(host: str, port: int, error: OSError) -> str:
    reason = (error.strerror or str(error)).lower()
    return f"monban: cannot listen on {host}:{port}: {reason}"


def serve(args: argparse.Namespace) -> int:
    """Bind the port first (a busy port is one line and exit status 1), then prepare the data dir,
    print where monban listens — the port is bound by then — and serve until interrupted."""
    from monban.config import BootstrapError
    from monban.credentials.keyring import MasterKeyError
    from monban.server.asgi import SETTINGS_ENV, settings_to_env
    from monban.server.boot import banner, boot
    from monban.store.datadir import serving

    try:
        sock = _listen(args.host, args.port)
    except OSError as error:
        print(_listen_error(args.host, args.port, error), file=sys.stderr)
        return 1
    with sock:
        settings = Settings(
            host=args.host,
            port=int(sock.getsockname()[1]),  # the port bound, when --port 0 asked for any
            data_dir=args.data_dir or default_data_dir(),
            database_url=args.database,
            config_file=args.config,
            workers=args.workers,
            min_session_seconds=args.min_session_seconds,
            header_timeout=args.header_timeout,
            oidc_ca_bundle=args.oidc_ca_bundle,
            throttle=args.throttle or "",
            audit_max_bytes=args.audit_max_bytes,
            audit_files=args.audit_files,
            audit_stdout=args.audit_stdout,
            imds_port=args.imds_port,
            object_store=args.object_store or "",
            object_store_endpoint=args.object_store_endpoint,
            object_store_region=args.object_store_region,
            object_store_profile=args.object_store_profile,
        )
        if settings.object_store_kind == "database" and not settings.database.startswith("postgresql"):
            print("monban: --object-store database needs --database postgresql…", file=sys.stderr)
            return 2
        with serving(settings.data_dir):  # no master key rotation meanwhile (admin.py)
            try:
                credentials, roots = boot(settings)
            except (BootstrapError, MasterKeyError) as error:
                print(f"monban: {error}", file=sys.stderr)
                return 2
            os.environ[SETTINGS_ENV] = settings_to_env(settings)
            if settings.imds_port is not None:
                from monban.server.imds import MetadataListeners

                MetadataListeners(settings).start()
            print(banner(settings, credentials, roots), flush=True)
            return _run(settings, sock, args.log_level)


def _run(settings: Settings, sock: socket.socket, log_level: str) -> int:
    """uvicorn on the bound socket, in this process or in ``settings.workers`` processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from monban.server.http import CoalescingHttpToolsProtocol

    config = uvicorn.Config(
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
    try:
        if settings.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
            return 0
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        return 0
    return 0 if server.started else STARTUP_FAILURE


def simulate(args: argparse.Namespace) -> int:
    from monban.policy.simulate import run_file

    return run_file(args.file)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """``monban``'s parser, and each subcommand's handler by name."""
    from monban.policy.simulate import add_arguments

    parser = argparse.ArgumentParser(
        prog="monban", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_args(sub)
    sim = sub.add_parser("simulate", help="evaluate authorization requests (JSON) with the policy engine")
    add_arguments(sim)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {"serve": serve, "simulate": simulate}
    commands.update(add_admin_commands(sub))  # revoke-role-sessions, revoke-session, rotate-master-key
    commands.update(add_oidc_commands(sub))  # oidc token, oidc jwks (monban.oidc_issuer)
    commands.update(add_audit_command(sub, DATA_DIR_HELP))  # audit (monban.audit_cli)
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
