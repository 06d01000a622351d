"""Persistence: the SQLAlchemy 2.x checkpoint store (SQLite by default, PostgreSQL).

Open one with ``open_store(resolve_state_url(option, os.environ))`` and pass it in; see
docs/state.md for what is stored and how the loader's protocol uses it.
"""

from state.base import WallClock
from state.errors import (
    InvalidRequeue,
    JobLocked,
    JobNotFound,
    LockLost,
    SchemaTooNew,
    SourceChanged,
    StateError,
    StateUnavailable,
)
from state.lock import STALE_AFTER_S, holder_is_live, pid_alive
from state.models import (
    FINAL_ROW_STATUSES,
    JOB_STATUSES,
    OPEN_ROW_STATUSES,
    ROW_STATUSES,
    SCHEMA_VERSION,
    JobStatus,
    RowStatus,
)
from state.records import (
    ClaimedRow,
    Job,
    JobRow,
    LedgerEntry,
    Lock,
    LockInfo,
    Outcome,
    Run,
    StagedRow,
)
from state.store import Store, open_store
from state.url import mask_url, resolve_state_url

__all__ = [
    "FINAL_ROW_STATUSES",
    "JOB_STATUSES",
    "OPEN_ROW_STATUSES",
    "ROW_STATUSES",
    "SCHEMA_VERSION",
    "STALE_AFTER_S",
    "ClaimedRow",
    "InvalidRequeue",
    "Job",
    "JobLocked",
    "JobNotFound",
    "JobRow",
    "JobStatus",
    "LedgerEntry",
    "Lock",
    "LockInfo",
    "LockLost",
    "Outcome",
    "RowStatus",
    "Run",
    "SchemaTooNew",
    "SourceChanged",
    "StagedRow",
    "StateError",
    "StateUnavailable",
    "Store",
    "WallClock",
    "holder_is_live",
    "mask_url",
    "open_store",
    "pid_alive",
    "resolve_state_url",
]
