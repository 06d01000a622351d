"""Knobs of the HubSpot emulation: how much data to seed and how strict its limits are."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from typing import Any

from etl.errors import ConfigError

#: The knobs ``POST _sandbox/config`` may change while the server runs.
LIVE_KNOBS: tuple[str, ...] = (
    "rate_limit_per_10s",
    "search_rate_per_s",
    "search_lag_ms",
    "daily_limit",
)


def token_for_seed(seed: int) -> str:
    """Return the private-app token a sandbox seeded with ``seed`` accepts.

    It has the shape of a real HubSpot private-app token (``pat-na1-<uuid>``) and is
    derived from the seed, so a test or a shell script can know it in advance.

    Args:
        seed: the sandbox seed.
    """
    digest = hashlib.sha256(f"leadgenius-etl hubspot sandbox {seed}".encode()).hexdigest()
    return f"pat-na1-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


@dataclass(frozen=True)
class HubSpotConfig:
    """How the HubSpot emulation seeds its data and enforces its limits.

    Attributes:
        contacts: contacts to seed, spread over about ``contacts / 6`` companies.
        seed: makes the data and the default token reproducible.
        token: the accepted bearer token; derived from ``seed`` when left empty.
        rate_limit_per_10s: requests per rolling 10 s per token (0 = unlimited).
        search_rate_per_s: search requests per rolling second (0 = unlimited).
        search_lag_ms: how long a change takes to become visible in search.
        daily_limit: requests per UTC day (0 = unlimited).
    """

    contacts: int = 0
    seed: int = 0
    token: str = field(default="", repr=False)
    rate_limit_per_10s: int = 100
    search_rate_per_s: int = 5
    search_lag_ms: float = 0
    daily_limit: int = 250_000

    def __post_init__(self) -> None:
        if not self.token:
            object.__setattr__(self, "token", token_for_seed(self.seed))
        if not self.token.startswith("pat-"):
            raise ConfigError("the HubSpot sandbox token must start with 'pat-'")
        for name in ("contacts", "rate_limit_per_10s", "search_rate_per_s", "daily_limit"):
            if getattr(self, name) < 0:
                raise ConfigError(f"HubSpot sandbox {name} must be >= 0")
        if self.search_lag_ms < 0:
            raise ConfigError("HubSpot sandbox search_lag_ms must be >= 0")

    def knobs(self) -> dict[str, Any]:
        """Return the live-adjustable knobs as a JSON-ready dict (never the token)."""
        return {name: getattr(self, name) for name in LIVE_KNOBS}

    def with_knobs(self, changes: dict[str, Any]) -> HubSpotConfig:
        """Return a copy with some live knobs changed, validated like a new config.

        Args:
            changes: knob name -> new value; only names in :data:`LIVE_KNOBS`.

        Raises:
            ConfigError: an unknown knob or a value of the wrong type or sign.
        """
        unknown = sorted(set(changes) - set(LIVE_KNOBS))
        if unknown:
            raise ConfigError(f"unknown HubSpot sandbox knobs {unknown}; known: {LIVE_KNOBS}")
        types = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not is_number or (types[name] == "int" and not isinstance(value, int)):
                raise ConfigError(f"HubSpot sandbox {name} must be a {types[name]}, got {value!r}")
        return replace(self, **changes)
