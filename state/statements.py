"""Prebuilt SQL of the rows hot path: built once, so SQLAlchemy's compiled cache serves
every later call and a batch costs one executemany, not per-row statement construction."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Integer, any_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from state.models import job_rows

# bindparam names must differ from column names used in SET clauses.
RECORD_OUTCOME = (
    update(job_rows)
    .where(job_rows.c.job_id == bindparam("p_job"), job_rows.c.row_no == bindparam("p_row"))
    .values(
        status=bindparam("p_status"),
        lead_id=bindparam("p_lead"),
        reason=bindparam("p_reason"),
        message=bindparam("p_message"),
        updated_at=bindparam("p_now"),
    )
)


@cache
def stage_statement(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Re-staging after a crash must not touch rows that progressed since: DO NOTHING.
    return insert(job_rows).on_conflict_do_nothing(index_elements=["job_id", "row_no"])


_CLAIM_VALUES = {
    "status": "in_flight",
    "attempts": job_rows.c.attempts + 1,
    "updated_at": bindparam("p_now"),
}
_CLAIM_RETURNING = (job_rows.c.row_no, job_rows.c.identity, job_rows.c.payload, job_rows.c.attempts)
_CLAIM_PICK = (
    select(job_rows.c.row_no)
    .where(job_rows.c.job_id == bindparam("p_job"), job_rows.c.status == "pending")
    .order_by(job_rows.c.row_no)
    .limit(bindparam("p_limit"))
)

# SQLite: one statement; BEGIN IMMEDIATE already serializes claimers.
CLAIM_SQLITE = (
    update(job_rows)
    .where(
        job_rows.c.job_id == bindparam("p_job"),
        job_rows.c.status == "pending",
        job_rows.c.row_no.in_(_CLAIM_PICK.scalar_subquery()),
    )
    .values(**_CLAIM_VALUES)
    .returning(*_CLAIM_RETURNING)
)

# PostgreSQL: lock the picked rows (SKIP LOCKED: concurrent claimers take other rows
# instead of queueing), then update exactly that list. Two statements on purpose: inside
# one UPDATE, "IN (SELECT ... SKIP LOCKED LIMIT n)" may be re-run per row and claim far
# more than n, and a CTE join gets a nested-loop plan over every pending row while the
# table's statistics are stale (50 ms per claim measured after staging 5,000 rows).
CLAIM_PG_PICK = _CLAIM_PICK.with_for_update(skip_locked=True)
CLAIM_PG_UPDATE = (
    update(job_rows)
    .where(
        job_rows.c.job_id == bindparam("p_job"),
        job_rows.c.status == "pending",
        job_rows.c.row_no == any_(bindparam("p_rows", type_=postgresql.ARRAY(Integer))),
    )
    .values(**_CLAIM_VALUES)
    .returning(*_CLAIM_RETURNING)
)
