"""A stop signal becomes a flag the job polls; it remembers the first signal."""

from __future__ import annotations

import asyncio
import os
import signal

from etl.signals import StopRequest, stop_on_signals


def test_sigterm_sets_the_stop_request_with_its_number() -> None:
    async def main() -> StopRequest:
        with stop_on_signals(asyncio.get_running_loop()) as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(stop.event.wait(), timeout=5)
            return stop

    stop = asyncio.run(main())
    assert stop.requested and stop.signal_number == signal.SIGTERM


def test_handlers_are_removed_after_the_block() -> None:
    async def main() -> None:
        with stop_on_signals(asyncio.get_running_loop()):
            pass

    asyncio.run(main())
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_first_signal_wins_for_the_exit_code() -> None:
    async def main() -> StopRequest:
        stop = StopRequest()
        stop.request(signal.SIGINT)
        stop.request(signal.SIGTERM)
        return stop

    assert asyncio.run(main()).signal_number == signal.SIGINT
