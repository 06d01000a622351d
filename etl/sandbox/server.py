"""Serve the sandbox with uvicorn: in a background thread (tests, demo) or the foreground (CLI)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.routing import BaseRoute

from etl.clock import Clock
from etl.sandbox.accounts import Account
from etl.sandbox.app import create_app
from etl.sandbox.config import SandboxConfig
from etl.sandbox.errors import SandboxStartError
from etl.sandbox.http import quiet_dropped_connections
from etl.sandbox.state import Sandbox


@dataclass
class RunningSandbox:
    """A sandbox serving over HTTP.

    Attributes:
        base_url: ``http://HOST:PORT`` without a trailing slash.
        accounts: the seeded accounts, ``"demo"`` and ``"other"``.
        config: the live config (changing it directly also changes the server).
        sandbox: the server's state, for in-process inspection.
    """

    base_url: str
    accounts: dict[str, Account]
    config: SandboxConfig
    sandbox: Sandbox


def bind(host: str, port: int) -> socket.socket:
    """Bind a listening socket (port 0 = any free port).

    Raises:
        SandboxStartError: the address is in use or not available.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise SandboxStartError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): "
            "pick another --port (0 = any free port) or --host"
        ) from exc
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def base_url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app: Any) -> uvicorn.Server:
    """A lean uvicorn server: uvloop + httptools, no access log, no lifespan."""
    quiet_dropped_connections()
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(
    config: SandboxConfig,
    *,
    clock: Clock | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Iterator[RunningSandbox]:
    """Run the sandbox in a background thread for the duration of the ``with`` block.

    Args:
        config: the knobs (``port=0`` picks a free port).
        clock: passed to :func:`create_app`.
        extra_routes: passed to :func:`create_app`.

    Yields:
        The running sandbox; the server stops (and the thread joins) on exit.

    Raises:
        SandboxStartError: the port is taken or the server did not come up in 10 s.
    """
    app = create_app(config, clock=clock, extra_routes=extra_routes)
    sock = bind(config.host, config.port)
    config.port = sock.getsockname()[1]  # the real port when 0 asked for any
    server = make_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="lgetl-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise SandboxStartError("the sandbox server did not start; see the log above")
        time.sleep(0.002)
    sandbox: Sandbox = app.state.sandbox
    try:
        yield RunningSandbox(base_url_of(sock), dict(sandbox.accounts), config, sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve_forever(
    config: SandboxConfig,
    *,
    on_ready: Callable[[str, Sandbox], None] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (the ``lgetl sandbox`` command).

    Args:
        config: the knobs.
        on_ready: called with ``(base_url, sandbox)`` once the socket is bound.
        extra_routes: passed to :func:`create_app` (the HubSpot emulation).
    """
    app = create_app(config, extra_routes=extra_routes)
    sock = bind(config.host, config.port)
    config.port = sock.getsockname()[1]
    if on_ready is not None:
        on_ready(base_url_of(sock), app.state.sandbox)
    server = make_server(app)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
