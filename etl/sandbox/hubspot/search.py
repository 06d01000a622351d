"""The contacts search request: parsing, filtering and sorting (pure functions).

Supported, as on HubSpot: up to 5 ``filterGroups`` (OR) of up to 6 ``filters`` (AND);
operators EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY;
date properties (``lastmodifieddate``, ``createdate``) compared as instants given in epoch
milliseconds or ISO-8601; one sort; ties always broken by ascending ``hs_object_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from etl.sandbox.hubspot.records import DEFAULT_CONTACT_PROPERTIES, Contact
from etl.sandbox.hubspot.wire import validation_error

MAX_LIMIT = 200
#: Results one query can page through; ``after`` at or beyond it is a 400.
RESULT_CAP = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
#: Properties every search result carries, requested or not.
ALWAYS_RETURNED: tuple[str, ...] = ("createdate", "hs_object_id", "lastmodifieddate")

DATE_PROPERTIES = frozenset({"createdate", "lastmodifieddate"})
_RANGE_OPS = frozenset({"LT", "LTE", "GT", "GTE"})
_OPERATORS = (
    _RANGE_OPS | {"EQ", "NEQ", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY"} | {"NOT_HAS_PROPERTY"}
)

Value = int | str


@dataclass(frozen=True)
class Filter:
    """One filter: ``values`` holds one value, two for BETWEEN, any number for IN/NOT_IN."""

    prop: str
    operator: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search request."""

    groups: tuple[tuple[Filter, ...], ...]
    sort_prop: str
    descending: bool
    properties: tuple[str, ...]
    limit: int
    after: int

    def cache_key(self) -> tuple[object, ...]:
        """What decides the ordered result set (not the page)."""
        return (self.groups, self.sort_prop, self.descending)


def parse_instant(raw: object) -> int:
    """Parse a date filter value (epoch ms as number or digits, or ISO-8601) to epoch ms.

    Raises:
        ApiError: 400 when the value is neither.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return int(moment.timestamp() * 1000)
    raise validation_error(f"{raw!r} is not a valid date: use epoch milliseconds or ISO-8601")


def _coerce(prop: str, raw: object) -> Value:
    if prop in DATE_PROPERTIES:
        return parse_instant(raw)
    if prop == "hs_object_id":
        try:
            return int(str(raw))
        except ValueError:
            raise validation_error(f"hs_object_id filter value {raw!r} is not a number") from None
    if raw is None or isinstance(raw, dict | list):
        raise validation_error(f"filter value for {prop} must be a string, got {raw!r}")
    return str(raw).lower()


def _parse_filter(raw: object) -> Filter:
    if not isinstance(raw, dict) or not isinstance(raw.get("propertyName"), str):
        raise validation_error("each filter needs a propertyName and an operator")
    prop, operator = raw["propertyName"], str(raw.get("operator", "")).upper()
    if operator not in _OPERATORS:
        raise validation_error(f"unknown filter operator {operator!r}", propertyName=prop)
    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return Filter(prop, operator, ())
    if operator == "BETWEEN":
        if "value" not in raw or "highValue" not in raw:
            raise validation_error("BETWEEN needs value and highValue", propertyName=prop)
        return Filter(
            prop, operator, (_coerce(prop, raw["value"]), _coerce(prop, raw["highValue"]))
        )
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"{operator} needs a non-empty values list", propertyName=prop)
        return Filter(prop, operator, tuple(_coerce(prop, v) for v in values))
    if "value" not in raw:
        raise validation_error(f"{operator} needs a value", propertyName=prop)
    return Filter(prop, operator, (_coerce(prop, raw["value"]),))


def _parse_int(raw: object, name: str, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise validation_error(f"{name} must be an integer, got {raw!r}")
    try:
        return int(raw)
    except ValueError:
        raise validation_error(f"{name} must be an integer, got {raw!r}") from None


def parse_search(body: object) -> SearchQuery:
    """Validate a search request body.

    Raises:
        ApiError: 400 ``VALIDATION_ERROR`` naming the first problem.
    """
    if not isinstance(body, dict):
        raise validation_error("the search request body must be a JSON object")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list) or len(raw_groups) > MAX_GROUPS:
        raise validation_error(f"filterGroups must be a list of at most {MAX_GROUPS} groups")
    groups: list[tuple[Filter, ...]] = []
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"each filter group needs a filters list of at most {MAX_FILTERS_PER_GROUP}"
            )
        groups.append(tuple(_parse_filter(f) for f in filters))
    sort_prop, descending = _parse_sorts(body.get("sorts") or [])
    properties = body.get("properties") or list(DEFAULT_CONTACT_PROPERTIES)
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise validation_error("properties must be a list of property names")
    limit = _parse_int(body.get("limit"), "limit", 10)
    if not 1 <= limit <= MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    after = _parse_int(body.get("after"), "after", 0)
    if after < 0:
        raise validation_error(f"after must not be negative, got {after}")
    if after >= RESULT_CAP:
        raise validation_error(
            f"after={after}: a search returns at most {RESULT_CAP} results; narrow the query "
            "(for example a lastmodifieddate window) instead of paging further"
        )
    wanted = tuple(dict.fromkeys([*properties, *ALWAYS_RETURNED]))
    return SearchQuery(tuple(groups), sort_prop, descending, wanted, limit, after)


def _parse_sorts(raw: object) -> tuple[str, bool]:
    if not isinstance(raw, list) or len(raw) > 1:
        raise validation_error("sorts must be a list with at most one sort")
    if not raw:
        return "hs_object_id", False
    sort = raw[0]
    if isinstance(sort, str):  # HubSpot also takes a bare property name (ascending)
        return sort, False
    if not isinstance(sort, dict) or not isinstance(sort.get("propertyName"), str):
        raise validation_error("a sort needs a propertyName")
    direction = str(sort.get("direction", "ASCENDING")).upper()
    if direction not in ("ASCENDING", "DESCENDING"):
        raise validation_error(f"sort direction must be ASCENDING or DESCENDING, not {direction}")
    return sort["propertyName"], direction == "DESCENDING"


def value_of(contact: Contact, prop: str) -> Value | None:
    """A contact's value of ``prop`` in the form filters compare (``None`` when unset)."""
    if prop == "lastmodifieddate":
        return contact.modified_ms
    if prop == "createdate":
        return contact.created_ms
    if prop == "hs_object_id":
        return contact.id
    raw = contact.properties.get(prop)
    return raw.lower() if raw else None


def _holds(f: Filter, value: Value | None) -> bool:
    if f.operator == "HAS_PROPERTY":
        return value is not None
    if f.operator == "NOT_HAS_PROPERTY":
        return value is None
    if f.operator == "NEQ":
        return value != f.values[0]
    if f.operator == "NOT_IN":
        return value not in f.values
    if value is None:
        return False
    if f.operator == "EQ":
        return value == f.values[0]
    if f.operator == "IN":
        return value in f.values
    low: Any = f.values[0]
    current: Any = value
    if type(current) is not type(low):
        return False  # ranges between numbers and strings never hold
    if f.operator == "BETWEEN":
        return bool(low <= current <= f.values[1])
    if f.operator == "LT":
        return bool(current < low)
    if f.operator == "LTE":
        return bool(current <= low)
    if f.operator == "GT":
        return bool(current > low)
    return bool(current >= low)  # GTE


def matches(contact: Contact, groups: Sequence[tuple[Filter, ...]]) -> bool:
    """Whether a contact matches any group (all filters of that group); no groups = all."""
    if not groups:
        return True
    return any(all(_holds(f, value_of(contact, f.prop)) for f in group) for group in groups)


def ordered(contacts: list[Contact], sort_prop: str, descending: bool) -> list[Contact]:
    """Sort by ``sort_prop`` (unset values last when ascending), ties by ascending id."""
    by_id = sorted(contacts, key=lambda c: c.id)

    def key(contact: Contact) -> tuple[bool, Any]:
        value = value_of(contact, sort_prop)
        return (value is None, value if value is not None else 0)

    # Python's sort is stable even with reverse=True, so ties keep ascending ids.
    return sorted(by_id, key=key, reverse=descending)
