"""The emulated CRM objects and how they are rendered as HubSpot v3 JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Properties every contact carries (each a string or ``None``).
CONTACT_PROPERTIES: tuple[str, ...] = (
    "firstname", "lastname", "email", "phone", "mobilephone", "jobtitle", "company",
    "lifecyclestage", "hs_lead_status", "createdate", "lastmodifieddate", "hs_object_id",
)  # fmt: skip

#: What HubSpot returns when a request names no properties.
DEFAULT_CONTACT_PROPERTIES: tuple[str, ...] = (
    "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
)  # fmt: skip

#: Contact properties only the server writes.
READ_ONLY_CONTACT_PROPERTIES: frozenset[str] = frozenset(
    {"createdate", "lastmodifieddate", "hs_object_id"}
)

COMPANY_PROPERTIES: tuple[str, ...] = (
    "name", "domain", "industry", "city", "country", "phone", "createdate",
    "hs_lastmodifieddate", "hs_object_id",
)  # fmt: skip

DEFAULT_COMPANY_PROPERTIES: tuple[str, ...] = (
    "createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name",
)  # fmt: skip

#: v3 association type names and their v4 equivalents (typeId, label).
PRIMARY_TYPE = "contact_to_company"
UNLABELED_TYPE = "contact_to_company_unlabeled"
PRIMARY_TYPE_ID = 1
UNLABELED_TYPE_ID = 279


def iso_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds the way HubSpot does: ISO-8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Association:
    """One contact -> company link; ``primary`` adds the labelled ``contact_to_company`` type."""

    company_id: int
    primary: bool


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact version; a change replaces the object so search can keep the old one."""

    id: int
    properties: dict[str, str | None]
    created_ms: int
    modified_ms: int
    archived: bool
    associations: tuple[Association, ...]  # sorted by company id, one per company


@dataclass(frozen=True, slots=True)
class Company:
    """A company; archived ones still answer nothing in batch read (207)."""

    id: int
    properties: dict[str, str | None]
    created_ms: int
    modified_ms: int
    archived: bool


def pick_properties(
    properties: dict[str, str | None], wanted: Iterable[str]
) -> dict[str, str | None]:
    """Return the wanted properties that exist; unknown names are left out, as HubSpot does."""
    return {name: properties[name] for name in wanted if name in properties}


def render_object(record: Contact | Company, wanted: Sequence[str]) -> dict[str, Any]:
    """Render a contact or company as a HubSpot v3 object (without associations).

    Args:
        record: the object.
        wanted: property names to include.
    """
    body: dict[str, Any] = {
        "id": str(record.id),
        "properties": pick_properties(record.properties, wanted),
        "createdAt": iso_ms(record.created_ms),
        "updatedAt": iso_ms(record.modified_ms),
        "archived": record.archived,
    }
    if record.archived:
        body["archivedAt"] = iso_ms(record.modified_ms)
    return body


def association_entries(contact: Contact) -> list[dict[str, str]]:
    """Return a contact's v3 association entries: one per type, so a primary company twice."""
    entries: list[dict[str, str]] = []
    for assoc in contact.associations:
        company = str(assoc.company_id)
        if assoc.primary:
            entries.append({"id": company, "type": PRIMARY_TYPE})
        entries.append({"id": company, "type": UNLABELED_TYPE})
    return entries


def association_types(assoc: Association) -> list[dict[str, Any]]:
    """Return the v4 ``associationTypes`` of one link (unlabelled first, as HubSpot often does)."""
    types: list[dict[str, Any]] = [
        {"category": "HUBSPOT_DEFINED", "typeId": UNLABELED_TYPE_ID, "label": None}
    ]
    if assoc.primary:
        types.append({"category": "HUBSPOT_DEFINED", "typeId": PRIMARY_TYPE_ID, "label": "Primary"})
    return types
