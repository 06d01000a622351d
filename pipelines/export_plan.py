"""What an export is (its request and fingerprint), what it has done (its checkpoint),
and what it reports (its manifest and summary). Plain data and pure functions.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from etl.errors import ConfigError
from etl.sinks.parts import FORMATS, PartFormat
from schemas.export import Column, ColumnKind, column_for, export_columns

Source = Literal["enrich", "source"]
ENDPOINTS: dict[str, str] = {"enrich": "/api/enrich-leads/list", "source": "/api/source-leads/list"}
#: ``--client-id`` values that mean "every client".
ALL_CLIENTS = frozenset({"", "ALL", "DEFAULT"})
MAX_PAGE_SIZE = 5000
CHECKPOINT_KEY = "export"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ExportRequest:
    """One ``lgetl export leads`` invocation, validated.

    Attributes:
        out_dir: the export directory (absolute).
        company_id: the company to export.
        base_url: the API root (part of the job identity: another server is another source).
        source: ``enrich`` or ``source`` leads.
        client_id: one client slug, or None for every client.
        fields: the projection (``id`` always included), or None for every field.
        page_size: records per request (1..5,000).
        fmt: ``parquet``, ``csv`` or ``ndjson``.
        partition_by: ``client_id`` for hive-style directories, or None.
        part_rows: a part is written once this many rows are buffered (whole pages).
    """

    out_dir: Path
    company_id: str
    base_url: str
    source: Source = "enrich"
    client_id: str | None = None
    fields: tuple[str, ...] | None = None
    page_size: int = MAX_PAGE_SIZE
    fmt: PartFormat = "parquet"
    partition_by: Literal["client_id"] | None = None
    part_rows: int = 50_000

    @classmethod
    def build(
        cls,
        *,
        out_dir: Path,
        company_id: str,
        base_url: str,
        source: str = "enrich",
        client_id: str | None = None,
        fields: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        fmt: str = "parquet",
        partition_by: str | None = None,
        part_rows: int = 50_000,
    ) -> ExportRequest:
        """Validate and normalise raw option values.

        Raises:
            ConfigError: an invalid option (exit 2), with what to use instead.
        """
        if not company_id or not company_id.strip():
            raise ConfigError("--company-id is required: the company whose leads to export")
        if source not in ENDPOINTS:
            raise ConfigError(f"--source must be enrich or source, not {source!r}")
        if fmt not in FORMATS:
            raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"--page-size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        if part_rows < 1:
            raise ConfigError(f"--part-rows must be at least 1, not {part_rows}")
        if partition_by not in (None, "client_id"):
            raise ConfigError(f"--partition-by only supports client_id, not {partition_by!r}")
        projection: tuple[str, ...] | None = None
        if fields is not None:
            names = [f.strip() for f in fields.split(",") if f.strip()]
            if not names:
                raise ConfigError("--fields is empty: list field names, e.g. --fields email,title")
            if partition_by and "client_id" not in names:
                names.append("client_id")  # the partition value comes from the data
            projection = tuple(dict.fromkeys(names))
        client = None if client_id is None or client_id.strip() in ALL_CLIENTS else client_id
        return cls(
            out_dir=out_dir.expanduser().resolve(),
            company_id=company_id.strip(),
            base_url=base_url.rstrip("/"),
            source=source,  # type: ignore[arg-type]  # checked above
            client_id=client,
            fields=projection,
            page_size=page_size,
            fmt=fmt,
            partition_by=partition_by,  # type: ignore[arg-type]  # checked above
            part_rows=part_rows,
        )

    def params(self) -> dict[str, Any]:
        """Everything that decides the output (never a credential): the job identity."""
        return {
            "base_url": self.base_url,
            "endpoint": ENDPOINTS[self.source],
            "source": self.source,
            "company_id": self.company_id,
            "client_id": self.client_id,
            "fields": list(self.fields) if self.fields else None,
            "page_size": self.page_size,
            "format": self.fmt,
            "partition_by": self.partition_by,
            "part_rows": self.part_rows,
        }

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`params` (canonical JSON)."""
        canonical = orjson.dumps(self.params(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()

    def base_columns(self) -> tuple[Column, ...]:
        """The fixed leading columns (all known ones, or id + the projection)."""
        return export_columns(self.fields)


@dataclass
class PartRecord:
    """A committed part: where, how big, and how many extra columns it was written with."""

    path: str
    rows: int
    bytes: int
    extras: int
    partition: str | None = None


@dataclass
class Checkpoint:
    """An export's progress, committed after each batch of parts.

    ``next_token`` is the cursor *after* the last page in a committed part; ``exhausted``
    says the last page has been written (only widening and the manifest remain).
    """

    started_at: float
    next_token: str | None = None
    exhausted: bool = False
    pages: int = 0
    next_part: int = 0
    rows: int = 0
    duplicates: int = 0
    without_id: int = 0
    coercions: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    parts: list[PartRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON stored in the state store."""
        doc = asdict(self)
        doc["parts"] = [[p.path, p.rows, p.bytes, p.extras, p.partition] for p in self.parts]
        doc["version"] = 1
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Checkpoint:
        """Read a stored checkpoint back."""
        values = {k: v for k, v in doc.items() if k not in ("parts", "version")}
        parts = [PartRecord(*entry) for entry in doc.get("parts", [])]
        return cls(**values, parts=parts)

    @property
    def bytes(self) -> int:
        """Size of the committed parts."""
        return sum(p.bytes for p in self.parts)


_TYPE_NAMES: dict[ColumnKind, str] = {
    "string": "string",
    "int64": "int64",
    "float64": "float64",
    "timestamp": "timestamp[us, UTC]",
}


def iso(epoch: float) -> str:
    """Epoch seconds as ISO 8601 UTC (``2026-01-02T03:04:05Z``)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def all_columns(request: ExportRequest, extras: list[str]) -> list[Column]:
    """Every column of the export, in file order (before the partition column is dropped)."""
    return [*request.base_columns(), *(column_for(name) for name in extras)]


def build_manifest(
    request: ExportRequest, checkpoint: Checkpoint, *, finished_at: float, version: str
) -> dict[str, Any]:
    """The ``_manifest.json`` document of a complete export (no credential inside)."""
    columns = all_columns(request, checkpoint.extra_columns)
    return {
        "manifest_version": MANIFEST_VERSION,
        "complete": True,
        "tool": f"lgetl {version}",
        "fingerprint": request.fingerprint(),
        "source": {
            k: v
            for k, v in request.params().items()
            if k not in ("format", "partition_by", "part_rows")
        },
        "output": {
            "format": request.fmt,
            "compression": "zstd" if request.fmt == "parquet" else None,
            "partition_by": request.partition_by,
            "part_rows": request.part_rows,
        },
        "columns": [
            {
                "name": c.name,
                "type": _TYPE_NAMES[c.kind],
                "known": c.known,
                "in_files": c.name != request.partition_by,
            }
            for c in columns
        ],
        "extra_columns": list(checkpoint.extra_columns),
        "rows": checkpoint.rows,
        "bytes": checkpoint.bytes,
        "pages": checkpoint.pages,
        "parts": [
            {
                "path": p.path,
                "rows": p.rows,
                "bytes": p.bytes,
                **(
                    {"partition": {request.partition_by: p.partition}}
                    if request.partition_by
                    else {}
                ),
            }
            for p in checkpoint.parts
        ],
        "duplicates_dropped": checkpoint.duplicates,
        "rows_without_id": checkpoint.without_id,
        "coercion_warnings": {
            "total": sum(checkpoint.coercions.values()),
            "by_column": dict(sorted(checkpoint.coercions.items())),
        },
        "started_at": iso(checkpoint.started_at),
        "finished_at": iso(finished_at),
    }


@dataclass
class ExportSummary:
    """What ``lgetl export leads`` reports at the end (and writes with ``--summary-json``)."""

    status: Literal["complete", "already_complete"]
    out_dir: str
    rows: int
    parts: int
    bytes: int
    rows_this_run: int = 0
    pages_this_run: int = 0
    seconds: float = 0.0
    duplicates_dropped: int = 0
    rows_without_id: int = 0
    coercion_warnings: int = 0
    coercions_by_column: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    resumed: bool = False
    stray_files_removed: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0

    @property
    def rows_per_s(self) -> float:
        """Rows written by this run per second of this run."""
        return self.rows_this_run / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``--summary-json``)."""
        return {**asdict(self), "rows_per_s": round(self.rows_per_s, 1)}

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        if self.status == "already_complete":
            return [
                f"export already complete in {self.out_dir}: {self.rows} rows in {self.parts} "
                "parts (see _manifest.json); nothing to do"
            ]
        lines = [
            f"export complete: {self.rows} rows in {self.parts} parts, "
            f"{self.bytes / 1e6:.1f} MB in {self.out_dir}",
            f"this run: {self.rows_this_run} rows from {self.pages_this_run} pages in "
            f"{self.seconds:.1f} s ({self.rows_per_s:,.0f} rows/s); requests {self.requests}, "
            f"retries {self.retries}, 429s {self.throttled}",
            f"duplicates dropped {self.duplicates_dropped}, rows without id "
            f"{self.rows_without_id}, coercion warnings {self.coercion_warnings}",
        ]
        if self.coercions_by_column:
            worst = ", ".join(f"{k}={v}" for k, v in sorted(self.coercions_by_column.items()))
            lines.append(f"values nulled (not convertible to the column type): {worst}")
        if self.extra_columns:
            lines.append(
                f"extra columns (unknown fields, as strings): {', '.join(self.extra_columns)}"
            )
        return lines
