"""Errors of the rules layer.

Bad *rows* are never errors here: they become rejected rows with a reason code. What is
left is a broken contract inside the program itself::

    EtlError
    +-- LeadContractError    the sanitized frame has a wrong shape (a bug: report it)
"""

from __future__ import annotations

from etl.errors import EtlError


class LeadContractError(EtlError):
    """The sanitized lead frame breaks the payload contract as a whole (a bug, not data)."""
