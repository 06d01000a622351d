"""Job rows: staging, claiming, outcomes, counts. This is the loader's hot path.

Every method handles a batch in one transaction with prebuilt Core statements and
executemany, so per-row cost is a few dict entries, not a round trip or an ORM object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    func,
    select,
    update,
)

from state.base import StoreBase
from state.errors import InvalidRequeue
from state.kv import write_checkpoints, write_ledger
from state.models import (
    LEDGER_STATUSES,
    ROW_STATUSES,
    STAGE_STATUSES,
    job_rows,
    jobs,
)
from state.records import ClaimedRow, JobRow, Json, Lock, Outcome, StagedRow
from state.statements import (
    CLAIM_PG_PICK,
    CLAIM_PG_UPDATE,
    CLAIM_SQLITE,
    RECORD_OUTCOME,
    stage_statement,
)

STAGE_CHUNK = 5000
"""Rows per staging transaction: large enough to amortize the commit, small enough that a
crash loses little work (staging is idempotent anyway)."""
REQUEUE_FROM: frozenset[str] = frozenset({"failed", "rejected"})
"""Only rows that certainly did not create a lead may be sent again."""
_OUTCOME_STATUSES = frozenset(ROW_STATUSES) - {"in_flight"}

_JOB_ROW_COLUMNS = (
    job_rows.c.row_no,
    job_rows.c.identity,
    job_rows.c.payload,
    job_rows.c.status,
    job_rows.c.reason,
    job_rows.c.message,
    job_rows.c.attempts,
    job_rows.c.lead_id,
    job_rows.c.updated_at,
)


def _select_rows(job_id: int) -> Select[Any]:
    return select(*_JOB_ROW_COLUMNS).where(job_rows.c.job_id == job_id)


class RowsMixin(StoreBase):
    """Stage, claim and settle job rows; count them."""

    def stage_rows(
        self,
        job_id: int,
        rows: Iterable[StagedRow],
        *,
        chunk_size: int = STAGE_CHUNK,
        lock: Lock | None = None,
        checkpoints: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> int:
        """Insert rows in chunked transactions; rows already staged are left untouched.

        Idempotent: staging the same row numbers again (a resumed job re-reading its
        source) neither duplicates nor resets them, whatever their status now.

        Args:
            job_id: the job.
            rows: rows with status ``pending``, ``rejected`` or ``skipped``.
            chunk_size: rows per transaction.
            lock: when given, refresh its heartbeat each chunk; raise LockLost if taken over.
            checkpoints: ``{key: value}`` committed with the LAST chunk, e.g. HubSpot's
                ``after`` cursor for the page these rows came from.

        Returns:
            The number of rows given (new or already staged).
        """
        stmt = stage_statement(self.backend)
        iterator = iter(rows)
        final = {key: dict(value) for key, value in (checkpoints or {}).items()}
        total = 0
        chunk = list(islice(iterator, chunk_size))
        while True:
            # Look one chunk ahead so the checkpoints ride with the last rows written.
            after = list(islice(iterator, chunk_size)) if len(chunk) == chunk_size else []
            last = not after
            if chunk or (last and final):
                now = self._now()
                params = [_staged_params(job_id, row, now) for row in chunk]
                with self._write() as conn:
                    self._touch_lock(conn, lock)
                    if params:
                        conn.execute(stmt, params)
                    if last and final:
                        write_checkpoints(conn, job_id, final, now)
            total += len(chunk)
            if last:
                return total
            chunk = after

    def claim_rows(self, job_id: int, limit: int, *, lock: Lock | None = None) -> list[ClaimedRow]:
        """Move up to ``limit`` pending rows to ``in_flight`` (attempts + 1) and commit.

        The commit happens before this returns, so a row is durably ``in_flight`` before
        its request is sent. Concurrent claimers (threads, tasks or processes) never get
        the same row.

        Args:
            job_id: the job.
            limit: at most this many rows (in row order).
            lock: when given, refresh its heartbeat; raise LockLost if taken over.

        Returns:
            The claimed rows in row order; empty when no row is pending.
        """
        params: dict[str, Any] = {"p_job": job_id, "p_limit": limit, "p_now": self._now()}
        with self._write() as conn:
            self._touch_lock(conn, lock)
            if self.backend == "postgresql":
                params["p_rows"] = list(conn.execute(CLAIM_PG_PICK, params).scalars())
                if not params["p_rows"]:
                    return []
                result = conn.execute(CLAIM_PG_UPDATE, params)
            else:
                result = conn.execute(CLAIM_SQLITE, params)
            claimed = [ClaimedRow(*row) for row in result]
        # RETURNING gives no order guarantee.
        claimed.sort(key=lambda row: row.row_no)
        return claimed

    def record_outcomes(
        self,
        job_id: int,
        outcomes: Sequence[Outcome],
        *,
        client_id: str | None = None,
        lock: Lock | None = None,
        checkpoints: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Apply many outcomes in ONE transaction, ledger included.

        ``done`` and ``updated`` outcomes upsert ``(client_id, identity) -> lead_id``
        (and ``content_hash``) in the same transaction as the row update, so a committed
        ``done`` row is always in the ledger.

        Args:
            job_id: the job.
            outcomes: one per row; build them with ``Outcome.done(...)`` etc.
            client_id: the ledger's client (default: the job's target, the client slug).
            lock: when given, refresh its heartbeat; raise LockLost (and write nothing)
                if another process took the job over.
            checkpoints: ``{key: value}`` committed in the same transaction.

        Raises:
            ValueError: an outcome has an unknown status (or ``in_flight``).
        """
        if not outcomes and not checkpoints:
            return
        now = self._now()
        params = []
        ledger_rows: list[int] = []
        for outcome in outcomes:
            status = outcome.status
            if status not in _OUTCOME_STATUSES:
                raise ValueError(f"row {outcome.row_no}: {status!r} is not an outcome status")
            params.append(
                {
                    "p_job": job_id,
                    "p_row": outcome.row_no,
                    "p_status": status,
                    "p_lead": outcome.lead_id,
                    "p_reason": outcome.reason,
                    "p_message": outcome.message,
                    "p_now": now,
                }
            )
            if status in LEDGER_STATUSES:
                ledger_rows.append(outcome.row_no)
        with self._write() as conn:
            self._touch_lock(conn, lock)
            if params:
                conn.execute(RECORD_OUTCOME, params)
            if ledger_rows:
                client = client_id if client_id is not None else self._job_target(conn, job_id)
                by_row = {o.row_no: o for o in outcomes}
                identities = conn.execute(
                    select(job_rows.c.row_no, job_rows.c.identity).where(
                        job_rows.c.job_id == job_id, job_rows.c.row_no.in_(ledger_rows)
                    )
                ).all()
                write_ledger(
                    conn,
                    [
                        {
                            "client_id": client,
                            "identity": identity,
                            "lead_id": by_row[row_no].lead_id,
                            "content_hash": by_row[row_no].content_hash,
                            "job_id": job_id,
                            "updated_at": now,
                        }
                        for row_no, identity in identities
                        if identity is not None and by_row[row_no].lead_id is not None
                    ],
                )
            if checkpoints:
                write_checkpoints(conn, job_id, {k: dict(v) for k, v in checkpoints.items()}, now)

    def rows_in_status(
        self,
        job_id: int,
        statuses: Iterable[str],
        *,
        limit: int | None = None,
        after_row: int | None = None,
    ) -> list[JobRow]:
        """Rows of the job in these statuses, in row order (e.g. ``in_flight`` and
        ``unknown`` rows to reconcile at start).

        Args:
            job_id: the job.
            statuses: the statuses wanted.
            limit: at most this many rows.
            after_row: only rows with ``row_no > after_row`` (keyset paging).
        """
        query = _select_rows(job_id).where(job_rows.c.status.in_(list(statuses)))
        if after_row is not None:
            query = query.where(job_rows.c.row_no > after_row)
        query = query.order_by(job_rows.c.row_no)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [JobRow(*row) for row in conn.execute(query)]

    def iter_rows(
        self, job_id: int, statuses: Iterable[str], *, page_size: int = 5000
    ) -> Iterator[JobRow]:
        """All rows in these statuses, in row order, read page by page (rejects file)."""
        wanted = list(statuses)
        after: int | None = None
        while True:
            page = self.rows_in_status(job_id, wanted, limit=page_size, after_row=after)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].row_no

    def counts_by_status(self, job_id: int) -> dict[str, int]:
        """``{status: count}`` for every row status (zeros included)."""
        counts: dict[str, int] = dict.fromkeys(ROW_STATUSES, 0)
        query = (
            select(job_rows.c.status, func.count())
            .where(job_rows.c.job_id == job_id)
            .group_by(job_rows.c.status)
        )
        with self._read() as conn:
            for status, count in conn.execute(query):
                counts[status] = count
        return counts

    def counts_by_reason(
        self, job_id: int, statuses: Iterable[str] = ("rejected",)
    ) -> dict[str, int]:
        """``{reason: count}`` over rows in ``statuses`` (default: rejects), largest first;
        rows without a reason count as ``"unspecified"``."""
        query = (
            select(job_rows.c.reason, func.count())
            .where(job_rows.c.job_id == job_id, job_rows.c.status.in_(list(statuses)))
            .group_by(job_rows.c.reason)
        )
        with self._read() as conn:
            pairs = [(reason or "unspecified", count) for reason, count in conn.execute(query)]
        return dict(sorted(pairs, key=lambda pair: (-pair[1], pair[0])))

    def requeue(self, job_id: int, from_status: str | Iterable[str] = "failed") -> int:
        """Put rows back to ``pending`` with attempts reset (``lgetl jobs retry``).

        Only ``failed`` rows and rows ``rejected`` by the server (sent at least once, so
        not validation rejects) qualify:
        a ``done``, ``unknown`` or ``in_flight`` row may already exist in the API. A
        ``complete`` job with re-queued rows becomes ``incomplete``.

        Returns:
            The number of rows re-queued.

        Raises:
            InvalidRequeue: a status other than ``failed`` or ``rejected`` was asked for.
        """
        wanted = {from_status} if isinstance(from_status, str) else set(from_status)
        refused = wanted - REQUEUE_FROM
        if refused:
            raise InvalidRequeue(
                f"cannot re-queue {sorted(refused)} rows: they may already exist in the "
                "API (reconcile them by re-running the job) or hold no payload; only "
                "'failed' and 'rejected' rows can be retried"
            )
        now = self._now()
        with self._write() as conn:
            result = conn.execute(
                update(job_rows)
                .where(
                    job_rows.c.job_id == job_id,
                    job_rows.c.status.in_(sorted(wanted)),
                    job_rows.c.payload.is_not(None),
                    (job_rows.c.status == "failed") | (job_rows.c.attempts > 0),
                )
                .values(status="pending", attempts=0, updated_at=now)
            )
            count = result.rowcount
            if count:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.status == "complete")
                    .values(status="incomplete", updated_at=now)
                )
        return count

    def last_errors(self, job_id: int, limit: int = 10) -> list[JobRow]:
        """The most recent rows with an error message from sending (not from validation),
        newest first, for ``jobs show``."""
        query = (
            _select_rows(job_id)
            .where(and_(job_rows.c.message.is_not(None), job_rows.c.attempts > 0))
            .order_by(job_rows.c.updated_at.desc(), job_rows.c.row_no.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [JobRow(*row) for row in conn.execute(query)]

    def _job_target(self, conn: Connection, job_id: int) -> str:
        target: str = conn.execute(select(jobs.c.target).where(jobs.c.id == job_id)).scalar_one()
        return target


def _staged_params(job_id: int, row: StagedRow, now: float) -> dict[str, Any]:
    if row.status not in STAGE_STATUSES:
        raise ValueError(f"row {row.row_no}: cannot stage with status {row.status!r}")
    payload: Json | None = row.payload
    return {
        "job_id": job_id,
        "row_no": row.row_no,
        "identity": row.identity,
        "payload": payload,
        "status": row.status,
        "reason": row.reason,
        "message": row.detail,
        "attempts": 0,
        "lead_id": None,
        "created_at": now,
        "updated_at": now,
    }
