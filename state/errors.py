"""Errors raised by the state store.

Every class subclasses :class:`etl.errors.EtlError`, so the CLI prints the message as one
line and exits with ``exit_code``::

    EtlError
    +-- StateError                 exit 1: a state-store operation failed
        +-- StateUnavailable       exit 2: the store cannot be opened (bad URL, no server)
        +-- SchemaTooNew           exit 2: the store was written by a newer lgetl
        +-- JobNotFound            exit 2: no job with that id
        +-- SourceChanged          exit 2: same target, different source, no --restart
        +-- InvalidRequeue         exit 2: asked to re-queue rows that must not be re-sent
        +-- JobLocked              exit 1: another live process runs the job
        +-- LockLost               exit 1: our lock was taken over; stop writing

Messages never contain passwords: URLs are masked with :func:`state.url.mask_url`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from etl.errors import EtlError


class StateError(EtlError):
    """A state-store operation failed; the job is resumable once the cause is fixed."""


class StateUnavailable(StateError):
    """The store cannot be opened: wrong ``--state`` / ``LGETL_STATE`` or server down."""

    exit_code = 2


class SchemaTooNew(StateError):
    """The store's schema version is newer than this code understands."""

    exit_code = 2

    def __init__(self, *, found: int, known: int, url: str) -> None:
        super().__init__(
            f"state store {url} has schema version {found} but this lgetl knows only up to "
            f"{known}; upgrade lgetl, or point --state at another store"
        )
        self.found = found
        self.known = known


class JobNotFound(StateError):
    """No job has the requested id."""

    exit_code = 2

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no job {job_id} in the state store; `lgetl jobs list` shows the jobs")
        self.job_id = job_id


class SourceChanged(StateError):
    """An unfinished job for the same kind and target was started from another source."""

    exit_code = 2

    def __init__(self, *, job_id: int, kind: str, target: str, fingerprint: str) -> None:
        super().__init__(
            f"job {job_id} ({kind} into {target}) is unfinished and was started from a "
            f"different source (fingerprint {fingerprint[:12]}); re-run with the original "
            "source to resume it, or pass --restart to abandon it and start over"
        )
        self.job_id = job_id


class InvalidRequeue(StateError):
    """Re-queuing rows in this status could send a lead twice, or is meaningless."""

    exit_code = 2


def format_utc(epoch: float) -> str:
    """Render epoch seconds as ``2026-11-28 11:02:03 UTC``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class JobLocked(StateError):
    """Another live process holds the job's lock."""

    def __init__(self, *, job_id: int, pid: int, host: str, since: float) -> None:
        super().__init__(
            f"job {job_id} is running (pid {pid} on {host} since {format_utc(since)}); "
            "wait for it or stop it"
        )
        self.job_id = job_id
        self.pid = pid
        self.host = host
        self.since = since


class LockLost(StateError):
    """Another process took the job's lock over (our heartbeat went stale)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            f"job {job_id}: another process took over this job's lock (our heartbeat was "
            "stale); this run stopped writing; re-run to resume once the other run ends"
        )
        self.job_id = job_id
