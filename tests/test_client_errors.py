"""One function maps status + errorType to the error hierarchy; messages say what to do."""

from __future__ import annotations

import pytest

from etl.client import (
    AuthError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedError,
    ServerError,
    error_for_status,
)
from etl.client.errors import NO_DATA_MESSAGE
from etl.errors import EtlError


@pytest.mark.parametrize(
    ("status", "error_type", "expected", "exit_code"),
    [
        (401, "token_expired", AuthError, 2),
        (401, "no_valid_credentials", AuthError, 2),
        (403, "owner_mismatch", PermissionDeniedError, 2),
        (400, "missing_required_field", RejectedError, 2),
        (422, "invalid_value", RejectedError, 2),
        (404, "not_found", NotFoundError, 2),
        (409, "already_exists", ConflictError, 2),
        (429, "rate_limited", RateLimitedError, 1),
        (500, None, ServerError, 1),
        (502, None, ServerError, 1),
        (503, None, ServerError, 1),
        (504, None, ServerError, 1),
    ],
)
def test_each_status_maps_to_its_error_class_and_exit_code(
    status: int, error_type: str | None, expected: type[Exception], exit_code: int
) -> None:
    """Status codes land in the documented class, which is an EtlError with its exit code."""
    err = error_for_status(status, error_type, {"error": "boom"}, method="GET", path="/api/x")
    assert type(err) is expected
    assert isinstance(err, EtlError)
    assert err.exit_code == exit_code
    assert err.status == status
    assert err.error_type == error_type


def test_no_data_500_is_a_rejection_of_the_data_not_a_server_fault() -> None:
    """Bugs 3/4/6: 500 "Failed to create lead - no data returned" is the data's fault."""
    err = error_for_status(500, None, {"error": NO_DATA_MESSAGE}, method="POST", path="/api/leads")
    assert isinstance(err, RejectedError)
    assert "phoneNumber" in str(err)


def test_a_plain_500_is_a_server_error() -> None:
    """Any other 500 body is a server fault (retryable when safe)."""
    err = error_for_status(500, None, {"error": "Internal server error"})
    assert isinstance(err, ServerError)


def test_auth_error_tells_how_to_log_in() -> None:
    """The 401 message names the command and variables that fix it."""
    err = error_for_status(401, "token_expired", {"error": "Access token expired"})
    assert "lgetl auth login" in str(err)
    assert "LEADGENIUS_API_KEY" in str(err)


def test_server_text_is_kept_but_secrets_in_it_are_masked() -> None:
    """An error body that echoes a token or key does not carry it into the message."""
    body = {
        "error": "bad header Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "details": "x-api-key lgp_0123456789abcdef0123",
    }
    err = error_for_status(400, "invalid_format", body)
    text = str(err)
    assert "bad header" in text
    assert "eyJzdWIiOiJ4In0" not in text
    assert "lgp_0123456789abcdef0123" not in text


def test_a_missing_or_non_json_body_still_gives_a_useful_message() -> None:
    """No body: the message still names the request and status."""
    err = error_for_status(502, None, None, method="PUT", path="/api/leads")
    assert "PUT /api/leads" in str(err)
    assert "502" in str(err)
