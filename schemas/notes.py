"""Render AI/analysis columns and extra columns into ``notes`` (the vendor's Markdown).

Structured AI fields may be invisible in the LeadGenius UI table, so the vendor's guide
aggregates them into ``notes``. Layout, each part only when it has a value, parts
separated by a blank line, appended after the notes the row already had::

    <existing notes>

    ## AI SCORE: <aiLeadScore> (<leadScore>/100)

    ### JUSTIFICATION
    <justification>

    ### STRATEGIC RECOMMENDATIONS
    <recommendations>

    ### SDR SYNTHESIS
    <sdr synthesis>

    ### QUALIFICATION
    <aiQualification>

    ### <Extra column name>
    <value>

The score line shows ``-`` for a missing ``aiLeadScore`` and drops ``(…/100)`` when
``leadScore`` is missing; it is left out when both are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from schemas.sanitize import null_where

#: Section title -> the fields feeding it, first non-null wins.
AI_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JUSTIFICATION", ("justification", "aiJustification")),
    ("STRATEGIC RECOMMENDATIONS", ("recommendations", "aiRecommendations")),
    ("SDR SYNTHESIS", ("sdrSynthesis", "aiSdrSynthesis")),
    ("QUALIFICATION", ("aiQualification",)),
)

#: Fields that feed the rendered block (they stay in the payload as fields too).
AI_NOTE_FIELDS: frozenset[str] = frozenset(
    {"aiLeadScore", "leadScore"} | {f for _, group in AI_SECTIONS for f in group}
)


def _first(columns: Mapping[str, pl.Series], names: Sequence[str]) -> pl.Expr:
    present = [pl.lit(columns[n]) for n in names if n in columns]
    if not present:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(present) if len(present) > 1 else present[0]


def render_notes(
    columns: Mapping[str, pl.Series],
    extras: Sequence[tuple[str, pl.Series]],
) -> pl.Series | None:
    """Build the ``notes`` column, or None when nothing feeds it.

    Args:
        columns: cleaned payload columns by field name (``notes``, AI fields, ...).
        extras: (section title, cleaned values) of the extra columns, in file order.
    """
    parts: list[pl.Expr] = []
    if "notes" in columns:
        parts.append(pl.lit(columns["notes"]))
    score, lead = columns.get("aiLeadScore"), columns.get("leadScore")
    if score is not None or lead is not None:
        ai = pl.lit(score) if score is not None else pl.lit(None, dtype=pl.String)
        pct = pl.lit(lead) if lead is not None else pl.lit(None, dtype=pl.String)
        heading = pl.concat_str(
            [
                pl.lit("## AI SCORE: "),
                ai.fill_null("-"),
                pl.concat_str([pl.lit(" ("), pct, pl.lit("/100)")]).fill_null(""),
            ]
        )
        parts.append(pl.when(ai.is_not_null() | pct.is_not_null()).then(heading))
    for title, names in AI_SECTIONS:
        if any(n in columns for n in names):
            parts.append(pl.concat_str([pl.lit(f"### {title}\n"), _first(columns, names)]))
    for title, values in extras:
        parts.append(pl.concat_str([pl.lit(f"### {_one_line(title)}\n"), pl.lit(values)]))
    if not parts:
        return None
    notes = pl.select(pl.concat_str(parts, separator="\n\n", ignore_nulls=True)).to_series()
    return null_where(notes, notes.str.len_bytes() == 0).alias("notes")


def _one_line(title: str) -> str:
    return " ".join(title.split()) or "Column"
