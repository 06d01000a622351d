"""Plain records the store takes and returns.

Hot-path records (:class:`StagedRow`, :class:`ClaimedRow`, :class:`Outcome`) are
``NamedTuple``\\ s: cheap to build by the thousand, immutable, no ORM session behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

Json = dict[str, Any]


class StagedRow(NamedTuple):
    """One input row to stage.

    Attributes:
        row_no: the row's stable number in the source (1-based data row of a CSV, or any
            unique, stable integer); with the job id it is the row's key.
        identity: the identity key (email, else linkedinUrl, else first+last+company),
            None when the row is rejected before one can be computed.
        payload: the sanitized lead payload to send; None for rejected rows.
        status: ``"pending"`` (to send), ``"rejected"`` (failed validation) or
            ``"skipped"`` (e.g. already in the ledger).
        reason: a reason code for rejected/skipped rows (``"missing_email"``).
        detail: a human-readable explanation.
    """

    row_no: int
    identity: str | None
    payload: Json | None
    status: str = "pending"
    reason: str | None = None
    detail: str | None = None


class ClaimedRow(NamedTuple):
    """A row moved to ``in_flight`` by :meth:`state.Store.claim_rows` (committed)."""

    row_no: int
    identity: str | None
    payload: Json | None
    attempts: int


class Outcome(NamedTuple):
    """What happened to a claimed row, for :meth:`state.Store.record_outcomes`.

    Build them with the helpers below (``Outcome.done(...)``) to keep call sites readable.

    Attributes:
        row_no: the row.
        status: ``done``, ``updated``, ``rejected``, ``pending``, ``unknown``, ``failed``
            or ``skipped``.
        lead_id: the API's lead id (``done`` and ``updated``).
        reason: a reason code (``rejected``, ``failed``).
        message: the server's message or the last error (kept for ``jobs show``).
        content_hash: hash of the payload written, stored in the ledger (HubSpot upsert).
    """

    row_no: int
    status: str
    lead_id: str | None = None
    reason: str | None = None
    message: str | None = None
    content_hash: str | None = None

    @classmethod
    def done(cls, row_no: int, lead_id: str, *, content_hash: str | None = None) -> Outcome:
        """The POST created the lead (or reconcile found it)."""
        return cls(row_no, "done", lead_id, None, None, content_hash)

    @classmethod
    def updated(cls, row_no: int, lead_id: str, *, content_hash: str | None = None) -> Outcome:
        """A PUT updated an existing lead."""
        return cls(row_no, "updated", lead_id, None, None, content_hash)

    @classmethod
    def rejected(cls, row_no: int, reason: str, message: str | None = None) -> Outcome:
        """The server refused the data (4xx caused by the row); never retried."""
        return cls(row_no, "rejected", None, reason, message)

    @classmethod
    def pending(cls, row_no: int, message: str | None = None) -> Outcome:
        """The request never left (connect error): safe to send again."""
        return cls(row_no, "pending", None, None, message)

    @classmethod
    def unknown(cls, row_no: int, message: str | None = None) -> Outcome:
        """The request may have reached the server: reconcile before any retry."""
        return cls(row_no, "unknown", None, None, message)

    @classmethod
    def failed(cls, row_no: int, reason: str, message: str | None = None) -> Outcome:
        """Given up (e.g. retries exhausted); ``lgetl jobs retry`` re-queues it."""
        return cls(row_no, "failed", None, reason, message)

    @classmethod
    def skipped(cls, row_no: int, reason: str = "exists") -> Outcome:
        """Not sent on purpose (e.g. the ledger already knows the identity)."""
        return cls(row_no, "skipped", None, reason, None)


class JobRow(NamedTuple):
    """A stored row, as read back by :meth:`state.Store.rows_in_status`."""

    row_no: int
    identity: str | None
    payload: Json | None
    status: str
    reason: str | None
    message: str | None
    attempts: int
    lead_id: str | None
    updated_at: float


class LedgerEntry(NamedTuple):
    """What the ledger knows about one identity in one client."""

    identity: str
    lead_id: str
    content_hash: str | None
    updated_at: float


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds a job's lock (as stored)."""

    pid: int
    host: str
    since: float
    heartbeat: float


@dataclass(frozen=True, slots=True)
class Lock:
    """A held job lock: pass it to the store's write methods so they refresh the
    heartbeat and stop with :class:`state.LockLost` if another process took over."""

    job_id: int
    token: str
    pid: int
    host: str
    since: float


@dataclass(frozen=True, slots=True)
class Job:
    """A job: one import or export, identified by kind + source fingerprint + target."""

    id: int
    kind: str
    fingerprint: str
    target: str
    options: Json
    status: str
    counters: Json
    created_at: float
    updated_at: float
    superseded_by: int | None = None
    lock: LockInfo | None = None

    @property
    def finished(self) -> bool:
        """True when the job completed (or was superseded): nothing left to resume."""
        return self.status in ("complete", "superseded")


@dataclass(frozen=True, slots=True)
class Run:
    """One invocation of a job."""

    id: int
    job_id: int
    started_at: float
    ended_at: float | None
    outcome: str | None
    pid: int
    host: str
    counters: Json = field(default_factory=dict)
