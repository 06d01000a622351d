"""Associations and the primary-company rule (pure functions, then the v4 reader)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from etl.clock import FakeClock
from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_companies import (
    CompanyCache,
    candidates,
    choose_company,
    embedded_links,
    read_associations,
)
from etl.sources.hubspot_settings import HubSpotSettings
from tests.fixtures.hubspot_source import run


def test_labelled_and_unlabelled_entries_of_one_company_merge_into_one_primary_link() -> None:
    """The primary company is listed twice (``contact_to_company`` + ``..._unlabeled``):
    one link, marked primary; a cut list returns its paging token."""
    contact = {
        "id": "1",
        "associations": {
            "companies": {
                "results": [
                    {"id": "30", "type": "contact_to_company_unlabeled"},
                    {"id": "20", "type": "contact_to_company"},
                    {"id": "20", "type": "contact_to_company_unlabeled"},
                ],
                "paging": {"next": {"after": "Mg=="}},
            }
        },
    }
    links, after = embedded_links(contact)
    assert links == {"30": False, "20": True}
    assert after == "Mg=="
    assert embedded_links({"id": "2"}) == ({}, None)


def test_primary_wins_else_the_lowest_readable_id_else_none() -> None:
    """Rule: the Primary company if readable; else the lowest readable id; else none."""
    links = {"900": False, "100": False, "500": True}
    assert candidates(links) == ["500", "100", "900"]
    assert choose_company(links, {"100": 1, "500": 1, "900": 1}) == "500"
    assert choose_company(links, {"100": 1, "900": 1}) == "100"  # primary archived
    assert choose_company({"900": False, "80": False}, {"900": 1, "80": 1}) == "80"  # by value
    assert choose_company(links, {}) is None
    assert choose_company({}, {"1": 1}) is None


def _client(handler: Any) -> HubSpotClient:
    settings = HubSpotSettings(token="pat-na1-test", base_url="https://api.hubapi.com")
    return HubSpotClient(settings, clock=FakeClock(), transport=httpx.MockTransport(handler))


def test_v4_reads_follow_each_contacts_paging_and_take_typeid_1_as_primary() -> None:
    """The v4 batch read is followed per input until its paging ends; ``toObjectId`` may
    be a number or a string; typeId 1 (HUBSPOT_DEFINED) marks the primary company."""
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        sent.append(body["inputs"])
        unlabelled = [{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}]
        primary = [*unlabelled, {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}]
        if body["inputs"] == [{"id": "7", "after": "cut"}, {"id": "8"}]:
            results = [
                {"from": {"id": "7"}, "to": [{"toObjectId": 11, "associationTypes": unlabelled}],
                 "paging": {"next": {"after": "p2"}}},
                {"from": {"id": "8"}, "to": [{"toObjectId": "12", "associationTypes": primary}]},
            ]  # fmt: skip
        else:
            assert body["inputs"] == [{"id": "7", "after": "p2"}]
            results = [
                {"from": {"id": "7"}, "to": [{"toObjectId": "13", "associationTypes": primary}]}
            ]
        return httpx.Response(200, json={"status": "COMPLETE", "results": results})

    async def go() -> Any:
        async with _client(handler) as client:
            return await read_associations(client, {"7": "cut", "8": None})

    assert run(go()) == {"7": {"11": False, "13": True}, "8": {"12": True}}
    assert len(sent) == 2


def test_the_cache_reads_each_company_once_and_records_207_gaps() -> None:
    """Ids come back sorted, not in input order; ids not returned (207) are missing and
    are not asked again."""
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = [i["id"] for i in orjson.loads(request.content)["inputs"]]
        asked.append(ids)
        found = sorted(i for i in ids if i != "3")
        results = [{"id": i, "properties": {"name": f"Co {i}", "domain": None}} for i in found]
        status = 207 if "3" in ids else 200
        return httpx.Response(status, json={"status": "COMPLETE", "results": results})

    cache = CompanyCache()

    async def go() -> Any:
        async with _client(handler) as client:
            first = await cache.resolve(client, {"a": {"3": True, "2": False}, "b": {"1": False}})
            second = await cache.resolve(client, {"c": {"3": True, "1": False}})
            return first, second

    (chosen_ab, missing_ab), (chosen_c, missing_c) = run(go())
    assert chosen_ab == {"a": "2", "b": "1"} and missing_ab == ["3"]
    assert chosen_c == {"c": "1"} and missing_c == []
    assert asked == [["1", "3"], ["2"]]  # round one: first candidates; then the fallback
    assert cache.companies["2"]["name"] == "Co 2" and cache.missing == {"3"}
