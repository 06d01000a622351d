"""The store: one object, passed in, holding every piece of persistent state."""

from __future__ import annotations

from state.base import WallClock
from state.engine import create_store_engine
from state.jobs import JobsMixin
from state.kv import KvMixin
from state.rows import RowsMixin
from state.schema import ensure_schema
from state.url import mask_url


class Store(JobsMixin, RowsMixin, KvMixin):
    """The checkpoint store (SQLite or PostgreSQL): jobs, locks, runs, rows, ledger,
    checkpoints and high-water marks.

    Every public method runs in its own transaction and commits before returning. It is
    safe to share one store between threads; it blocks briefly (a local commit), so async
    callers may call it directly or through ``asyncio.to_thread``. Open it with
    :func:`open_store`.
    """


def open_store(
    url: str,
    *,
    clock: WallClock | None = None,
    host: str | None = None,
    sqlite_synchronous: str = "NORMAL",
) -> Store:
    """Open (and on first use create) the store at ``url``.

    Args:
        url: a SQLAlchemy URL, usually from :func:`state.resolve_state_url`.
        clock: source of timestamps (anything with ``time()``; default: system clock).
        host: this machine's name for locks and runs (default: ``socket.gethostname()``).
        sqlite_synchronous: ``"NORMAL"`` (default: a commit survives a process crash, and
            may be lost on power failure) or ``"FULL"`` (fsync per commit). See docs/state.md.

    Returns:
        The open store; call ``close()`` (or use it as a context manager) when done.

    Raises:
        StateUnavailable: unsupported URL, directory not creatable, server unreachable.
        SchemaTooNew: the store was written by a newer lgetl.
    """
    display = mask_url(url)
    engine = create_store_engine(url, sqlite_synchronous=sqlite_synchronous)
    store = Store(engine, display_url=display, clock=clock, host=host)
    try:
        with store._translate(opening=True):
            ensure_schema(engine, now=store._now(), display_url=display)
    except BaseException:
        engine.dispose()
        raise
    return store
