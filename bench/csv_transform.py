"""Benchmark the CSV dry-run path against a row-by-row csv.DictReader baseline.

Generates a dirty CSV (default 1,000,000 rows: stray spaces, invisible characters, upper-case
and invalid emails, missing names, punctuation last names, duplicates, quoted delimiters and
newlines, ragged rows, blank lines, unicode, formula-like values) in a temp dir, then runs,
each in a fresh subprocess:

* ``polars``: the ``lgetl import csv --dry-run`` path: ``prepare_csv`` keeping the three
  sample payloads (counts, reasons and rejects are complete) + ``summary()``;
* ``import``: the same with every accepted payload kept in memory, as an import stages them
  (shown for reference; the target is on the dry-run path);
* ``read``: reading alone (cutting, parsing, ragged rows; no mapping or checks), the
  floor under both polars paths;
* ``baseline``: ``csv.DictReader`` applying the same rules one row at a time in Python.

Each child sets up its process as ``lgetl import csv`` does (memory allocators, see
:mod:`etl.allocator`; polars' default engine and thread pool, see :mod:`etl.engine`).
Prints rows/s, wall time, CPU time and peak RSS of each child (the polars paths: the
median of ``--repeat`` runs), and the speed ratio.
Targets (issue 4): >= 10x the baseline, < 10 s and < 1.5 GB peak RSS for 1,000,000 rows.
No asserts: figures only.

    .venv/bin/python bench/csv_transform.py [--rows N] [--keep DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

HEADER = [
    "First Name", "Last Name", "Email", "Company", "Website", "LinkedIn", "Job Title",
    "Phone", "AI Score", "Lead Score", "Justification", "Recommendations", "Source", "Tags",
]  # fmt: skip

FIRST = ["Jane", "John", "Ana", "Zoë", "Björn", "Li", "Mary Ann", "José", "Ольга", "Amir"]
LAST = ["Doe", "Smith", "O'Brien", "García", "Nguyen", "Müller", "Ivanov", "van Dijk"]
COMPANIES = ["Acme", "Globex, Inc.", "Initech", "Umbrella Corp", "Stark Industries", "Hooli"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a dirty CSV of ``rows`` data records (plus a few blank lines)."""
    rnd = random.Random(seed)
    ascii_first = {"Zoë": "zoe", "Björn": "bjorn", "José": "jose", "Ольга": "olga"}
    ascii_last = {
        "O'Brien": "obrien",
        "García": "garcia",
        "Müller": "muller",
        "van Dijk": "vandijk",
    }
    email = ""
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(rows):
            if i and i % 997 == 0:
                handle.write("only,three,fields\r\n")  # ragged: rejected malformed_row
                continue
            if i % 50_000 == 1:
                handle.write("\r\n")  # blank line: not a record (does not count)
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            company = rnd.choice(COMPANIES)
            n = i if i % 53 else i - 1  # ~2% repeat the previous row's email: duplicates
            if i % 53:
                local_first = ascii_first.get(first, first.split()[0].lower())
                email = f"{local_first}.{ascii_last.get(last, last.lower())}{n}@co{n % 5000}.com"
            roll = rnd.random()
            written = email
            if roll < 0.03:
                written = email.replace("@", "")  # invalid
            elif roll < 0.10:
                written = f"  {email.upper()} "
            if rnd.random() < 0.05:
                first = last = ""  # derived from the email
            elif rnd.random() < 0.01:
                last = "."  # bug 6 -> "-"
            if rnd.random() < 0.01:
                first = f"\u200b{first}\u00a0"
            out.writerow(
                [
                    f" {first} ",
                    last.replace(" ", "  "),
                    written,
                    company if rnd.random() > 0.01 else '=HYPERLINK("http://x.test","x")',
                    rnd.choice([f"https://www.co{n % 5000}.com/about", f"co{n % 5000}.com", ""]),
                    f"linkedin.com/in/{first.lower()}-{i}/" if rnd.random() < 0.6 else "",
                    rnd.choice(["VP Sales", "  CTO ", "Head of\tGrowth", ""]),
                    rnd.choice(["+1 555 0100", "0044 20 7946 0000", ""]),
                    rnd.choice(["Hot", "Warm", "Cold", ""]),
                    str(rnd.randint(0, 100)),
                    "Strong fit.\nBudget confirmed." if rnd.random() < 0.1 else "Fit",
                    "Call, then email" if rnd.random() < 0.3 else "",
                    rnd.choice(["webinar", "list-2026", "referral"]),
                    "a|b" if rnd.random() < 0.2 else "",
                ]
            )


def run_child(kind: str, path: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; return its JSON figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(kind: str, path: Path) -> None:
    """Inside the subprocess: time one path, print figures as JSON."""
    wall, cpu = time.perf_counter(), time.process_time()
    from etl.allocator import configure_allocator
    from etl.engine import CSV_WORKERS, leave_cores_to_workers, prefer_in_memory_engine

    configure_allocator()  # as the ``lgetl`` entry point does, before polars is imported
    prefer_in_memory_engine()
    if kind != "baseline":
        leave_cores_to_workers()  # as ``lgetl import csv`` does
    if kind in ("polars", "import"):
        from pipelines.csv_prepare import CsvOptions, prepare_csv

        keep = 3 if kind == "polars" else None  # the dry run keeps its 3 samples
        summary = prepare_csv(path, CsvOptions(), keep_accepted=keep).summary()
    elif kind == "read":
        from etl.sources.csv import open_csv

        source = open_csv(path)  # (the same chunk size as CsvOptions)
        chunks = source.map_chunks(_nothing, workers=CSV_WORKERS)  # (as many workers too)
        kept = sum(chunk.rows.height for chunk, _ in chunks)
        summary = {"rows_read": source.rows_read, "accepted": kept}
        summary["rejected"] = {"malformed_row": source.rows_read - kept}
    else:
        summary = baseline(path)
    figures = {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows_read": summary["rows_read"],
        "accepted": summary["accepted"],
        "rejected": sum(summary["rejected"].values()),  # type: ignore[union-attr]
    }
    print(json.dumps(figures))


def _nothing(chunk: object) -> None:
    del chunk


# -- the baseline: the same rules, one row at a time ------------------------------------

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_TEXT_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_LINKEDIN = re.compile(r"^(?:https?://)?(?:[a-z]{2,3}\.)?(?:www\.)?linkedin\.com/in/([^/?#\s]+)")
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_PUNCT = re.compile(r"^[\W_]+$")


def _line(value: str | None) -> str | None:
    if not value:
        return None
    value = _SPACES.sub(" ", _INVISIBLE.sub("", value)).strip()
    return value or None


def _text(value: str | None) -> str | None:
    if not value:
        return None
    value = _TEXT_CTRL.sub("", _INVISIBLE.sub("", value).replace("\r\n", "\n")).strip()
    return re.sub(r"\n{3,}", "\n\n", value) or None


def _host(value: str | None) -> str | None:
    value = _line(value)
    if not value:
        return None
    value = value.lower().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    value = value[4:] if value.startswith("www.") else value
    return value if _HOST.match(value) else None


def baseline(path: Path) -> dict[str, object]:
    """The same rules, one row at a time, with csv.DictReader (no polars)."""
    from etl.sources.mapping import resolve_mapping
    from schemas.lead import (
        DEFAULT_CAP,
        FIELD_CAPS,
        MAX_PAYLOAD_BYTES,
        MULTILINE_FIELDS,
        OUTPUT_FIELDS,
    )
    from schemas.sanitize import FREE_MAIL_DOMAINS

    reasons: dict[str, int] = {}
    seen: dict[str, int] = {}
    accepted = rows_read = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames is not None
        mapping = resolve_mapping(list(reader.fieldnames), fields=OUTPUT_FIELDS)
        width = len(reader.fieldnames)
        previous = 1
        for row in reader:
            line, previous = previous + 1, reader.line_num
            rows_read += 1
            reason = None
            if len(row) != width or None in row.values():
                reasons["malformed_row"] = reasons.get("malformed_row", 0) + 1
                continue
            lead: dict[str, str] = {}
            for column, name in mapping.fields.items():
                clean = _text(row[column]) if name in MULTILINE_FIELDS else _line(row[column])
                if clean:
                    lead[name] = clean
            email = lead.get("email", "").lower().removeprefix("mailto:") or None
            if email:
                lead["email"] = email
            if email and not _EMAIL.match(email):
                reason = "invalid_email"
            if "linkedinUrl" in lead:
                found = _LINKEDIN.match(lead["linkedinUrl"].lower())
                if found:
                    lead["linkedinUrl"] = "https://www.linkedin.com/in/" + found.group(1)
            domain = _host(lead.get("companyDomain")) or _host(lead.get("companyUrl"))
            if not domain and email and "@" in email and reason is None:
                domain = email.split("@", 1)[1]
                domain = None if domain in FREE_MAIL_DOMAINS else domain
            lead.pop("companyDomain", None)
            if domain:
                lead["companyDomain"] = domain
            first, last = lead.get("firstName"), lead.get("lastName")
            for donor in (email if reason is None else None, lead.get("linkedinUrl")):
                if donor and (not first or not last):
                    words = _WORDS.findall(donor.split("@")[0].split("+")[0])
                    first = first or (words[0].title() if words else donor.split("@")[0])
                    last = last or (words[-1].title() if len(words) > 1 else None)
            last = last or "-"
            last = "-" if _PUNCT.match(last) else last
            if first:
                lead["firstName"] = first
            lead["lastName"] = last
            notes = [lead["notes"]] if "notes" in lead else []
            score, pct = lead.get("aiLeadScore"), lead.get("leadScore")
            if score or pct:
                notes.append(f"## AI SCORE: {score or '-'}" + (f" ({pct}/100)" if pct else ""))
            for title, key in (("JUSTIFICATION", "justification"),
                               ("STRATEGIC RECOMMENDATIONS", "recommendations")):  # fmt: skip
                if key in lead:
                    notes.append(f"### {title}\n{lead[key]}")
            for column in mapping.extras:
                value = _text(row[column])
                if value:
                    notes.append(f"### {column}\n{value}")
            if notes:
                lead["notes"] = "\n\n".join(notes)
            key = (
                f"email:{email}"
                if email
                else f"linkedin:{lead['linkedinUrl'].lower()}"
                if "linkedinUrl" in lead
                else None
            )
            if reason is None and key is None:
                reason = "missing_identity"
            if reason is None:
                for name, value in lead.items():
                    if len(value) > FIELD_CAPS.get(name, DEFAULT_CAP):
                        reason = "field_too_long"
                if sum(len(k) + len(v.encode()) for k, v in lead.items()) > MAX_PAYLOAD_BYTES:
                    reason = "payload_too_large"
            if reason is None and not first:
                reason = "missing_name"
            if reason is None and key in seen:
                reason = "duplicate_in_file"
            if reason is None:
                seen[key] = line  # type: ignore[index]
                accepted += 1
            else:
                reasons[reason] = reasons.get(reason, 0) + 1
    return {"rows_read": rows_read, "accepted": accepted, "rejected": reasons}


def _median(runs: Iterable[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time (its own CPU and counts); the highest peak RSS."""
    ordered = sorted(runs, key=lambda fig: fig["wall_s"])
    return {**ordered[len(ordered) // 2], "peak_rss_mb": max(f["peak_rss_mb"] for f in ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the CSV here and keep it")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--only", choices=["polars", "import", "read", "baseline"], help="run one side"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each polars path, median shown (this machine swings ~20%% run to run)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / "dirty_leads.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(path, args.rows)
        size = path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows, {size:.0f} MB in {time.perf_counter() - started:.1f} s"
        )
        # The children import the project from bytecode, as an installed package does
        # (an editable install run with PYTHONDONTWRITEBYTECODE, as here, would compile
        # every module again at each start: ~20 ms).
        root = Path(__file__).resolve().parent.parent
        for package in ("etl", "schemas", "pipelines"):
            compileall.compile_dir(root / package, quiet=1)
        results = {}
        for kind in ("polars", "import", "read", "baseline"):
            if args.only and kind != args.only:
                continue
            runs = 1 if kind == "baseline" else max(args.repeat, 1)
            fig = _median(run_child(kind, path) for _ in range(runs))
            results[kind] = fig
            rate = fig["rows_read"] / fig["wall_s"]
            ok, bad = ("well-formed", "malformed") if kind == "read" else ("accepted", "rejected")
            print(
                f"{kind:>8}: {fig['wall_s']:6.2f} s wall, {fig['cpu_s']:6.2f} s CPU, "
                f"{rate:>10,.0f} rows/s, peak RSS {fig['peak_rss_mb']:,.0f} MB, "
                f"{ok} {fig['accepted']:,}, {bad} {fig['rejected']:,}"
            )
        if "baseline" in results:
            base = results["baseline"]
            for kind in (k for k in ("polars", "import") if k in results):
                fig = results[kind]
                print(
                    # (two decimals: a 9.97x must not read as 10.0x)
                    f"   ratio: {kind} {base['wall_s'] / fig['wall_s']:.2f}x faster (wall), "
                    f"{base['cpu_s'] / fig['cpu_s']:.1f}x (CPU)"
                    + ("  [target >= 10x, < 10 s, < 1.5 GB]" if kind == "polars" else "")
                )
                same = all(fig[k] == base[k] for k in ("rows_read", "accepted", "rejected"))
                print(f"  counts: {'identical' if same else 'DIFFER'} ({kind} vs baseline)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
