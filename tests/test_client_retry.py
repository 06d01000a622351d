"""Retry rules: what is safe to repeat, and full-jitter exponential backoff with a cap."""

from __future__ import annotations

import pytest

from etl.client import AmbiguousWriteError, RateLimitedError, RejectedError, ServerError
from etl.client.errors import TransportError
from etl.client.retry import BACKOFF_CAP, full_jitter, is_retryable


def _transport(sent: bool) -> TransportError:
    return TransportError("x", kind="ConnectError", sent=sent)


@pytest.mark.parametrize(
    ("exc", "safe", "expected"),
    [
        (_transport(sent=False), False, True),
        (_transport(sent=False), True, True),
        (_transport(sent=True), True, True),
        (_transport(sent=True), False, False),
        (RateLimitedError("429", status=429), False, True),
        (RateLimitedError("429", status=429), True, True),
        (ServerError("503", status=503), True, True),
        (ServerError("503", status=503), False, False),
        (ServerError("501", status=501), True, False),
        (RejectedError("400", status=400), True, False),
        (AmbiguousWriteError("?", identity={}, kind="ReadTimeout"), False, False),
    ],
)
def test_retry_decision_follows_request_safety(
    exc: BaseException, safe: bool, expected: bool
) -> None:
    """Unsafe requests retry only failures that never reached the server, and 429s."""
    assert is_retryable(exc, safe=safe) is expected


def test_full_jitter_stays_between_zero_and_the_exponential_bound() -> None:
    """Wait n is uniform in [0, min(cap, base * 2^(n-1))]."""
    assert full_jitter(1, rand=lambda: 1.0) == 0.5
    assert full_jitter(3, rand=lambda: 1.0) == 2.0
    assert full_jitter(3, rand=lambda: 0.0) == 0.0
    assert full_jitter(30, rand=lambda: 1.0) == BACKOFF_CAP
