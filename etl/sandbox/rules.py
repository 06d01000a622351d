"""How the sandbox server judges a lead payload: the contract's validation and bugs 3, 4, 6.

This is the *server's* behaviour, kept apart from the client's own sanitizing rules
(``schemas/lead.py``) on purpose: tests check that what the client emits passes here.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from etl.sandbox.fields import CLIENT_FIELDS, SERVER_FIELDS

#: The real server's opaque answer to anything its GraphQL layer rejects.
NO_DATA = "Failed to create lead - no data returned"

#: DynamoDB's item size limit: a bigger lead makes the server fail with NO_DATA.
MAX_ITEM_BYTES = 400 * 1024

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PUNCT_ONLY = re.compile(r"^[\W_]+$")


@dataclass(frozen=True)
class LeadProblem:
    """Why the server refuses a lead: the HTTP status and the error body fields."""

    status: int
    error: str
    error_type: str | None = None
    details: str | None = None


def check_lead(
    payload: Mapping[str, object], *, require_client_id: bool = True
) -> LeadProblem | None:
    """Return the server's refusal of one lead payload, or ``None`` if it would be stored.

    Args:
        payload: the JSON object sent as one lead (create or update).
        require_client_id: creates need ``client_id``; updates address the lead by ``id``.
    """
    if require_client_id and not payload.get("client_id"):
        return LeadProblem(400, "client_id is required", "missing_required_field", "client_id")
    size = 0
    for key, value in payload.items():
        if key in SERVER_FIELDS and key != "id":
            continue  # ignored, the server sets these
        if key not in CLIENT_FIELDS and key != "id":
            return LeadProblem(500, NO_DATA, None, f"unknown field {key!r}")  # bug 3 (phone)
        if value == "":
            return LeadProblem(500, NO_DATA, None, f"empty string in {key!r}")  # bug 4
        if value is not None and not isinstance(value, str | int | float | bool):
            return LeadProblem(400, f"{key} must be a scalar", "invalid_format", key)
        size += len(key) + len(str(value).encode("utf-8", "surrogatepass"))
    last = payload.get("lastName")
    if isinstance(last, str) and last != "-" and _PUNCT_ONLY.match(last):
        return LeadProblem(500, NO_DATA, None, "punctuation-only lastName")  # bug 6
    email = payload.get("email")
    if isinstance(email, str) and not _EMAIL.match(email):
        return LeadProblem(400, "email is not a valid address", "invalid_format", "email")
    if size > MAX_ITEM_BYTES:
        return LeadProblem(500, NO_DATA, None, "item larger than 400 KB")
    return None
