"""Seeded fault injection and latency jitter.

Two independent RNGs seeded from the config seed: one for faults, one for latency, so
turning latency on does not change which requests fail. The same seed and the same
request sequence give the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Kinds of injected failure and their relative weights.
BEFORE_KINDS: tuple[str, ...] = ("500", "502", "503", "504", "drop")
#: After the handler ran (a lead may be stored): a 503 would claim nothing happened, so no 503.
AFTER_KINDS: tuple[str, ...] = ("500", "502", "504", "drop")
#: Share of faults on a mutating request (POST/PUT/DELETE) that happen after it was applied.
AFTER_SHARE = 0.5


@dataclass(frozen=True)
class Fault:
    """One injected failure: its kind (``"500"``..``"504"``, ``"drop"``) and timing."""

    kind: str
    after: bool


class FaultInjector:
    """Draws faults and latencies from seeded generators.

    Args:
        seed: the sandbox seed.
    """

    def __init__(self, seed: int) -> None:
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart both sequences from ``seed``."""
        self._faults = random.Random(f"faults:{seed}")
        self._latency = random.Random(f"latency:{seed}")

    def draw(self, rate: float, *, mutating: bool) -> Fault | None:
        """Decide whether this request fails, and how.

        Args:
            rate: probability of a fault (0..1).
            mutating: POST/PUT/DELETE: may fail after being applied.
        """
        rng = self._faults
        if rng.random() >= rate:
            return None
        after = mutating and rng.random() < AFTER_SHARE
        kinds = AFTER_KINDS if after else BEFORE_KINDS
        return Fault(kind=kinds[rng.randrange(len(kinds))], after=after)

    def latency(self, mean_ms: float) -> float:
        """Seconds to wait: ``mean_ms`` with uniform +/-50% jitter."""
        return mean_ms * self._latency.uniform(0.5, 1.5) / 1000.0
