"""Tables of the state store (SQLAlchemy Core) and the status vocabularies.

All timestamps are epoch seconds (``Double``) taken from the store's clock: one type on
SQLite and PostgreSQL, no time-zone ambiguity, cheap on the hot path. Table names carry an
``lgetl_`` prefix so the store can share a PostgreSQL database or schema with other tools.
"""

from __future__ import annotations

from typing import Final, Literal

from sqlalchemy import (
    JSON,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION: Final = 1
"""The schema version this code writes; bump it and add a migration in ``state.schema``."""

JobStatus = Literal["running", "incomplete", "complete", "superseded"]
JOB_STATUSES: Final[tuple[JobStatus, ...]] = ("running", "incomplete", "complete", "superseded")

RowStatus = Literal[
    "pending", "in_flight", "done", "rejected", "unknown", "skipped", "updated", "failed"
]
ROW_STATUSES: Final[tuple[RowStatus, ...]] = (
    "pending",
    "in_flight",
    "done",
    "rejected",
    "unknown",
    "skipped",
    "updated",
    "failed",
)
OPEN_ROW_STATUSES: Final[frozenset[str]] = frozenset({"pending", "in_flight", "unknown"})
"""Rows that still need work; a job is complete when it has none of these."""
FINAL_ROW_STATUSES: Final[frozenset[str]] = frozenset(ROW_STATUSES) - OPEN_ROW_STATUSES
STAGE_STATUSES: Final[frozenset[str]] = frozenset({"pending", "rejected", "skipped"})
LEDGER_STATUSES: Final[frozenset[str]] = frozenset({"done", "updated"})
"""Outcomes that mean the lead exists in the API: they write the ledger."""

metadata = MetaData()

schema_version = Table(
    "lgetl_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Double, nullable=False),
)

jobs = Table(
    "lgetl_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("fingerprint", String(200), nullable=False),
    Column("target", String(400), nullable=False),
    Column("options", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("counters", JSON, nullable=False),
    # 1 while the job is the live one for (kind, fingerprint, target), NULL once superseded:
    # NULLs are distinct in a unique constraint, so at most one live job per identity, even
    # when two processes create it at the same instant.
    Column("active", Integer, nullable=True),
    Column("superseded_by", Integer, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("lock_pid", Integer, nullable=True),
    Column("lock_host", String(255), nullable=True),
    Column("lock_token", String(64), nullable=True),
    Column("lock_since", Double, nullable=True),
    Column("lock_heartbeat", Double, nullable=True),
    UniqueConstraint("kind", "fingerprint", "target", "active", name="uq_lgetl_jobs_identity"),
    Index("ix_lgetl_jobs_kind_target", "kind", "target"),
)

job_rows = Table(
    "lgetl_job_rows",
    metadata,
    Column("job_id", Integer, ForeignKey("lgetl_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("row_no", Integer, primary_key=True, autoincrement=False),
    Column("identity", Text, nullable=True),
    # none_as_null: a missing payload is SQL NULL, not the JSON text 'null'.
    Column("payload", JSON(none_as_null=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", String(80), nullable=True),
    Column("message", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("lead_id", String(80), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    # claim_rows scans "pending rows of a job in row order": this index serves it directly.
    Index("ix_lgetl_job_rows_claim", "job_id", "status", "row_no"),
)

ledger = Table(
    "lgetl_ledger",
    metadata,
    Column("client_id", String(200), primary_key=True),
    Column("identity", Text, primary_key=True),
    Column("lead_id", String(80), nullable=False),
    Column("content_hash", String(128), nullable=True),
    Column("job_id", Integer, nullable=True),
    Column("updated_at", Double, nullable=False),
)

runs = Table(
    "lgetl_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("lgetl_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", Double, nullable=False),
    Column("ended_at", Double, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("counters", JSON, nullable=False),
    Index("ix_lgetl_runs_job", "job_id"),
)

checkpoints = Table(
    "lgetl_checkpoints",
    metadata,
    Column("job_id", Integer, ForeignKey("lgetl_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", Double, nullable=False),
)

high_water_marks = Table(
    "lgetl_high_water_marks",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("target", String(400), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", Double, nullable=False),
)
