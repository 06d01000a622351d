"""The sandbox's knobs: one typed config object, validated, changeable at runtime.

The same object backs the ``lgetl sandbox`` flags and the ``/_sandbox/config`` admin
route, so every knob can be set either way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etl.sandbox.errors import SandboxConfigError

BATCH_PERSIST_MODES: tuple[str, ...] = ("never", "always")

#: Knobs that only make sense before the server starts.
STARTUP_ONLY: frozenset[str] = frozenset({"host", "port"})


@dataclass
class SandboxConfig:
    """How the sandbox behaves. Mutable: the admin route changes it while running.

    Attributes:
        host: interface to bind.
        port: TCP port; 0 picks a free one.
        rate_limit: requests per rolling minute per identity; 0 = unlimited.
        latency_ms: mean latency added to every ``/api`` request (uniform +/-50% jitter).
        seed: seeds fault injection, latency jitter and synthetic data.
        fault_rate: fraction of ``/api`` requests that fail (5xx or dropped connection).
        index_lag_ms: how long a new or changed lead stays invisible to list/find routes.
        token_ttl: access/id token lifetime in seconds.
        synthetic_leads: how many synthetic enrich-lead records the demo company holds.
        batch_persist: ``"never"`` (bug 2, the real server) or ``"always"``.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    rate_limit: int = 100
    latency_ms: float = 0.0
    seed: int = 0
    fault_rate: float = 0.0
    index_lag_ms: float = 0.0
    token_ttl: float = 3600.0
    synthetic_leads: int = 0
    batch_persist: str = "never"

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def apply(self, changes: Mapping[str, Any], *, running: bool = True) -> list[str]:
        """Validate ``changes`` as a whole, then apply them; return the changed names.

        Args:
            changes: field name -> new value (JSON types; ints accepted for floats).
            running: refuse ``host``/``port`` changes when the server already listens.

        Raises:
            SandboxConfigError: unknown field, wrong type or invalid value; nothing applied.
        """
        names = {f.name: f for f in dataclasses.fields(self)}
        candidate = dataclasses.replace(self)
        for key, value in changes.items():
            if key not in names:
                raise SandboxConfigError(
                    f"unknown sandbox option {key!r}: use one of {', '.join(sorted(names))}"
                )
            if running and key in STARTUP_ONLY and value != getattr(self, key):
                raise SandboxConfigError(f"{key} cannot change while running: restart the sandbox")
            setattr(candidate, key, _coerce(key, names[key].type, value))
        validate(candidate)
        changed = [k for k in changes if getattr(self, k) != getattr(candidate, k)]
        for key in changes:
            setattr(self, key, getattr(candidate, key))
        return changed


def _coerce(key: str, type_name: object, value: object) -> object:
    """Accept JSON values for a field: ints for floats, nothing else loosely."""
    kind = str(type_name)
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    raise SandboxConfigError(f"{key} must be a {kind}, got {value!r}")


def validate(config: SandboxConfig) -> None:
    """Check every field's range.

    Raises:
        SandboxConfigError: the first invalid field, with the accepted range.
    """
    if not 0 <= config.port <= 65535:
        raise SandboxConfigError(f"port must be 0..65535 (0 = any free port), got {config.port}")
    if config.rate_limit < 0:
        raise SandboxConfigError("rate_limit must be >= 0 (0 = unlimited)")
    for name in ("latency_ms", "index_lag_ms"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise SandboxConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    if not 0.0 <= config.fault_rate <= 1.0:
        raise SandboxConfigError(f"fault_rate must be between 0 and 1, got {config.fault_rate}")
    if not (math.isfinite(config.token_ttl) and config.token_ttl > 0):
        raise SandboxConfigError(f"token_ttl must be > 0 seconds, got {config.token_ttl}")
    if config.synthetic_leads < 0:
        raise SandboxConfigError("synthetic_leads must be >= 0")
    if config.batch_persist not in BATCH_PERSIST_MODES:
        raise SandboxConfigError(
            f"batch_persist must be one of {', '.join(BATCH_PERSIST_MODES)}, "
            f"got {config.batch_persist!r}"
        )
