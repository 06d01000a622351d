"""Deterministic seed data with the mess of a real HubSpot portal.

Everything comes from one ``random.Random(seed)``, so the same seed always gives the same
portal. The mess is on purpose, each item a trap for an importer:

- the contact ``company`` property is almost always null or ``""`` (LeadGenius bug 5),
  and the few filled ones name a *different* company than the associations;
- missing or blank first/last names, ``"."``/``".."`` last names, stray spaces, odd case;
- ``phone`` only, ``mobilephone`` only, both, or neither;
- contacts without email, and emails at generic mail domains (gmail.com, ...);
- zero to six companies per contact, the primary one listed twice (labelled and
  unlabelled), sometimes no primary at all;
- archived contacts, and a few archived companies still linked from contacts (207s);
- a few contacts with more than 100 associations whose primary company sorts last;
- bulk-import clusters sharing the same createdate/lastmodifieddate to the millisecond.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from dataclasses import dataclass, field

from etl.sandbox.hubspot.records import Association, Company, Contact, iso_ms

SEED_START_MS = 1_546_300_800_000  # 2019-01-01T00:00:00Z
SEED_END_MS = 1_759_190_400_000  # 2025-09-30T00:00:00Z
FIRST_CONTACT_ID = 1001
FIRST_COMPANY_ID = 8_000_000_001

#: Free-mail providers: an email there never names the contact's employer.
GENERIC_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
    "gmx.de", "web.de", "orange.fr", "proton.me",
)  # fmt: skip

#: The most companies one heavy contact gets (more than a v4 page of 500).
HEAVY_MAX_COMPANIES = 640

_FIRST = (
    "Anna", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "James",
    "Katarzyna", "Liam", "María", "Noah", "Olivia", "Pierre", "Quentin", "Rosa", "Søren",
    "Tomás", "Uma", "Victor", "Wei", "Ximena", "Yusuf", "Zoë", "Łukasz", "Jürgen", "Aoife",
    "Mohammed",
)  # fmt: skip
_LAST = (
    "Smith", "Müller", "García", "Nguyễn", "O'Brien", "Kowalski", "Rossi", "Dubois",
    "Tanaka", "Johansson", "Silva", "Van der Berg", "Schmidt", "Martin", "Khan", "Lee",
    "Brown", "Novák", "Papadopoulos", "Fischer", "Moreau", "Ivanova", "Costa", "Walsh",
    "Singh", "Hernández", "de la Cruz", "Yamamoto", "Larsen", "Öztürk",
)  # fmt: skip
_TITLES = (
    "CEO", "CTO", "VP Sales", "Head of Marketing", "Marketing Manager", "Sales Director",
    "Software Engineer", "Account Executive", "Procurement Lead", "Founder", "COO",
    "Office Manager", "Data Analyst", "HR Business Partner", "Chief Revenue Officer",
)  # fmt: skip
_LIFECYCLE = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer", "evangelist", "other",
)  # fmt: skip
_LEAD_STATUS = (
    "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
    "CONNECTED", "BAD_TIMING",
)  # fmt: skip
_CO_PREFIX = (
    "Acme", "Blue", "Nordic", "Apex", "Bright", "Cedar", "Delta", "Evergreen", "Falcon",
    "Granite", "Harbor", "Iron", "Juniper", "Kite", "Lumen", "Maple", "Nova", "Orbit",
    "Pioneer", "Quartz", "Redwood", "Summit", "Tidal", "Union", "Vertex", "Willow",
)  # fmt: skip
_CO_CORE = (
    "Analytics", "Robotics", "Logistics", "Health", "Software", "Foods", "Energy",
    "Capital", "Labs", "Systems", "Media", "Motors", "Pharma", "Retail", "Textiles",
    "Networks", "Solutions", "Dynamics", "Partners", "Consulting",
)  # fmt: skip
_CO_SUFFIX = ("", "", " Inc.", " LLC", " GmbH", " Ltd", " SA", " AB", " BV", ", Inc.")
_TLDS = (".com", ".com", ".io", ".de", ".co.uk", ".fr", ".net", ".se")
_INDUSTRIES = (
    "COMPUTER_SOFTWARE", "INFORMATION_TECHNOLOGY_AND_SERVICES", "MARKETING_AND_ADVERTISING",
    "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "LOGISTICS_AND_SUPPLY_CHAIN", "RETAIL",
    "MANAGEMENT_CONSULTING", "FOOD_PRODUCTION", "RENEWABLES_ENVIRONMENT", "AUTOMOTIVE",
)  # fmt: skip
_PLACES = (
    ("San Francisco", "United States"), ("New York", "United States"), ("Berlin", "Germany"),
    ("Munich", "Germany"), ("London", "United Kingdom"), ("Paris", "France"),
    ("Stockholm", "Sweden"), ("Amsterdam", "Netherlands"), ("Madrid", "Spain"),
    ("Toronto", "Canada"), ("Sydney", "Australia"), ("Austin", "United States"),
)  # fmt: skip


@functools.cache  # the inputs are a few dozen names: fold each once
def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _phone(rng: random.Random) -> str:
    n = rng.randrange(10_000)
    style = rng.randrange(4)
    if style == 0:
        return f"+1 415-555-{n:04d}"
    if style == 1:
        return f"(212) 555-{n:04d}"
    if style == 2:
        return f"+49 30 {n:04d}{rng.randrange(1000):03d}"
    return f"555.010.{n:04d} x{rng.randrange(10, 99)}"


@dataclass
class Seeder:
    """Builds the seeded portal and, later, new contacts for ``_sandbox/create``.

    Args:
        seed: makes everything reproducible.
    """

    seed: int
    rng: random.Random = field(init=False)
    companies: list[Company] = field(default_factory=list)
    domains: dict[int, str | None] = field(default_factory=dict)
    used_emails: set[str] = field(default_factory=set)
    _cluster_left: int = 0
    _cluster_times: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def seed_portal(self, count: int) -> tuple[list[Contact], list[Company], list[int]]:
        """Generate ``count`` contacts over about ``count / 6`` companies.

        Returns:
            The contacts (ascending ids), the companies (ascending ids) and the ids of the
            heavy contacts (more than 100 association entries).
        """
        n_companies = max(1, round(count / 6)) if count else 0
        next_id = FIRST_COMPANY_ID
        for index in range(n_companies):
            company = self._company(next_id, archived=index == 7)
            self.companies.append(company)
            self.domains[company.id] = company.properties["domain"]
            next_id += self.rng.randint(1, 9)
        heavy_slots: set[int] = set()
        if n_companies >= 100:
            heavy_slots = set(self.rng.sample(range(count), min(count, 1 + count // 4000)))
        contacts: list[Contact] = []
        contact_id = FIRST_CONTACT_ID
        heavy: list[int] = []
        for index in range(count):
            created, modified = self._times()
            if index in heavy_slots:
                assocs = self._heavy_associations(first=not heavy)
                heavy.append(contact_id)
                contacts.append(self.contact(contact_id, created, modified, assocs, plain=True))
            else:
                contacts.append(self.contact(contact_id, created, modified))
            contact_id += self.rng.randint(1, 4)
        return contacts, self.companies, heavy

    def contact(
        self,
        contact_id: int,
        created_ms: int,
        modified_ms: int,
        associations: tuple[Association, ...] | None = None,
        *,
        plain: bool = False,
    ) -> Contact:
        """Generate one contact; ``plain`` forces an email and no archiving.

        Args:
            contact_id: its id.
            created_ms: createdate (epoch ms).
            modified_ms: lastmodifieddate (epoch ms).
            associations: its companies, or ``None`` to draw them.
            plain: make it a contact a correct importer must import (email, not archived).
        """
        rng = self.rng
        assocs = self._associations() if associations is None else associations
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        has_email = plain or rng.random() >= 0.07
        props: dict[str, str | None] = {
            "firstname": self._messy_first(first),
            "lastname": self._messy_last(last),
            "email": self._email(first, last, assocs) if has_email else None,
            "phone": None,
            "mobilephone": None,
            "jobtitle": rng.choice(_TITLES) if rng.random() < 0.8 else None,
            "company": self._company_property(),
            "lifecyclestage": rng.choice(_LIFECYCLE) if rng.random() < 0.9 else None,
            "hs_lead_status": rng.choice(_LEAD_STATUS) if rng.random() < 0.65 else None,
            "createdate": iso_ms(created_ms),
            "lastmodifieddate": iso_ms(modified_ms),
            "hs_object_id": str(contact_id),
        }
        roll = rng.random()
        if roll < 0.5:
            props["phone"] = _phone(rng)
        elif roll < 0.65:
            props["mobilephone"] = _phone(rng)
        elif roll < 0.8:
            props["phone"], props["mobilephone"] = _phone(rng), _phone(rng)
        archived = not plain and rng.random() < 0.03
        return Contact(contact_id, props, created_ms, modified_ms, archived, assocs)

    def _times(self) -> tuple[int, int]:
        rng = self.rng
        if self._cluster_left > 0:
            self._cluster_left -= 1
            return self._cluster_times
        created = rng.randrange(SEED_START_MS, SEED_END_MS - 86_400_000)
        modified = created + int((SEED_END_MS - created) * rng.random() ** 3)
        if rng.random() < 0.01:  # a bulk import: the next few share these instants
            self._cluster_left = rng.randint(5, 40)
            self._cluster_times = (created, modified)
        return created, modified

    def _company(self, company_id: int, *, archived: bool) -> Company:
        rng = self.rng
        prefix, core = rng.choice(_CO_PREFIX), rng.choice(_CO_CORE)
        name: str | None = f"{prefix} {core}{rng.choice(_CO_SUFFIX)}"
        if rng.random() < 0.03:
            name = f"{name} "
        elif rng.random() < 0.01:
            name = None
        city, country = rng.choice(_PLACES)
        created = rng.randrange(SEED_START_MS, SEED_END_MS - 86_400_000)
        modified = created + int((SEED_END_MS - created) * rng.random())
        props: dict[str, str | None] = {
            "name": name,
            "domain": None
            if rng.random() < 0.12
            else _ascii_slug(prefix + core) + rng.choice(_TLDS),
            "industry": rng.choice(_INDUSTRIES) if rng.random() < 0.85 else None,
            "city": city if rng.random() < 0.9 else None,
            "country": country if rng.random() < 0.9 else None,
            "phone": _phone(rng) if rng.random() < 0.7 else None,
            "createdate": iso_ms(created),
            "hs_lastmodifieddate": iso_ms(modified),
            "hs_object_id": str(company_id),
        }
        archived = archived or rng.random() < 0.01
        return Company(company_id, props, created, modified, archived)

    def _associations(self) -> tuple[Association, ...]:
        rng = self.rng
        if not self.companies:
            return ()
        roll = rng.random()
        k = 0 if roll < 0.12 else 1 if roll < 0.67 else 2 if roll < 0.87 else 3
        if roll >= 0.97:
            k = rng.randint(4, 6)
        picks = sorted(rng.sample(range(len(self.companies)), min(k, len(self.companies))))
        primary = rng.randrange(len(picks)) if picks and rng.random() < 0.85 else -1
        return tuple(Association(self.companies[p].id, i == primary) for i, p in enumerate(picks))

    def _heavy_associations(self, *, first: bool) -> tuple[Association, ...]:
        # The primary company is the last by id, beyond the 100 embedded entries, so an
        # importer that ignores the truncation picks the wrong company.
        rng, n = self.rng, len(self.companies)
        top = min(n, HEAVY_MAX_COMPANIES)
        k = top if first else rng.randint(100, top)
        picks = sorted(rng.sample(range(n), k))
        live = [p for p in picks if not self.companies[p].archived]
        primary = live[-1] if live else -1
        return tuple(Association(self.companies[p].id, p == primary) for p in picks)

    def _messy_first(self, first: str) -> str | None:
        roll = self.rng.random()
        if roll < 0.05:
            return None
        if roll < 0.06:
            return ""
        if roll < 0.08:
            return f" {first}  "
        if roll < 0.11:
            return first.lower()
        return first

    def _messy_last(self, last: str) -> str | None:
        roll = self.rng.random()
        if roll < 0.05:
            return None
        if roll < 0.06:
            return ""
        if roll < 0.08:
            return "."
        if roll < 0.085:
            return ".."
        if roll < 0.09:
            return "-"
        if roll < 0.10:
            return last.upper()
        if roll < 0.12:
            return f"{last} "
        return last

    def _company_property(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.88:
            return None
        if roll < 0.96:
            return ""
        return f"{self.rng.choice(_CO_PREFIX)} Holdings (old)"  # stale, never the association

    def _email(self, first: str, last: str, assocs: tuple[Association, ...]) -> str:
        rng = self.rng
        f, la = _ascii_slug(first) or "contact", _ascii_slug(last) or "person"
        local = rng.choice((f"{f}.{la}", f"{f[0]}{la}", f, f"{f}_{la}"))
        domain: str | None = None
        roll = rng.random()
        if roll < 0.65 and assocs:
            domain = self.domains[assocs[0].company_id]
        if domain is None:
            domain = rng.choice(GENERIC_MAIL_DOMAINS) if roll < 0.9 else f"{la}-family.net"
        email, n = f"{local}@{domain}", 1
        while email in self.used_emails:  # HubSpot keeps emails unique per portal
            n += 1
            email = f"{local}{n}@{domain}"
        self.used_emails.add(email)
        return email
