"""Resolving a client reference to its slug (the invisible-leads guard, bug 1).

A LeadGenius client has a UUID ``id`` (only for updating/deleting the client record) and a
slug ``client_id`` (for *every* lead operation). A lead posted under the UUID is stored
but never listed, so every command accepts a slug, a UUID or an exact name and always
works with the slug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from etl.client.errors import ClientNotFoundError

MatchedBy = Literal["slug", "id", "name"]


@dataclass(frozen=True)
class ClientRef:
    """A resolved client.

    Attributes:
        slug: the ``client_id`` used by every lead operation.
        id: the UUID of the client record.
        name: the display name (``clientName``).
        matched_by: which field the reference matched.
    """

    slug: str
    id: str
    name: str
    matched_by: MatchedBy = "slug"


def _ref(client: Mapping[str, Any], matched_by: MatchedBy) -> ClientRef:
    return ClientRef(
        slug=str(client.get("client_id") or ""),
        id=str(client.get("id") or ""),
        name=str(client.get("clientName") or client.get("name") or ""),
        matched_by=matched_by,
    )


def match_client(ref: str, clients: Iterable[Mapping[str, Any]]) -> ClientRef:
    """Find the client ``ref`` designates: by slug, then UUID ``id``, then exact name.

    A name matches exactly first; failing that, case-insensitively if only one client
    matches that way.

    Args:
        ref: a slug, a client UUID or a client name.
        clients: the account's clients as returned by ``GET /api/clients``.

    Raises:
        ClientNotFoundError: nothing matched, or a name matched several clients; the
            message lists close matches.
    """
    ref = ref.strip()
    listed = [c for c in clients if c.get("client_id")]
    for field, how in (("client_id", "slug"), ("id", "id"), ("clientName", "name")):
        for client in listed:
            if str(client.get(field) or "") == ref:
                return _ref(client, how)  # type: ignore[arg-type]
    folded = [c for c in listed if str(c.get("clientName") or "").casefold() == ref.casefold()]
    if len(folded) == 1:
        return _ref(folded[0], "name")
    if len(folded) > 1:
        slugs = ", ".join(str(c["client_id"]) for c in folded)
        raise ClientNotFoundError(
            f"client name {ref!r} matches several clients ({slugs}): pass the slug instead",
            suggestions=[str(c["client_id"]) for c in folded],
        )
    names = [str(c["client_id"]) for c in listed] + [
        str(c.get("clientName")) for c in listed if c.get("clientName")
    ]
    close = difflib.get_close_matches(ref, names, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ClientNotFoundError(
        f"no client matches {ref!r} (by slug, id or name).{hint} "
        "List them with `lgetl clients list`, or create it with `lgetl clients create`.",
        suggestions=close,
    )
