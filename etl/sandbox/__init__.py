"""A local emulation of the LeadGenius Pro API (and its known bugs) over real HTTP.

Start it with ``lgetl sandbox`` or, in tests, with :func:`serve_in_thread` (see
``tests/fixtures/sandbox.py``). ``docs/sandbox.md`` documents every route and knob.
"""

from __future__ import annotations

from etl.sandbox.accounts import Account
from etl.sandbox.app import create_app
from etl.sandbox.config import SandboxConfig
from etl.sandbox.errors import SandboxConfigError, SandboxStartError
from etl.sandbox.server import RunningSandbox, serve_forever, serve_in_thread
from etl.sandbox.state import Sandbox

__all__ = [
    "Account",
    "RunningSandbox",
    "Sandbox",
    "SandboxConfig",
    "SandboxConfigError",
    "SandboxStartError",
    "create_app",
    "serve_forever",
    "serve_in_thread",
]
