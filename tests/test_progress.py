"""Progress: log lines every N seconds with rate and ETA; JSON lines when asked."""

from __future__ import annotations

import io
import json

from etl.clock import FakeClock
from etl.progress import LogProgress, format_duration, make_progress


def test_log_progress_emits_only_after_interval_and_at_finish() -> None:
    """A line per interval (not per update) keeps cron logs small; finish always emits."""
    clock, out = FakeClock(), io.StringIO()
    p = LogProgress(unit="leads", interval=10, stream=out, clock=clock)
    p.start(100, "import")
    clock.advance(5)
    p.update(10)
    assert out.getvalue() == ""
    clock.advance(5)
    p.update(20, {"429s": 0, "retries": 2})
    line = out.getvalue().strip()
    assert line.startswith("import: 20/100 leads (20.0%)")
    assert "120 leads/min" in line and "eta 40s" in line and "retries=2" in line
    p.finish()
    assert len(out.getvalue().strip().splitlines()) == 2


def test_rates_count_only_this_runs_work_on_resume() -> None:
    """A resumed job starts with rows already done: they must not inflate leads/min."""
    clock, out = FakeClock(), io.StringIO()
    p = LogProgress(unit="leads", interval=60, stream=out, clock=clock)
    p.start(1000, "import", initial=900)
    clock.advance(60)
    p.update(930)
    assert "30 leads/min" in out.getvalue() and "eta 2m20s" in out.getvalue()


def test_json_progress_lines_are_parseable_objects() -> None:
    clock, out = FakeClock(), io.StringIO()
    p = LogProgress(unit="rows", interval=1, stream=out, as_json=True, clock=clock)
    p.start(None, "export")
    clock.advance(2)
    p.update(50)
    record = json.loads(out.getvalue())
    assert record["event"] == "progress" and record["done"] == 50 and record["total"] is None
    assert record["eta_s"] is None


def test_auto_mode_uses_log_lines_when_not_a_terminal() -> None:
    assert isinstance(make_progress("auto", stream=io.StringIO()), LogProgress)


def test_format_duration() -> None:
    assert format_duration(5) == "5s"
    assert format_duration(65) == "1m05s"
    assert format_duration(3725) == "1h02m05s"
