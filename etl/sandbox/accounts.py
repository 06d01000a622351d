"""The two seeded sandbox users, in two different companies, identical on every run."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

_NAMESPACE = uuid.UUID("6d1f3c1e-2b7a-4c55-9d0e-1a5e0c0ffee0")


@dataclass(frozen=True)
class Account:
    """A sandbox user. ``user_id`` is the JWT ``sub``; secrets are hidden from ``repr``.

    Attributes:
        email: login name.
        password: login password.
        user_id: the owner id (JWT ``sub``, ``x-user-id``).
        company_id: the company every record of this user belongs to.
        api_key: ``lgp_...`` key for ``x-api-key`` auth.
    """

    email: str
    password: str = field(repr=False)
    user_id: str
    company_id: str
    api_key: str = field(repr=False)

    def to_dict(self) -> dict[str, str]:
        """All fields, secrets included: for the sandbox banner and admin route only."""
        return {
            "email": self.email,
            "password": self.password,
            "user_id": self.user_id,
            "company_id": self.company_id,
            "api_key": self.api_key,
        }


def _account(name: str) -> Account:
    digest = hashlib.sha256(f"leadgenius-sandbox:{name}".encode()).hexdigest()
    return Account(
        email=f"{name}@example.com",
        password=f"{name}-password",
        user_id=str(uuid.uuid5(_NAMESPACE, f"user:{name}")),
        company_id=str(uuid.uuid5(_NAMESPACE, f"company:{name}")),
        api_key=f"lgp_{digest[:40]}",
    )


def seeded_accounts() -> dict[str, Account]:
    """The seeded accounts by short name: ``"demo"`` and ``"other"``."""
    return {"demo": _account("demo"), "other": _account("other")}
