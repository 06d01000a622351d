"""Map source column names to LeadGenius lead fields.

Order of decision for each column (``docs/csv.md``):

1. ``--mapping FILE.toml`` entries, then ``--map SRC=DST`` options (later wins).
2. The column's normalised name (lowercase, without spaces, dashes and underscores)
   equals a field's normalised name: ``Company URL`` -> ``companyUrl``.
3. A known alias: ``Given Name`` -> ``firstName``, ``Mobile`` -> ``phoneNumber``, ...
4. Anything else is an *extra* column: rendered into ``notes`` (``--extra notes``, the
   default) or dropped (``--extra drop``).

Each field takes at most one column: a later column aiming at a field already taken is an
extra column, and :attr:`ColumnMapping.shadowed` says which column won.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from etl.sources.errors import MappingError

#: ``mapping`` value of a column rendered into notes / ignored.
TO_NOTES = "(notes)"
DROPPED = "(dropped)"

#: Destinations accepted by ``--map``/``--mapping`` besides field names.
DROP_TARGET = "drop"
NOTES_TARGET = "extra"

EXTRA_POLICIES: tuple[str, ...] = ("notes", "drop")

#: Header spellings, per field, beyond the field's own name (matched normalised).
ALIASES: dict[str, tuple[str, ...]] = {
    "firstName": ("First Name", "Given Name", "First", "FName", "Forename"),
    "lastName": ("Last Name", "Surname", "Family Name", "Last", "LName"),
    "fullName": ("Full Name", "Name", "Contact Name", "Contact"),
    "email": ("Email", "Email Address", "E-mail", "Mail", "Work Email", "Business Email"),
    "phoneNumber": (
        "Phone", "Phone Number", "Mobile", "Mobile Phone", "Cell", "Cell Phone",
        "Telephone", "Tel", "Work Phone", "Direct Phone",
    ),
    "companyName": (
        "Company", "Company Name", "Organization", "Organisation", "Account",
        "Account Name", "Employer",
    ),
    "companyDomain": ("Website", "Domain", "Company Domain", "Company Website", "Web"),
    "linkedinUrl": (
        "LinkedIn", "LinkedIn URL", "LinkedIn Profile", "LinkedIn Profile URL",
        "Person LinkedIn URL",
    ),
    "title": ("Job Title", "Position", "Title", "Role", "Designation"),
    "notes": ("Notes", "Note", "Comments", "Comment"),
    "aiLeadScore": ("AI Score", "AI Lead Score"),
    "leadScore": ("Lead Score", "Score"),
    "justification": ("Justification", "Reasoning"),
    "recommendations": ("Recommendations", "Strategic Recommendations"),
    "sdrSynthesis": ("SDR Synthesis", "Synthesis"),
    "aiQualification": ("AI Qualification", "Qualification"),
}  # fmt: skip

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise(name: str) -> str:
    """Lowercase and drop spaces, dashes and underscores: ``E-mail`` -> ``email``."""
    return _SEPARATORS.sub("", name).lower()


@dataclass(frozen=True)
class ColumnMapping:
    """Where each source column goes.

    Attributes:
        columns: the source columns, in file order.
        fields: source column -> lead field (each field at most once).
        extras: columns rendered into ``notes`` as ``### <column>`` sections.
        dropped: columns ignored.
        shadowed: extra/dropped column -> the field another column already filled.
    """

    columns: tuple[str, ...]
    fields: dict[str, str]
    extras: tuple[str, ...]
    dropped: tuple[str, ...]
    shadowed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        """Source column -> field, ``(notes)`` or ``(dropped)``, in file order."""
        out = {}
        for column in self.columns:
            if column in self.fields:
                out[column] = self.fields[column]
            else:
                out[column] = TO_NOTES if column in self.extras else DROPPED
        return out


def parse_map_options(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Split ``--map SRC=DST`` values (the last ``=`` separates, so SRC may contain one)."""
    pairs = []
    for value in values:
        src, sep, dst = value.rpartition("=")
        if not sep or not src.strip() or not dst.strip():
            raise MappingError(
                f"--map {value!r}: write SOURCE_COLUMN=field, e.g. --map 'Tel=phoneNumber'"
            )
        pairs.append((src.strip(), dst.strip()))
    return tuple(pairs)


def load_mapping_file(path: Path) -> tuple[tuple[str, str], ...]:
    """Read a ``--mapping`` TOML file: a ``[columns]`` table of ``"Source" = "field"``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"--mapping {path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"--mapping {path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"columns"}
    columns = data.get("columns")
    if unknown or not isinstance(columns, dict):
        raise MappingError(
            f'--mapping {path}: expected only a [columns] table of "Source column" = "field" lines'
        )
    pairs = []
    for src, dst in columns.items():
        if not isinstance(dst, str) or not dst.strip():
            raise MappingError(f'--mapping {path}: "{src}" must map to a field name string')
        pairs.append((src, dst.strip()))
    return tuple(pairs)


def resolve_mapping(
    columns: Sequence[str],
    *,
    fields: Collection[str],
    overrides: Sequence[tuple[str, str]] = (),
    extra: str = "notes",
) -> ColumnMapping:
    """Decide where every source column goes.

    Args:
        columns: source header names, in file order.
        fields: the lead fields a column may map to.
        overrides: (source column, destination) pairs, applied in order; destination is a
            field (or an alias of one), ``drop`` or ``extra``.
        extra: ``notes`` or ``drop``: what happens to columns mapped to no field.

    Raises:
        MappingError: an override names a column not in the file or an unknown field, two
            overrides send columns to the same field, or ``extra`` is not a policy.
    """
    if extra not in EXTRA_POLICIES:
        raise MappingError(f"--extra {extra!r}: choose 'notes' or 'drop'")
    by_norm = _field_lookup(fields)
    chosen: dict[str, str] = {}  # column -> field | DROP_TARGET | NOTES_TARGET
    for src, dst in overrides:
        column = _find_column(src, columns)
        chosen[column] = _resolve_target(dst, by_norm, fields)
    taken: dict[str, str] = {}
    for column, target in chosen.items():
        if target in (DROP_TARGET, NOTES_TARGET):
            continue
        if target in taken and taken[target] != column:
            raise MappingError(
                f"--map: columns {taken[target]!r} and {column!r} both map to {target}; "
                "map one of them elsewhere (or to 'drop')"
            )
        taken[target] = column
    mapped: dict[str, str] = {}
    extras: list[str] = []
    dropped: list[str] = []
    shadowed: dict[str, str] = {}
    for column in columns:
        goal = chosen.get(column) or by_norm.get(normalise(column))
        if goal == DROP_TARGET:
            dropped.append(column)
            continue
        if goal and goal != NOTES_TARGET and taken.setdefault(goal, column) == column:
            mapped[column] = goal
            continue
        if goal and goal != NOTES_TARGET:
            shadowed[column] = goal
        forced_notes = goal == NOTES_TARGET
        (extras if forced_notes or extra == "notes" else dropped).append(column)
    return ColumnMapping(tuple(columns), mapped, tuple(extras), tuple(dropped), shadowed)


def _field_lookup(fields: Collection[str]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for name, aliases in ALIASES.items():
        if name in fields:
            for alias in aliases:
                lookup.setdefault(normalise(alias), name)
    for name in fields:  # a field's own name beats an alias ("mobilenumber")
        lookup[normalise(name)] = name
    return lookup


def _find_column(src: str, columns: Sequence[str]) -> str:
    if src in columns:
        return src
    matches = [c for c in columns if normalise(c) == normalise(src)]
    if len(matches) == 1:
        return matches[0]
    raise MappingError(
        f"--map: no column {src!r} in the file; its columns are: "
        + ", ".join(repr(c) for c in columns)
    )


def _resolve_target(dst: str, by_norm: dict[str, str], fields: Collection[str]) -> str:
    if dst in (DROP_TARGET, NOTES_TARGET) or dst in fields:
        return dst
    found = by_norm.get(normalise(dst))
    if found:
        return found
    hint = difflib.get_close_matches(dst, sorted(fields), n=1)
    suggestion = f"; did you mean {hint[0]}?" if hint else ""
    if dst == "client_id":
        suggestion = "; the target client comes from --client"
    raise MappingError(
        f"--map: {dst!r} is not a lead field (or 'drop' / 'extra'){suggestion} "
        "See docs/csv.md for the field list."
    )
