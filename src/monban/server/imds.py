"""The instance metadata listeners: ``monban serve --imds-port P`` serves instance ``n`` (its
``ordinal``, ``store/instances.py``) on ``P + n``, on the same host as the main port.

One thread of the server's first process runs them on an event loop of its own (whatever
``--workers`` says, so each instance has one listener and one credentials cache). It reads the
instance table every ``POLL_SECONDS``: an instance made since (by the bootstrap file, RunInstances
or the store) gets its listener within that bound, and one that is no longer running (stopped,
terminated) or whose metadata endpoint is disabled loses it; every request also reads the
instance afresh, so a terminated instance is answered 404 from the moment it is. A port already
taken is logged once and tried again at every poll. ``monban serve`` says it is listening only once
the instances that exist at start have their listeners (``start`` waits for the first read).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from monban.access.state import AppState
from monban.fronts.imds import MetadataApp
from monban.server.boot import open_state_parts
from monban.server.http import CoalescingHttpToolsProtocol
from monban.settings import Settings
from monban.store.instances import list_instances

log = logging.getLogger("monban")

POLL_SECONDS = 0.5
STARTUP_WAIT = 30.0  # at most this long, serve waits for the first instances' listeners


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class MetadataListeners:
    """Opens and closes one listener per running instance, following the instance table."""

    def __init__(self, settings: Settings) -> None:
        assert settings.imds_port is not None
        self.settings = settings
        self.base = settings.imds_port
        self._by_port: dict[int, str] = {}  # listening port → instance id
        self._servers: dict[int, asyncio.AbstractServer] = {}
        self._failed: dict[int, str] = {}  # port → the error already logged
        self.state: AppState | None = None
        self._first = threading.Event()  # set once the first read of the instances is served

    def instance_at(self, port: int) -> str | None:
        return self._by_port.get(port)

    def start(self, wait: float = STARTUP_WAIT) -> threading.Thread:
        """Run the listeners on a thread; return once the instances that exist now are listened
        for (so that "listening" is true of them too), or after ``wait`` seconds at most."""
        thread = threading.Thread(target=lambda: asyncio.run(self.run()), name="monban-imds", daemon=True)
        thread.start()
        self._first.wait(wait)
        return thread

    async def run(self) -> None:
        db, keyring = open_state_parts(self.settings)
        self.state = AppState(self.settings, db, keyring)  # its audit writer records EC2's sessions
        app = MetadataApp(self.state, self.instance_at)
        config = uvicorn.Config(
            app,
            lifespan="off",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            log_level="warning",
        )
        config.load()
        server_state = ServerState()

        def protocol() -> Any:
            return CoalescingHttpToolsProtocol(
                config=config,
                server_state=server_state,
                app_state={},
                header_timeout=self.settings.header_timeout,
            )

        while True:
            try:
                wanted = await self.state.run_blocking(self._wanted)
                await self._reconcile(wanted, protocol)
            except Exception:  # a database hiccup must not end the listeners
                log.exception("instance metadata: reading the instances failed")
            self._first.set()
            await asyncio.sleep(POLL_SECONDS)

    def _wanted(self) -> dict[int, str]:
        """Port → instance id of every instance that should be served."""
        assert self.state is not None
        with self.state.db.transaction() as session:
            instances = list_instances(session)
        return {
            self.base + i.ordinal: i.instance_id
            for i in instances
            if i.state == "running" and i.http_endpoint == "enabled" and self.base + i.ordinal < 65536
        }

    async def _reconcile(self, wanted: dict[int, str], protocol: Any) -> None:
        for port in [p for p in self._servers if wanted.get(p) != self._by_port.get(p)]:
            self._servers.pop(port).close()
            self._by_port.pop(port, None)
        loop = asyncio.get_running_loop()
        for port, instance_id in wanted.items():
            if port in self._servers:
                continue
            try:
                sock = _socket(self.settings.host, port)
            except OSError as error:
                reason = (error.strerror or str(error)).lower()
                if self._failed.get(port) != reason:
                    self._failed[port] = reason
                    log.warning(
                        "monban: cannot listen on %s:%d for instance %s: %s",
                        self.settings.host,
                        port,
                        instance_id,
                        reason,
                    )
                continue
            self._failed.pop(port, None)
            self._by_port[port] = instance_id
            self._servers[port] = await loop.create_server(protocol, sock=sock)
