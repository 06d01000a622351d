"""``lgetl import hubspot`` end to end, against ONE sandbox server serving LeadGenius and
(under ``/hubspot``) HubSpot, over real HTTP: a full import of 5,000 contacts lands every
contact with an email exactly once with its associated company and phone; ``--incremental``
then writes exactly what changed in HubSpot and nothing when nothing changed; an
incremental window past search's 10,000-result cap is read completely; HubSpot's default
limits are respected; the CLI refuses a missing token cleanly.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli.app import app
from etl.client import LeadGeniusClient, resolve_settings
from etl.clock import SystemClock
from etl.progress import NoProgress
from etl.sandbox.hubspot import GENERIC_MAIL_DOMAINS
from etl.signals import StopRequest
from etl.sources.hubspot import portal_key
from etl.sources.hubspot_client import HubSpotClient
from etl.sources.hubspot_settings import hubspot_settings
from pipelines.csv_import import ImportOptions, OnExisting
from pipelines.hubspot_import import HubSpotImportOptions, run_hubspot_import
from state import open_store
from tests.fixtures.hubspot_import import ImportStack, serve_import_stack


def hubspot_of(stack: ImportStack) -> HubSpotClient:
    """A HubSpot client with the production defaults, or unthrottled when the server's
    limits are off."""
    config = stack.hubspot.state.config
    limits: dict[str, Any] = {}
    if not config.rate_limit_per_10s:
        limits["rate_per_10s"] = 10_000
    if not config.search_rate_per_s:
        limits["search_per_second"] = 1_000
    settings = hubspot_settings(
        base_url=stack.hubspot.base_url,
        environ={"HUBSPOT_ACCESS_TOKEN": stack.hubspot.token},
        **limits,
    )
    return HubSpotClient(settings, clock=SystemClock())


class StopAfterPages(NoProgress):
    """Requests a stop once the extraction reports ``pages`` staged pages."""

    def __init__(self, stop: StopRequest, pages: int) -> None:
        self._stop, self._pages = stop, pages

    def update(self, done: int, stats: Mapping[str, int] | None = None) -> None:
        if (stats or {}).get("pages", 0) >= self._pages:
            self._stop.request(signal.SIGTERM)


def import_hubspot(
    stack: ImportStack,
    state_url: str,
    slug: str,
    *,
    incremental: bool = False,
    on_existing: OnExisting | None = None,
    rejects: Path | None = None,
    stop_after_pages: int | None = None,
) -> dict[str, Any]:
    """One run of the pipeline, wired like the CLI (no signals, no progress output);
    ``stop_after_pages`` asks it to stop (as SIGTERM would) once that many are staged."""
    lg = stack.leadgenius
    settings = resolve_settings(
        base_url=lg.base_url, api_key=lg.demo.api_key, user_id=lg.demo.user_id, rate=0, env={}
    )
    rule: OnExisting = on_existing or ("update" if incremental else "skip")
    options = ImportOptions(client_ref=slug, on_existing=rule, consistency_window=0.2)

    async def main() -> dict[str, Any]:
        stop = StopRequest()
        progress = StopAfterPages(stop, stop_after_pages) if stop_after_pages else NoProgress()
        with open_store(state_url) as store:
            async with LeadGeniusClient(settings) as api, hubspot_of(stack) as hubspot:
                return await run_hubspot_import(
                    options,
                    HubSpotImportOptions(incremental=incremental),
                    hubspot=hubspot,
                    api=api,
                    store=store,
                    clock=SystemClock(),
                    progress=progress,
                    stop=stop,
                    rejects_path=rejects,
                )

    return asyncio.run(main())


def expected(stack: ImportStack) -> dict[str, int]:
    """What a correct importer reaches, according to the HubSpot sandbox."""
    return dict(stack.hubspot.admin("GET", "/contacts")["expected_import"])


def leads_by_contact(stack: ImportStack, slug: str) -> dict[int, dict[str, Any]]:
    return {int(lead["hubspotId"]): lead for lead in stack.leadgenius.admin.leads(slug)}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """5,000 contacts (limits off) fully imported once; the incremental test then changes
    50 of them (it only changes job titles, which no other test here looks at)."""
    with serve_import_stack(contacts=5000, seed=11) as stack:
        state = f"sqlite:///{tmp_path_factory.mktemp('hubspot')}/state.sqlite"
        slug = stack.create_client("HubSpot Sync")
        summary = import_hubspot(stack, state, slug)
        yield {"stack": stack, "state": state, "slug": slug, "summary": summary}


def test_full_import_stores_every_contact_with_an_email_exactly_once(
    portal: dict[str, Any],
) -> None:
    """Each live contact with an email is one lead, the rest rejected missing_email."""
    stack, summary = portal["stack"], portal["summary"]
    want = expected(stack)
    stored = stack.leadgenius.admin.stored_by_identity(portal["slug"])
    assert summary["complete"] and summary["outcome"] == "complete", summary
    assert len(stored) == want["imported"] and set(stored.values()) == {1}
    assert summary["created"] == want["imported"]
    assert summary["rejected_by_reason"] == {"missing_email": want["rejected_missing_email"]}


def test_full_import_counts_reconcile(portal: dict[str, Any]) -> None:
    """read = created + rejected + skipped, and read is every live contact."""
    summary = portal["summary"]
    assert summary["read"] == expected(portal["stack"])["read"]
    assert summary["read"] == summary["created"] + summary["rejected"] + summary["skipped"]
    assert summary["accepted"] + summary["rejected_in_source"] == summary["read"]
    assert summary["updated"] == summary["failed"] == summary["open"] == 0


def test_company_names_come_from_associations_never_the_company_property(
    portal: dict[str, Any],
) -> None:
    """companyName is an associated company's name (the primary one when HubSpot marks
    one), never the contact's stale ``company`` property nor a free-mail domain."""
    stack = portal["stack"]
    hubspot = stack.hubspot.state
    leads = leads_by_contact(stack, portal["slug"])
    primary_checked = stale_checked = 0
    for contact_id, lead in leads.items():
        contact = hubspot.contacts[contact_id]
        names = {
            (hubspot.companies[a.company_id].properties.get("name") or "").strip(): a
            for a in contact.associations
            if not hubspot.companies[a.company_id].archived
        }
        company = lead.get("companyName")
        assert company is None or company in names, (contact_id, company, names)
        assert company is None or company.lower() not in GENERIC_MAIL_DOMAINS
        stale = (contact.properties.get("company") or "").strip()
        if stale:
            stale_checked += 1
            assert company != stale
        primary = [n for n, a in names.items() if a.primary and n]
        if primary and primary[0].lower() not in GENERIC_MAIL_DOMAINS:
            primary_checked += 1
            assert company == primary[0], (contact_id, company, primary)
    assert primary_checked > 3000 and stale_checked > 50
    assert sum("companyName" in lead for lead in leads.values()) > 0.8 * len(leads)


def test_phones_land_in_phone_number_never_phone(portal: dict[str, Any]) -> None:
    """``phone`` (else ``mobilephone``) becomes ``phoneNumber``; no lead has ``phone``."""
    stack = portal["stack"]
    leads = leads_by_contact(stack, portal["slug"])
    with_phone = 0
    for contact_id, lead in leads.items():
        props = stack.hubspot.state.contacts[contact_id].properties
        phone = (props.get("phone") or "").strip() or (props.get("mobilephone") or "").strip()
        assert "phone" not in lead
        assert bool(lead.get("phoneNumber")) == bool(phone), (contact_id, lead, phone)
        with_phone += bool(phone)
    assert with_phone > 0.7 * len(leads)


def test_full_import_gets_no_server_errors(portal: dict[str, Any]) -> None:
    """No payload trips a LeadGenius 500 (phone key, empty strings, dot last names)."""
    assert portal["stack"].server_errors() == 0


def test_tokens_never_reach_the_state_store_or_the_summary(portal: dict[str, Any]) -> None:
    """Neither the HubSpot token nor the LeadGenius key is in the store's files or the
    summary (the portal is keyed by a fingerprint on the sandbox, never the token)."""
    stack = portal["stack"]
    secrets = [stack.hubspot.token.encode(), stack.leadgenius.demo.api_key.encode()]
    database = Path(portal["state"].removeprefix("sqlite:///"))
    content = b"".join(p.read_bytes() for p in database.parent.glob(f"{database.name}*"))
    assert b"hubspot_import" in content  # the right files were read
    assert not any(secret in content for secret in secrets)
    summary = json.dumps(portal["summary"]).encode()
    assert not any(secret in summary for secret in secrets)


def test_incremental_updates_exactly_the_modified_contacts_then_writes_nothing(
    portal: dict[str, Any],
) -> None:
    """50 contacts modified in HubSpot: one --incremental run PUTs those 50 (their new
    title), creates nothing; a second one with no change writes nothing at all."""
    stack, state, slug = portal["stack"], portal["state"], portal["slug"]
    modified = stack.hubspot.admin("POST", "/modify", {"count": 50})["ids"]
    before = stack.writes()
    first = import_hubspot(stack, state, slug, incremental=True)
    after_first = stack.writes()
    assert first["complete"] and first["mode"] == "incremental", first
    assert first["updated"] == 50 and first["created"] == 0, first
    assert after_first["POST"] == before["POST"] and after_first["PUT"] > before["PUT"]
    leads = leads_by_contact(stack, slug)
    for contact_id in modified:
        title = stack.hubspot.state.contacts[int(contact_id)].properties["jobtitle"]
        assert leads[int(contact_id)]["title"] == title.strip()
    second = import_hubspot(stack, state, slug, incremental=True)
    assert second["complete"] and second["created"] == second["updated"] == 0, second
    assert stack.writes() == after_first
    assert second["high_water_mark"]["new_ms"] >= first["high_water_mark"]["new_ms"]
    stored = stack.leadgenius.admin.stored_by_identity(slug)
    assert len(stored) == expected(stack)["imported"] and set(stored.values()) == {1}


def test_incremental_window_past_the_search_cap_is_read_completely(
    make_import_stack: Any, tmp_path: Path
) -> None:
    """A mark older than every contact: the search window holds more than 10,000
    contacts, and each is read exactly once (all known already, so nothing is written)."""
    stack = make_import_stack(contacts=10_600, seed=3)
    state = f"sqlite:///{tmp_path}/state.sqlite"
    slug = stack.create_client("Big Window")
    live = [c for c in stack.hubspot.state.contacts.values() if not c.archived]
    emails = [c.properties["email"] for c in live if c.properties.get("email")]

    async def seed_state() -> None:
        async with hubspot_of(stack) as hubspot:
            portal_name = await portal_key(hubspot)
        with open_store(state) as store:
            store.ledger_put(
                slug, [(f"email:{e.lower()}", f"lead-{i}", None) for i, e in enumerate(emails)]
            )
            store.put_high_water_mark(portal_name, slug, {"lastmodifieddate_ms": 0})

    asyncio.run(seed_state())
    summary = import_hubspot(stack, state, slug, incremental=True, on_existing="skip")
    assert len(live) > 10_000
    assert summary["complete"] and summary["mode"] == "incremental", summary
    assert summary["read"] == len(live) == expected(stack)["read"]
    assert summary["skipped_by_reason"] == {"exists": len(emails)}
    assert summary["hubspot"]["contacts_fetched"] == len(live)
    assert stack.writes() == {"POST": 0, "PUT": 0}


def test_default_hubspot_limits_are_respected(make_import_stack: Any, tmp_path: Path) -> None:
    """With HubSpot's own limits (100 per 10 s, search 5 per second) a full run and an
    incremental run finish without a 429, exactly once."""
    stack = make_import_stack(contacts=1500, seed=5, rate_limit_per_10s=100, search_rate_per_s=5)
    state = f"sqlite:///{tmp_path}/state.sqlite"
    slug = stack.create_client("Limits")
    full = import_hubspot(stack, state, slug)
    stack.hubspot.admin("POST", "/modify", {"count": 20})
    incremental = import_hubspot(stack, state, slug, incremental=True)
    assert full["complete"] and incremental["complete"]
    assert incremental["updated"] == 20 and incremental["created"] == 0
    stored = stack.leadgenius.admin.stored_by_identity(slug)
    assert len(stored) == expected(stack)["imported"] and set(stored.values()) == {1}
    assert stack.hubspot.admin("GET", "/counters")["status_429"] == 0


def test_incremental_without_a_mark_reads_everything_and_says_so(
    make_import_stack: Any, tmp_path: Path
) -> None:
    """The first --incremental run has no mark: a full read (noted in the summary) that
    stores one, so the next run is incremental; rejects are written with contact ids."""
    stack = make_import_stack(contacts=200, seed=2)
    state = f"sqlite:///{tmp_path}/state.sqlite"
    slug = stack.create_client("First Night")
    rejects = tmp_path / "rejects.csv"
    first = import_hubspot(stack, state, slug, incremental=True, rejects=rejects)
    assert first["mode"] == "full" and first["complete"], first
    assert any("no high-water mark" in note for note in first["notes"])
    assert first["created"] == expected(stack)["imported"]
    with rejects.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == expected(stack)["rejected_missing_email"]
    assert {r["_reason"] for r in rows} == {"missing_email"}
    assert all(not stack.hubspot.state.contacts[int(r["hubspotId"])].properties.get("email")
               for r in rows)  # fmt: skip
    second = import_hubspot(stack, state, slug, incremental=True)
    assert second["mode"] == "incremental" and not second["notes"], second
    assert second["since"] == first["high_water_mark"]["new"]


def test_nightly_incremental_command_resumes_an_interrupted_full_import(
    make_import_stack: Any, tmp_path: Path
) -> None:
    """A full run stopped after its first page; the --incremental command (no mark yet)
    resumes that job from its cursor instead of starting another, and completes it."""
    stack = make_import_stack(contacts=300, seed=6)
    state = f"sqlite:///{tmp_path}/state.sqlite"
    slug = stack.create_client("Interrupted")
    first = import_hubspot(stack, state, slug, stop_after_pages=1)
    assert first["outcome"] == "interrupted" and not first["extracted"], first
    assert first["read"] == 100 and first["created"] == 0
    second = import_hubspot(stack, state, slug, incremental=True)
    assert second["job_id"] == first["job_id"] and second["complete"], second
    assert second["mode"] == "full" and not any("resumed" in n for n in second["notes"])
    assert second["created"] == expected(stack)["imported"]
    assert second["high_water_mark"]["new"] is not None
    requests = stack.hubspot.admin("GET", "/counters")["requests"]
    pages = math.ceil(expected(stack)["read"] / 100)
    assert requests["GET /crm/v3/objects/contacts"] == {"200": pages}  # each page read once
    assert second["hubspot"]["pages"] == pages


def test_rerunning_a_complete_full_import_reads_again_and_skips_known_contacts(
    make_import_stack: Any, tmp_path: Path
) -> None:
    """A finished full run is not repeated as is: the same command starts a new pass,
    which skips every identity the client has (0 POSTs); with --on-existing update it
    writes only what changed."""
    stack = make_import_stack(contacts=200, seed=4)
    state = f"sqlite:///{tmp_path}/state.sqlite"
    slug = stack.create_client("Again")
    first = import_hubspot(stack, state, slug)
    posts = stack.writes()["POST"]
    second = import_hubspot(stack, state, slug)
    assert second["job_id"] != first["job_id"] and second["complete"]
    assert second["created"] == 0 and second["skipped"] == first["created"]
    assert stack.writes()["POST"] == posts
    stack.hubspot.admin("POST", "/modify", {"count": 7})
    third = import_hubspot(stack, state, slug, on_existing="update")
    assert third["updated"] == 7 and third["created"] == 0
    assert third["skipped_by_reason"] == {"unchanged": first["created"] - 7}


def test_cli_without_a_hubspot_token_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No token in the environment: exit 2 before any request, saying what to set."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    result = CliRunner().invoke(
        app,
        ["import", "hubspot", "--client", "acme", "--state", str(tmp_path / "s.sqlite"),
         "--api-key", "lgp_x", "--user-id", "u"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "HUBSPOT_ACCESS_TOKEN" in result.output
    assert "Traceback" not in result.output
