"""SIGINT/SIGTERM as a polite stop request for long async jobs.

The first signal sets :attr:`StopRequest.event`: the pipeline stops claiming work,
finishes or marks what is in flight, commits, and exits 130/143. A second signal
restores the default handler and re-raises it, for a user who really wants out (the
exactly-once protocol makes even that safe).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    """Set once a stop signal arrived; remembers which one (for the exit code)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal_number: int | None = None

    @property
    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self.event.is_set()

    def request(self, signal_number: int = signal.SIGINT) -> None:
        """Ask the job to stop (what the handler does; tests call it directly)."""
        if self.signal_number is None:
            self.signal_number = signal_number
        self.event.set()


@contextmanager
def stop_on_signals(
    loop: asyncio.AbstractEventLoop, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[StopRequest]:
    """Install handlers on ``loop`` for the duration of the block.

    Args:
        loop: the running event loop (handlers run in it, so they may touch the event).
        signals: which signals mean "stop cleanly".
    """
    stop = StopRequest()

    def _handle(signum: int) -> None:
        if stop.requested:  # second signal: give the default behaviour back
            loop.remove_signal_handler(signum)
            signal.raise_signal(signum)
            return
        stop.request(signum)

    for signum in signals:
        loop.add_signal_handler(signum, _handle, signum)
    try:
        yield stop
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
