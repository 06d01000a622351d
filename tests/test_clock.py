"""The fake clock advances only when told to, and ``sleep`` advances it instantly."""

from __future__ import annotations

import asyncio

from etl.clock import FakeClock


def test_fake_clock_sleep_advances_time_without_waiting() -> None:
    clock = FakeClock(start=100.0)
    asyncio.run(clock.sleep(2.5))
    assert clock.time() == 102.5
    assert clock.monotonic() == 2.5
    assert clock.sleeps == [2.5]


def test_fake_clock_never_goes_backwards_on_negative_sleep() -> None:
    clock = FakeClock(start=0.0)
    asyncio.run(clock.sleep(-1))
    assert clock.time() == 0.0
