"""Jobs (identity, resume, restart, status, counters) and runs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Row, Select, select, update
from sqlalchemy.exc import IntegrityError

from state.errors import JobNotFound, SourceChanged
from state.lock import LockMixin, lock_info
from state.models import JOB_STATUSES, jobs, runs
from state.records import Job, Json, Run

_JOB_COLUMNS = (
    jobs.c.id,
    jobs.c.kind,
    jobs.c.fingerprint,
    jobs.c.target,
    jobs.c.options,
    jobs.c.status,
    jobs.c.counters,
    jobs.c.created_at,
    jobs.c.updated_at,
    jobs.c.superseded_by,
    jobs.c.lock_pid,
    jobs.c.lock_host,
    jobs.c.lock_token,
    jobs.c.lock_since,
    jobs.c.lock_heartbeat,
)


def _job(row: Row[Any]) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        kind=m["kind"],
        fingerprint=m["fingerprint"],
        target=m["target"],
        options=m["options"],
        status=m["status"],
        counters=m["counters"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        superseded_by=m["superseded_by"],
        lock=lock_info(m),
    )


def _select_jobs() -> Select[Any]:
    return select(*_JOB_COLUMNS)


def _check_status(status: str) -> None:
    if status not in JOB_STATUSES:
        raise ValueError(f"job status {status!r} is not one of {JOB_STATUSES}")


def add_counters(base: Mapping[str, Any], extra: Mapping[str, Any]) -> Json:
    """Numbers are summed, anything else replaced: ``{"a": 1} + {"a": 2, "b": "x"}``."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and isinstance(old, int | float) and not isinstance(old, bool):
            merged[key] = old + value
        else:
            merged[key] = value
    return merged


class JobsMixin(LockMixin):
    """Find, create, restart and describe jobs; record runs."""

    def find_or_create_job(
        self, kind: str, fingerprint: str, target: str, options: Mapping[str, Any]
    ) -> Job:
        """Return the live job for (kind, fingerprint, target), creating it if none.

        The same identity always gives the same job, unfinished or complete, until
        :meth:`restart_job` supersedes it. ``options`` are stored on creation only: put
        anything that changes what the job does into ``fingerprint``.

        Args:
            kind: ``"csv_import"``, ``"hubspot_import"``, ``"export"``...
            fingerprint: identifies the source (e.g. a hash of the file's bytes).
            target: the client slug, or the export target.
            options: JSON-able options, shown by ``jobs show``.
        """
        for _attempt in range(3):
            try:
                with self._write() as conn:
                    found = self._live_job(conn, kind, fingerprint, target)
                    if found is not None:
                        return found
                    return self._insert_job(conn, kind, fingerprint, target, options)
            except IntegrityError:
                # PostgreSQL: another process inserted the same identity first; read it.
                continue
        raise RuntimeError("find_or_create_job: lost the insert race three times")

    def open_job(
        self,
        kind: str,
        fingerprint: str,
        target: str,
        options: Mapping[str, Any],
        *,
        restart: bool = False,
    ) -> Job:
        """The resume rule in one call: resume, refuse a changed source, or restart.

        Args:
            kind: the job kind.
            fingerprint: the source fingerprint.
            target: the client slug or export target.
            options: JSON-able options (stored on creation).
            restart: supersede unfinished jobs for this kind and target (``--restart``).

        Raises:
            SourceChanged: an unfinished job for this kind and target has another
                fingerprint and ``restart`` is False (exit code 2).
            JobLocked: with ``restart``, a job to supersede is running.
        """
        if restart:
            return self.restart_job(kind, fingerprint, target, options)
        other = self.find_job(kind, target, unfinished=True)
        if other is not None and other.fingerprint != fingerprint:
            raise SourceChanged(
                job_id=other.id, kind=kind, target=target, fingerprint=other.fingerprint
            )
        return self.find_or_create_job(kind, fingerprint, target, options)

    def find_job(
        self,
        kind: str,
        target: str,
        *,
        fingerprint: str | None = None,
        unfinished: bool = False,
    ) -> Job | None:
        """The most recent live (not superseded) job for ``kind`` and ``target``.

        Args:
            kind: the job kind.
            target: the client slug or export target.
            fingerprint: only a job with this fingerprint.
            unfinished: only a job that is not complete.
        """
        query = _select_jobs().where(
            jobs.c.kind == kind, jobs.c.target == target, jobs.c.active == 1
        )
        if fingerprint is not None:
            query = query.where(jobs.c.fingerprint == fingerprint)
        if unfinished:
            query = query.where(jobs.c.status != "complete")
        with self._read() as conn:
            row = conn.execute(query.order_by(jobs.c.id.desc()).limit(1)).one_or_none()
        return None if row is None else _job(row)

    def restart_job(
        self, kind: str, fingerprint: str, target: str, options: Mapping[str, Any]
    ) -> Job:
        """Supersede the unfinished jobs for ``kind`` + ``target`` (and any live job with
        this exact identity) and create a fresh job.

        Rows of a superseded job that are ``in_flight`` or ``unknown`` may exist in the API:
        reconcile them first (their ``done`` rows are in the ledger already).

        Raises:
            JobLocked: one of the jobs to supersede is held by a live process.
        """
        with self._write() as conn:
            old = conn.execute(
                _select_jobs()
                .where(jobs.c.kind == kind, jobs.c.target == target, jobs.c.active == 1)
                .where((jobs.c.status != "complete") | (jobs.c.fingerprint == fingerprint))
                .with_for_update()
            ).all()
            for row in old:
                self.check_not_locked(row._mapping["id"], lock_info(row._mapping), host=self.host)
            old_ids = [row._mapping["id"] for row in old]
            now = self._now()
            if old_ids:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id.in_(old_ids))
                    .values(active=None, status="superseded", updated_at=now)
                )
            new = self._insert_job(conn, kind, fingerprint, target, options)
            if old_ids:
                conn.execute(
                    update(jobs).where(jobs.c.id.in_(old_ids)).values(superseded_by=new.id)
                )
            return new

    def get_job(self, job_id: int) -> Job:
        """The job with this id.

        Raises:
            JobNotFound: no such job (exit code 2).
        """
        with self._read() as conn:
            row = conn.execute(_select_jobs().where(jobs.c.id == job_id)).one_or_none()
        if row is None:
            raise JobNotFound(job_id)
        return _job(row)

    def list_jobs(
        self,
        *,
        kind: str | None = None,
        target: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs, newest first, optionally filtered."""
        query = _select_jobs()
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if target is not None:
            query = query.where(jobs.c.target == target)
        if statuses is not None:
            query = query.where(jobs.c.status.in_(list(statuses)))
        query = query.order_by(jobs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_job(row) for row in conn.execute(query)]

    def set_job_status(self, job_id: int, status: str) -> None:
        """Set the job's status (``running``, ``incomplete``, ``complete``, ``superseded``)."""
        _check_status(status)
        with self._write() as conn:
            self._update_job(conn, job_id, status=status, updated_at=self._now())

    def update_job_counters(
        self, job_id: int, counters: Mapping[str, Any], *, add: bool = False
    ) -> Json:
        """Merge ``counters`` into the job's counters and return the result.

        Args:
            job_id: the job.
            counters: JSON-able values.
            add: sum numeric values into the stored ones instead of replacing them.
        """
        with self._write() as conn:
            current = self._job_counters(conn, job_id)
            merged = add_counters(current, counters) if add else {**current, **counters}
            self._update_job(conn, job_id, counters=merged, updated_at=self._now())
        return merged

    def start_run(self, job_id: int, *, pid: int | None = None, host: str | None = None) -> Run:
        """Record that a run of the job starts now; the job becomes ``running``.

        Runs of this job left open by a crash are closed with outcome ``crashed``. Call it
        after :meth:`acquire_lock`.
        """
        now = self._now()
        pid = os.getpid() if pid is None else pid
        host = self.host if host is None else host
        with self._write() as conn:
            self._update_job(conn, job_id, status="running", updated_at=now)
            conn.execute(
                update(runs)
                .where(runs.c.job_id == job_id, runs.c.ended_at.is_(None))
                .where(runs.c.outcome.is_(None))
                .values(outcome="crashed")
            )
            run_id = conn.execute(
                runs.insert()
                .values(job_id=job_id, started_at=now, pid=pid, host=host, counters={})
                .returning(runs.c.id)
            ).scalar_one()
        return Run(run_id, job_id, now, None, None, pid, host, {})

    def finish_run(
        self, run_id: int, outcome: str, counters: Mapping[str, Any] | None = None
    ) -> None:
        """Close a run; the job becomes ``complete`` if ``outcome == "complete"``, else
        ``incomplete``. Numeric ``counters`` are also added to the job's counters.

        Args:
            run_id: from :meth:`start_run`.
            outcome: ``complete``, ``incomplete``, ``interrupted``, ``failed``...
            counters: this run's figures (requests, created, 429s, seconds...).
        """
        values = dict(counters or {})
        now = self._now()
        with self._write() as conn:
            job_id = conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(ended_at=now, outcome=outcome, counters=values)
                .returning(runs.c.job_id)
            ).scalar_one()
            merged = add_counters(self._job_counters(conn, job_id), values)
            status = "complete" if outcome == "complete" else "incomplete"
            self._update_job(conn, job_id, status=status, counters=merged, updated_at=now)

    def list_runs(self, job_id: int) -> list[Run]:
        """The job's runs, oldest first."""
        query = select(
            runs.c.id,
            runs.c.job_id,
            runs.c.started_at,
            runs.c.ended_at,
            runs.c.outcome,
            runs.c.pid,
            runs.c.host,
            runs.c.counters,
        ).where(runs.c.job_id == job_id)
        with self._read() as conn:
            return [Run(*row) for row in conn.execute(query.order_by(runs.c.id))]

    def _live_job(self, conn: Connection, kind: str, fingerprint: str, target: str) -> Job | None:
        row = conn.execute(
            _select_jobs().where(
                jobs.c.kind == kind,
                jobs.c.fingerprint == fingerprint,
                jobs.c.target == target,
                jobs.c.active == 1,
            )
        ).one_or_none()
        return None if row is None else _job(row)

    def _insert_job(
        self,
        conn: Connection,
        kind: str,
        fingerprint: str,
        target: str,
        options: Mapping[str, Any],
    ) -> Job:
        now = self._now()
        values: Json = {
            "kind": kind,
            "fingerprint": fingerprint,
            "target": target,
            "options": dict(options),
            "status": "incomplete",
            "counters": {},
            "active": 1,
            "created_at": now,
            "updated_at": now,
        }
        job_id = conn.execute(jobs.insert().values(**values).returning(jobs.c.id)).scalar_one()
        return Job(
            id=job_id,
            kind=kind,
            fingerprint=fingerprint,
            target=target,
            options=values["options"],
            status="incomplete",
            counters={},
            created_at=now,
            updated_at=now,
        )

    def _job_counters(self, conn: Connection, job_id: int) -> Json:
        found = conn.execute(
            select(jobs.c.counters).where(jobs.c.id == job_id).with_for_update()
        ).one_or_none()
        if found is None:
            raise JobNotFound(job_id)
        return dict(found[0])

    def _update_job(self, conn: Connection, job_id: int, **values: Any) -> None:
        result = conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
        if result.rowcount != 1:
            raise JobNotFound(job_id)
