"""Paging through ``nextToken`` lists, and reading the bulk endpoints' varying bodies.

:func:`paginate` is a small strategy: give it a ``fetch_page(token) -> (items, next_token)``
coroutine and it yields pages until the server stops handing out tokens. It never looks at
``total`` (bug 7: that is the page size, not the count) and it raises
:class:`~etl.client.errors.PaginationLoopError` when a token comes back a second time, which
would otherwise page forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from etl.client.errors import PaginationLoopError, UnexpectedResponseError

T = TypeVar("T")

FetchPage = Callable[[str | None], Awaitable[tuple[list[T], str | None]]]


@dataclass
class BulkPage:
    """One page of a bulk list endpoint.

    Attributes:
        items: the records (dicts straight from the JSON).
        next_token: the cursor for the next page; ``None`` on the last page.
    """

    items: list[dict[str, Any]] = field(default_factory=list)
    next_token: str | None = None


@dataclass(frozen=True)
class RawBulkPage:
    """One page of a bulk list endpoint as the server sent it (``bulk_page(raw=True)``).

    For readers that build columns straight from the bytes (the export); anything they
    cannot read goes through :meth:`parse`, the general path.

    Attributes:
        content: the response body.
    """

    content: bytes

    def parse(self) -> BulkPage:
        """The page as :func:`parse_bulk_page` reads it (every documented shape)."""
        return parse_bulk_page(self.content)


async def paginate(
    fetch_page: FetchPage[T], *, start_token: str | None = None
) -> AsyncIterator[list[T]]:
    """Yield every page from ``fetch_page`` until it returns no next token.

    Args:
        fetch_page: fetches the page at a token (``None`` = first page) and returns its
            items and the next token.
        start_token: resume from this token (a checkpointed cursor) instead of the start.

    Yields:
        Each page's items (possibly empty: a page may be empty yet have a successor).

    Raises:
        PaginationLoopError: the server returned a token it had already returned.
    """
    seen: set[str] = set()
    token = start_token
    if token:
        seen.add(token)
    pages = 0
    while True:
        items, next_token = await fetch_page(token)
        pages += 1
        yield items
        if not next_token:
            return
        if next_token in seen:
            raise PaginationLoopError(
                f"the server returned the same nextToken twice (after page {pages}): paging "
                "would never end; run again later, or report it to LeadGenius support"
            )
        seen.add(next_token)
        token = next_token


def _token(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def parse_page(doc: Any, *, keys: tuple[str, ...] = ("items", "leads")) -> BulkPage:
    """Read a list page from a parsed body, tolerating the documented shapes.

    Accepted: the list under ``items`` or ``leads`` (or another of ``keys``), or under
    ``data.items`` / ``data.leads``; ``nextToken`` at the top level or under ``data``.

    Raises:
        UnexpectedResponseError: no list found.
    """
    if not isinstance(doc, dict):
        raise UnexpectedResponseError("a list response is not a JSON object")
    data = doc.get("data")
    containers = [doc, data] if isinstance(data, dict) else [doc]
    items: Any = None
    for container in containers:
        for key in keys:
            if isinstance(container.get(key), list):
                items = container[key]
                break
        if items is not None:
            break
    if items is None and isinstance(data, list):
        items = data
    if items is None:
        raise UnexpectedResponseError(
            f"a list response has none of {', '.join(keys)} (keys: {', '.join(sorted(doc))[:200]})"
        )
    token = doc.get("nextToken")
    if token is None and isinstance(data, dict):
        token = data.get("nextToken")
    return BulkPage(items=items, next_token=_token(token))


def parse_bulk_page(content: bytes) -> BulkPage:
    """Parse a bulk list response body (bytes, with orjson: the export's hot path)."""
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UnexpectedResponseError(
            "a list response is not JSON; check --base-url points at the LeadGenius API"
        ) from None
    return parse_page(doc)
