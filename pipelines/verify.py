"""``lgetl verify``: are the leads a job marked done really listed by the API?

Pages the client's leads back (``GET /api/leads``, never trusting ``total``) and compares
them with the job's ``done``/``updated`` rows. A row whose lead id is not listed is either
invisible (posted under the client's UUID: bug 1) or lost. Listed leads that share an
identity key with another listed lead are reported as duplicates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from etl.client import LeadGeniusClient
from state import Store


@dataclass
class VerifyReport:
    """The comparison between the job's rows and what the API lists."""

    job_id: int
    client_id: str
    rows_done: int = 0
    listed: int = 0
    missing: list[tuple[int, str, str]] = field(default_factory=list)  # row, identity, lead id
    duplicate_emails: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every done row is listed and no email is listed twice."""
        return not self.missing and not self.duplicate_emails

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "job_id": self.job_id,
            "client_id": self.client_id,
            "rows_done": self.rows_done,
            "listed": self.listed,
            "missing": [{"row": r, "identity": i, "lead_id": lid} for r, i, lid in self.missing],
            "duplicate_emails": self.duplicate_emails,
            "ok": self.ok,
        }


async def verify_job(api: LeadGeniusClient, store: Store, job_id: int) -> VerifyReport:
    """Compare a job's done rows with the client's listed leads."""
    job = store.get_job(job_id)
    client_id = str(job.options.get("client") or job.target)
    report = VerifyReport(job_id=job_id, client_id=client_id)
    listed_ids: set[str] = set()
    emails: Counter[str] = Counter()
    async for page in api.iter_leads(client_id, page_size=1000):
        for lead in page:
            listed_ids.add(str(lead.get("id")))
            if lead.get("email"):
                emails[str(lead["email"]).lower()] += 1
    report.listed = len(listed_ids)
    report.duplicate_emails = {e: n for e, n in emails.items() if n > 1}
    for row in store.iter_rows(job_id, ["done", "updated"]):
        report.rows_done += 1
        if row.lead_id not in listed_ids:
            report.missing.append((row.row_no, row.identity or "", row.lead_id or ""))
    return report
