"""Progress reporting for long jobs: a rich bar on a terminal, a log line every N seconds
otherwise (cron, CI), or one JSON object per line with ``--log-format json``.

Pipelines call :meth:`Progress.update` as often as they like; the reporter decides when
to draw. Nothing here knows about leads or parts: ``unit`` names what is counted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import IO, Literal, Protocol

from etl.clock import Clock, SystemClock

ProgressMode = Literal["auto", "bar", "log", "json", "off"]


class Progress(Protocol):
    """What a pipeline needs from a progress reporter."""

    def start(self, total: int | None, description: str, initial: int = 0) -> None:
        """Begin a phase of ``total`` units (``None`` if unknown), ``initial`` already done
        (a resumed job): rates count only what this run does."""

    def update(self, done: int, stats: Mapping[str, int] | None = None) -> None:
        """Report ``done`` units so far, with extra counters (429s, retries...)."""

    def finish(self) -> None:
        """End the phase (draw the final state)."""


def format_duration(seconds: float) -> str:
    """``3725.2`` -> ``"1h02m05s"``; short and stable for log lines."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class _Rates:
    """Throughput and ETA from the start of a phase (pure arithmetic on a clock)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._t0 = clock.monotonic()
        self._done0 = 0

    def reset(self, initial: int = 0) -> None:
        self._t0 = self._clock.monotonic()
        self._done0 = initial

    def per_minute(self, done: int) -> float:
        elapsed = self._clock.monotonic() - self._t0
        return 60.0 * (done - self._done0) / elapsed if elapsed > 0 else 0.0

    def eta(self, done: int, total: int | None) -> float | None:
        rate = self.per_minute(done)
        if total is None or rate <= 0:
            return None
        return 60.0 * max(0, total - done) / rate

    def elapsed(self) -> float:
        return self._clock.monotonic() - self._t0


class LogProgress:
    """One plain (or JSON) line every ``interval`` seconds, and one at the end."""

    def __init__(
        self,
        *,
        unit: str = "rows",
        interval: float = 10.0,
        stream: IO[str] | None = None,
        as_json: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._unit = unit
        self._interval = interval
        self._stream = stream
        self._json = as_json
        self._rates = _Rates(self._clock)
        self._total: int | None = None
        self._desc = ""
        self._last_emit = float("-inf")
        self._done = 0
        self._stats: dict[str, int] = {}

    def start(self, total: int | None, description: str, initial: int = 0) -> None:
        self._total, self._desc, self._done = total, description, initial
        self._rates.reset(initial)
        self._last_emit = self._clock.monotonic()

    def update(self, done: int, stats: Mapping[str, int] | None = None) -> None:
        self._done = done
        if stats:
            self._stats.update(stats)
        if self._clock.monotonic() - self._last_emit >= self._interval:
            self._emit()

    def finish(self) -> None:
        self._emit()

    def _emit(self) -> None:
        self._last_emit = self._clock.monotonic()
        rate = self._rates.per_minute(self._done)
        eta = self._rates.eta(self._done, self._total)
        stream = self._stream or sys.stderr
        if self._json:
            record = {
                "event": "progress",
                "phase": self._desc,
                "done": self._done,
                "total": self._total,
                f"{self._unit}_per_min": round(rate, 1),
                "eta_s": None if eta is None else round(eta),
                **self._stats,
            }
            stream.write(json.dumps(record) + "\n")
        else:
            total = "?" if self._total is None else str(self._total)
            pct = f" ({100 * self._done / self._total:.1f}%)" if self._total else ""
            extra = "".join(f", {k}={v}" for k, v in self._stats.items())
            eta_txt = "" if eta is None else f", eta {format_duration(eta)}"
            stream.write(
                f"{self._desc}: {self._done}/{total} {self._unit}{pct}, "
                f"{rate:.0f} {self._unit}/min{eta_txt}{extra}\n"
            )
        stream.flush()


class BarProgress:
    """A rich progress bar with done/total, rate per minute, ETA and counters."""

    def __init__(self, *, unit: str = "rows", clock: Clock | None = None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._unit = unit
        self._rates = _Rates(clock or SystemClock())
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            transient=False,
        )
        self._task: object | None = None

    def start(self, total: int | None, description: str, initial: int = 0) -> None:
        self._rates.reset(initial)
        self._bar.start()
        self._task = self._bar.add_task(
            description, total=total, completed=initial, rate="", stats=""
        )

    def update(self, done: int, stats: Mapping[str, int] | None = None) -> None:
        if self._task is None:
            return
        rate = f"{self._rates.per_minute(done):.0f} {self._unit}/min"
        text = " ".join(f"{k}={v}" for k, v in (stats or {}).items())
        self._bar.update(self._task, completed=done, rate=rate, stats=text)  # type: ignore[arg-type]

    def finish(self) -> None:
        self._bar.stop()


class NoProgress:
    """Reports nothing (``--quiet`` and tests)."""

    def start(self, total: int | None, description: str, initial: int = 0) -> None:
        return None

    def update(self, done: int, stats: Mapping[str, int] | None = None) -> None:
        return None

    def finish(self) -> None:
        return None


def make_progress(
    mode: ProgressMode = "auto",
    *,
    unit: str = "rows",
    interval: float = 10.0,
    stream: IO[str] | None = None,
    clock: Clock | None = None,
) -> Progress:
    """Pick a reporter: ``auto`` means a bar on a terminal and log lines otherwise.

    Args:
        mode: ``auto``, ``bar``, ``log``, ``json`` or ``off``.
        unit: what is counted ("leads", "rows").
        interval: seconds between log lines in ``log``/``json`` mode.
        stream: where log lines go (stderr by default).
        clock: for rates and the line interval.
    """
    out = stream or sys.stderr
    if mode == "auto":
        mode = "bar" if out.isatty() else "log"
    if mode == "bar":
        return BarProgress(unit=unit, clock=clock)
    if mode in ("log", "json"):
        return LogProgress(
            unit=unit, interval=interval, stream=out, as_json=mode == "json", clock=clock
        )
    return NoProgress()
