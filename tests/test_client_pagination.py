"""Paging follows nextToken, detects loops, and reads every documented body shape."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from etl.client import PaginationLoopError, paginate, parse_bulk_page, parse_page
from etl.client.errors import UnexpectedResponseError


def _collect(fetch, **kw) -> list[list[int]]:
    async def go() -> list[list[int]]:
        return [page async for page in paginate(fetch, **kw)]

    return asyncio.run(go())


def test_pages_are_followed_until_no_next_token() -> None:
    """Three pages chained by tokens, including an empty middle page, all come out."""
    book = {None: ([1, 2], "a"), "a": ([], "b"), "b": ([3], None)}

    async def fetch(token):
        return book[token]

    assert _collect(fetch) == [[1, 2], [], [3]]


def test_a_repeated_next_token_raises_instead_of_looping_forever() -> None:
    """A server that hands back an earlier token is stopped with a clear error."""
    book = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}

    async def fetch(token):
        return book[token]

    with pytest.raises(PaginationLoopError, match="same nextToken twice"):
        _collect(fetch)


def test_paging_resumes_from_a_checkpointed_token() -> None:
    """start_token skips the pages already read."""
    book = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], None)}

    async def fetch(token):
        return book[token]

    assert _collect(fetch, start_token="a") == [[2], [3]]


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "items": [{"id": "1"}], "count": 1, "nextToken": "t"},
        {"success": True, "leads": [{"id": "1"}], "total": 1, "nextToken": "t"},
        {"success": True, "data": {"items": [{"id": "1"}], "nextToken": "t"}},
        {"success": True, "data": {"items": [{"id": "1"}]}, "nextToken": "t"},
    ],
)
def test_bulk_page_accepts_every_documented_shape(body: dict) -> None:
    """items / leads / data.items, nextToken at the top or under data."""
    page = parse_bulk_page(orjson.dumps(body))
    assert page.items == [{"id": "1"}]
    assert page.next_token == "t"


def test_total_is_ignored_and_an_empty_token_ends_paging() -> None:
    """Bug 7: total is not used; "" and null both mean last page."""
    assert parse_page({"leads": [], "total": 1000, "nextToken": ""}).next_token is None
    assert parse_page({"leads": [], "nextToken": None}).next_token is None


def test_a_body_without_a_list_is_an_unexpected_response() -> None:
    """A 200 whose body has no list is reported, not treated as an empty page."""
    with pytest.raises(UnexpectedResponseError):
        parse_bulk_page(b'{"success": true, "message": "ok"}')
    with pytest.raises(UnexpectedResponseError):
        parse_bulk_page(b"<html>login</html>")
