"""The loader's pure decisions: which error sends a row where, and the default concurrency."""

from __future__ import annotations

import pytest

from etl.client import (
    AmbiguousWriteError,
    AuthError,
    ConflictError,
    RateLimitedError,
    RejectedError,
    ServerError,
    TransportError,
)
from etl.sinks.leadgenius import default_concurrency, outcome_for_error
from etl.sinks.reconcile import name_identities
from state import ClaimedRow

ROW = ClaimedRow(row_no=7, identity="email:a@b.co", payload={"email": "a@b.co"}, attempts=1)


def test_server_refusal_rejects_the_row_with_the_server_message() -> None:
    """A 4xx (or the 500 "no data returned") caused by the data is final: never retried."""
    exc = RejectedError("refused", status=400, error_type="invalid_format", server_message="bad")
    outcome = outcome_for_error(ROW, exc, max_attempts=5)
    assert (outcome.status, outcome.reason, outcome.message) == (
        "rejected",
        "invalid_format",
        "bad",
    )


@pytest.mark.parametrize(
    "exc",
    [
        AmbiguousWriteError("lost", identity={}, kind="ReadTimeout"),
        ConflictError("exists", status=409),
        TransportError("reset", kind="ReadError", sent=True),
    ],
)
def test_a_failure_that_may_have_stored_the_lead_is_unknown(exc: Exception) -> None:
    """May have reached the server -> unknown: reconciled by lookup, never blindly re-sent."""
    assert outcome_for_error(ROW, exc, max_attempts=5).status == "unknown"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "exc",
    [
        TransportError("refused", kind="ConnectError", sent=False),
        RateLimitedError("429"),
        ServerError("503", status=503),
    ],
)
def test_a_failure_before_storing_goes_back_to_pending_then_fails(exc: Exception) -> None:
    """Never left / refused: safe to send again, until max_attempts, then failed."""
    assert outcome_for_error(ROW, exc, max_attempts=5).status == "pending"  # type: ignore[arg-type]
    last = ROW._replace(attempts=5)
    assert outcome_for_error(last, exc, max_attempts=5).status == "failed"  # type: ignore[arg-type]


def test_auth_errors_stop_the_whole_run() -> None:
    with pytest.raises(AuthError):
        outcome_for_error(ROW, AuthError("expired", status=401), max_attempts=5)


def test_default_concurrency_covers_rate_times_latency() -> None:
    """Little's law: 1,000/min at 150 ms needs 2.5 in flight; x2 headroom + 1."""
    assert default_concurrency(1000, 0.15) == 6
    assert default_concurrency(100, 0.15) == 2
    assert default_concurrency(0, 0.15) == 8
    assert default_concurrency(100_000, 2.0) == 32


def test_name_identities_match_the_staging_key() -> None:
    """Leads found by listing are keyed like staged rows without email or LinkedIn."""
    leads = [
        {"id": "L1", "firstName": "Ana María", "lastName": "O'Brien", "companyName": "Acme, Inc."},
        {"id": "L2", "firstName": "Bo", "lastName": "-", "companyName": "X"},
    ]
    assert name_identities(leads) == {"name:ana maría|o brien|acme inc": "L1"}
