"""The exactly-once LeadGenius loader: staged rows -> single-lead POSTs (and batch PUTs).

Protocol (DESIGN.md, "The exactly-once protocol"), per row::

    pending -> in_flight (committed BEFORE the request) -> done(lead_id)   201
                                                        -> rejected        the data was refused
                                                        -> pending         never left / refused
                                                        -> unknown         may have been stored
    in_flight/unknown -> (consistency window) -> reconcile -> done | pending | failed

Outcomes are buffered and committed in one transaction per batch: a row whose outcome
was not committed yet is still ``in_flight`` in the store, which the next start
reconciles, so buffering costs a lookup after a crash, never a duplicate.

Rows whose staged payload carries an ``id`` are updates of a lead the ledger knows
(``--on-existing update``): they go out as batch PUTs of up to 50, which are idempotent.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from etl.client import (
    AmbiguousWriteError,
    ConflictError,
    LeadGeniusClient,
    LeadGeniusError,
    RateLimitedError,
    RejectedError,
    ServerError,
    TransportError,
)
from etl.clock import Clock
from etl.errors import EtlError
from etl.progress import Progress
from etl.signals import StopRequest
from etl.sinks.reconcile import Reconciler
from state import ClaimedRow, Lock, Outcome, Store

#: Consecutive "server down" outcomes after which the run stops (resumable) instead of
#: spinning through every remaining row.
MAX_CONSECUTIVE_FAILURES = 25

#: Reconcile passes in a row that resolve nothing (every lookup failed) before the run
#: ends incomplete, leaving those rows ``unknown`` for the next run.
MAX_FRUITLESS_RECONCILES = 3


class LoaderStopped(EtlError):
    """The API kept failing; the job is resumable: re-run the same command later."""


@dataclass(frozen=True)
class LoaderOptions:
    """How the loader paces and retries.

    Attributes:
        client_id: the target client's slug (never its UUID: bug 1).
        concurrency: requests in flight; ``None`` = from the rate and observed latency.
        consistency_window: seconds to wait after an ambiguous attempt before looking
            the lead up (the server's list/find indexes are eventually consistent).
        max_attempts: attempts per row before it is ``failed``.
        claim_batch: rows claimed (committed ``in_flight``) per store transaction.
        flush_interval: seconds between outcome commits (also every ``claim_batch``).
        rate: the client's requests/minute (0 = unlimited), for the default concurrency.
        stop_grace: seconds in-flight requests get to finish after SIGINT/SIGTERM.
    """

    client_id: str
    concurrency: int | None = None
    consistency_window: float = 5.0
    max_attempts: int = 5
    claim_batch: int = 50
    flush_interval: float = 0.5
    rate: float = 100.0
    stop_grace: float = 15.0


@dataclass
class LoaderStats:
    """What this run did (rows), for progress and the summary."""

    created: int = 0
    updated: int = 0
    rejected: int = 0
    failed: int = 0
    reconciled_found: int = 0
    reconciled_missing: int = 0
    ambiguous: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def outcome_for_error(row: ClaimedRow, exc: LeadGeniusError, *, max_attempts: int) -> Outcome:
    """Decide a row's next status from the error its create POST raised (pure).

    Args:
        row: the claimed row (its ``attempts`` include this one).
        exc: what :meth:`LeadGeniusClient.create_lead` raised.
        max_attempts: attempts before a row that never left is ``failed``.
    """
    if isinstance(exc, RejectedError):
        message = exc.server_message or str(exc)
        return Outcome.rejected(row.row_no, exc.error_type or "server_rejected", message)
    if isinstance(exc, AmbiguousWriteError | ConflictError):
        return Outcome.unknown(row.row_no, str(exc))
    if isinstance(exc, TransportError) and exc.sent:
        return Outcome.unknown(row.row_no, str(exc))
    if isinstance(exc, TransportError | RateLimitedError | ServerError):
        if row.attempts >= max_attempts:
            return Outcome.failed(row.row_no, "gave_up", str(exc))
        return Outcome.pending(row.row_no, str(exc))
    raise exc  # auth, permission, client not found: the whole run must stop


def content_hash(payload: dict[str, Any]) -> str:
    """A stable hash of what a payload says about the lead (``id``/``client_id`` left out),
    kept in the ledger so an upsert can skip identities whose data did not change."""
    import hashlib

    import orjson

    body = {k: v for k, v in payload.items() if k not in ("id", "client_id")}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def default_concurrency(rate_per_minute: float, latency_s: float) -> int:
    """Requests in flight so latency doesn't cap throughput (Little's law, x2 headroom).

    >>> default_concurrency(1000, 0.15)
    6
    """
    if rate_per_minute <= 0:
        return 8
    return max(2, min(32, math.ceil(rate_per_minute / 60.0 * latency_s * 2) + 1))


class LeadLoader:
    """Sends a job's staged rows to LeadGenius exactly once.

    Args:
        api: the LeadGenius client (its limiter paces every request).
        store: the state store; ``job_id``/``lock``: the job this process holds.
        options: pacing and retry options.
        clock: for the consistency window and flush timing.
        stop: set on SIGINT/SIGTERM: stop claiming, finish in-flight requests, commit.
        progress: told about every committed batch.
    """

    def __init__(
        self,
        *,
        api: LeadGeniusClient,
        store: Store,
        job_id: int,
        lock: Lock,
        options: LoaderOptions,
        clock: Clock,
        stop: StopRequest,
        progress: Progress,
    ) -> None:
        self._api, self._store, self._job, self._lock = api, store, job_id, lock
        self._opt, self._clock, self._stop, self._progress = options, clock, stop, progress
        self._reconciler = Reconciler(
            api, options.client_id, max_attempts=options.max_attempts, concurrency=4
        )
        self.stats = LoaderStats()
        self._queue: deque[ClaimedRow] = deque()
        self._buffer: list[Outcome] = []
        self._last_flush = clock.monotonic()
        self._claim_lock = asyncio.Lock()
        self._fatal: BaseException | None = None
        self._failures_in_a_row = 0
        self._latency = 0.3  # seconds, smoothed; seeds the default concurrency
        self._final = 0
        self._total = 0

    async def run(self) -> LoaderStats:
        """Reconcile leftovers, send every pending row, reconcile ambiguous ones, repeat
        until no row is open (or a stop/fatal error). Commits everything before returning.

        Raises:
            LeadGeniusError: auth/permission/client-not-found: nothing more can be sent.
            LoaderStopped: the API kept failing.
        """
        self._refresh_counts()
        self._progress.start(self._total, "import", initial=self._final)
        try:
            await self._reconcile(("in_flight", "unknown"))
            fruitless = 0
            while not self._stop.requested and self._fatal is None:
                await self._send_pending()
                if self._stop.requested or self._fatal is not None:
                    break
                if not self._store.counts_by_status(self._job).get("unknown"):
                    break
                resolved = await self._reconcile(("unknown",))
                fruitless = 0 if resolved else fruitless + 1
                if fruitless >= MAX_FRUITLESS_RECONCILES:
                    break  # lookups keep failing: leave the rows unknown for the next run
        finally:
            self._flush()
            self._progress.finish()
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    # -- sending ---------------------------------------------------------------------------

    async def _send_pending(self) -> None:
        workers = self._opt.concurrency or default_concurrency(self._opt.rate, self._latency)
        tasks = [asyncio.create_task(self._worker()) for _ in range(workers)]
        all_done = asyncio.ensure_future(asyncio.gather(*tasks, return_exceptions=True))
        stopper = asyncio.create_task(self._stop.event.wait())
        waiters: list[asyncio.Future[Any]] = [all_done, stopper]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not all_done.done():  # a signal: in-flight requests get a grace period
            await asyncio.wait([all_done], timeout=self._opt.stop_grace)
            for task in tasks:  # still in_flight in the store: reconciled on the next start
                task.cancel()
        results = await all_done
        # Claimed but never sent (stop or fatal error): safe to send again.
        self._buffer.extend(Outcome.pending(r.row_no) for r in self._queue)
        self._queue.clear()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    async def _worker(self) -> None:
        while not self._stop.requested and self._fatal is None:
            batch = await self._next_rows()
            if not batch:
                return
            if len(batch) == 1 and not _is_update(batch[0]):
                outcome = await self._create(batch[0])
                self._record([outcome])
            else:
                self._record(await self._update(batch))

    async def _next_rows(self) -> list[ClaimedRow]:
        """One create row, or up to 50 update rows (they go out as one batch PUT)."""
        async with self._claim_lock:
            if not self._queue and not self._stop.requested:
                claimed = self._store.claim_rows(self._job, self._opt.claim_batch, lock=self._lock)
                self._queue.extend(claimed)
            if not self._queue:
                return []
            first = self._queue.popleft()
            if not _is_update(first):
                return [first]
            batch = [first]
            while self._queue and _is_update(self._queue[0]) and len(batch) < 50:
                batch.append(self._queue.popleft())
            return batch

    async def _create(self, row: ClaimedRow) -> Outcome:
        payload = dict(row.payload or {})
        payload["client_id"] = self._opt.client_id
        started = self._clock.monotonic()
        try:
            lead = await self._api.create_lead(payload)
        except LeadGeniusError as exc:
            try:
                outcome = outcome_for_error(row, exc, max_attempts=self._opt.max_attempts)
            except LeadGeniusError as fatal:
                self._fatal = fatal
                return Outcome.pending(row.row_no, "not sent: the run stopped")
            self._note_failure(outcome, exc)
            return outcome
        self._latency = 0.8 * self._latency + 0.2 * (self._clock.monotonic() - started)
        self._failures_in_a_row = 0
        self.stats.created += 1
        return Outcome.done(row.row_no, str(lead["id"]), content_hash=content_hash(payload))

    async def _update(self, rows: Sequence[ClaimedRow]) -> list[Outcome]:
        try:
            await self._api.update_leads([dict(r.payload or {}) for r in rows])
        except RejectedError as exc:
            if len(rows) == 1:
                self.stats.rejected += 1
                return [outcome_for_error(rows[0], exc, max_attempts=self._opt.max_attempts)]
            # Find the row the server refuses: one PUT each (idempotent, so safe).
            outcomes: list[Outcome] = []
            for row in rows:
                outcomes.extend(await self._update([row]))
            return outcomes
        except LeadGeniusError as exc:
            try:
                outcomes = [
                    outcome_for_error(r, exc, max_attempts=self._opt.max_attempts) for r in rows
                ]
            except LeadGeniusError as fatal:
                self._fatal = fatal
                return [Outcome.pending(r.row_no, "not sent: the run stopped") for r in rows]
            # A PUT is idempotent: "may have been applied" is as good as "not applied".
            outcomes = [
                Outcome.pending(o.row_no, o.message) if o.status == "unknown" else o
                for o in outcomes
            ]
            for outcome in outcomes:
                self._note_failure(outcome, exc)
            return outcomes
        self._failures_in_a_row = 0
        self.stats.updated += len(rows)
        return [
            Outcome.updated(
                r.row_no, str((r.payload or {})["id"]), content_hash=content_hash(r.payload or {})
            )
            for r in rows
        ]

    def _note_failure(self, outcome: Outcome, exc: LeadGeniusError) -> None:
        if outcome.status == "rejected":
            self.stats.rejected += 1
            return
        if outcome.status == "unknown":
            self.stats.ambiguous += 1
        if outcome.status == "failed":
            self.stats.failed += 1
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= MAX_CONSECUTIVE_FAILURES and self._fatal is None:
            self._fatal = LoaderStopped(
                f"LeadGenius failed {self._failures_in_a_row} requests in a row "
                f"(last: {exc}); the job is saved: re-run the same command to resume"
            )

    # -- reconciling -----------------------------------------------------------------------

    async def _reconcile(self, statuses: tuple[str, ...]) -> int:
        """Look up rows in ``statuses``; return how many were resolved (not ``unknown``)."""
        rows = self._store.rows_in_status(self._job, statuses)
        if not rows:
            return 0
        newest = max(r.updated_at for r in rows)
        wait = newest + self._opt.consistency_window - self._store_now()
        if wait > 0:
            await self._interruptible_sleep(wait)
        if self._stop.requested:
            return 0
        outcomes = await self._reconciler.reconcile(rows)
        for outcome in outcomes:
            if outcome.status == "done":
                self.stats.reconciled_found += 1
            elif outcome.status in ("pending", "failed"):
                self.stats.reconciled_missing += 1
                self.stats.failed += outcome.status == "failed"
        self._record(outcomes, force=True)
        return sum(o.status != "unknown" for o in outcomes)

    def _store_now(self) -> float:
        return self._clock.time()

    async def _interruptible_sleep(self, seconds: float) -> None:
        sleeper = asyncio.create_task(self._clock.sleep(seconds))
        stopper = asyncio.create_task(self._stop.event.wait())
        await asyncio.wait([sleeper, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, stopper):
            task.cancel()

    # -- committing ------------------------------------------------------------------------

    def _record(self, outcomes: Sequence[Outcome], *, force: bool = False) -> None:
        self._buffer.extend(outcomes)
        due = self._clock.monotonic() - self._last_flush >= self._opt.flush_interval
        if force or due or len(self._buffer) >= self._opt.claim_batch:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        outcomes, self._buffer = self._buffer, []
        self._store.record_outcomes(
            self._job, outcomes, client_id=self._opt.client_id, lock=self._lock
        )
        self._last_flush = self._clock.monotonic()
        self._final += sum(o.status not in ("pending", "unknown") for o in outcomes)
        stats = self._api.stats
        self._progress.update(
            self._final,
            {"429s": stats.throttled, "retries": stats.retries, "ambiguous": stats.ambiguous},
        )

    def _refresh_counts(self) -> None:
        counts = self._store.counts_by_status(self._job)
        self.stats.by_status = counts
        self._total = sum(counts.values())
        self._final = sum(n for s, n in counts.items() if s not in _OPEN)


_OPEN = frozenset({"pending", "in_flight", "unknown"})


def _is_update(row: ClaimedRow) -> bool:
    return bool(row.payload and row.payload.get("id"))
