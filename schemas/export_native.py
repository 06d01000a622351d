"""A bulk page's JSON bytes straight to typed Arrow columns: the export's fast path.

The general path (:class:`schemas.export.Page`) has orjson build Python objects and then
converts them one value at a time. Here Arrow's C++ JSON reader builds the columns from
the response body instead, with an explicit schema, and the result is exactly the table
the general path builds from the same body, or nothing: :meth:`PageReader.read` returns
``None`` (the caller then uses the general path for that page) whenever it cannot
guarantee that, e.g. for a value of another JSON type than planned, a value the rules
would null or convert through a float, a field not seen before (drift), a record that is
not an object, an envelope of another shape, or a body orjson would refuse (invalid
UTF-8, a byte-order mark, ``NaN``).

Each column is read following a *plan*, learned from the JSON types held by the pages
the general path converts (:meth:`PageReader.learn`: the first page, and any page the
reader declined); a column no such page held yet is read by its kind's default:

=======  ==========================  ============================================
plan     Arrow JSON type             then
=======  ==========================  ============================================
string   string                      as is
strlist  list<string>                compact JSON text (``["aws","gcp"]``) built
                                     with Arrow kernels; declines if an element
                                     needs escaping in JSON
object   struct (fields inferred)    compact JSON text: each object is found in
                                     the body and re-encoded with orjson (as the
                                     general path does), after checking that the
                                     objects found are the objects parsed
int      int64                       as is (JSON integers only)
intstr   decimal128(19, 0)           int64; integers and integer strings
                                     (``"85"``, the API's scores); declines
                                     beyond +-2^53
float    float64                     as is (JSON numbers only)
time     string                      cast to timestamp[us, UTC] (the general
                                     path's fast-path kernel)
python   not read                    the page goes to the general path (a
                                     column mixing JSON types), then relearned
=======  ==========================  ============================================

Measured on the synthetic 1,000,000-lead export: about half the CPU of orjson plus the
value-by-value conversion (docs/export.md, "Memory and speed").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import orjson

from etl.utf8 import is_utf8
from schemas.export import Column, ColumnKind, arrow_schema, arrow_type

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.json as pj

Plan = Literal["string", "strlist", "object", "int", "intstr", "float", "time", "python"]
#: Plans of columns no converted page has held yet.
DEFAULT_PLANS: dict[ColumnKind, Plan] = {
    "string": "string",
    "int64": "intstr",
    "float64": "float",
    "timestamp": "time",
}
#: Larger integers may be spelled so that the general path converts them through a
#: float (``"9007199254740993.0"``): such pages are left to it.
EXACT_INT = 2**53
#: Characters orjson escapes inside a JSON string.
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
#: A JSON object document. Anything else is left to the general path, which reports it
#: (Arrow's reader also crashes on a top-level ``null`` and accepts a byte-order mark).
_OBJECT_START = re.compile(rb"[ \t\r\n]*\{")
_DECODER = json.JSONDecoder()
#: Where a body may hold its records, in the order the client looks (parse_page).
Container = tuple[str, ...]
CONTAINERS: tuple[Container, ...] = (("items",), ("leads",), ("data", "items"), ("data", "leads"))


@dataclass
class NativePage:
    """A page read by :class:`PageReader`.

    Attributes:
        next_token: the cursor of the next page (None on the last page).
        rows: how many records.
        ids: the ``id`` column (strings, null where a record has none).
        arrays: typed columns of the fields present on the page, by name.
    """

    next_token: str | None
    rows: int
    ids: pa.Array
    arrays: dict[str, pa.Array]

    def table(self, columns: Sequence[Column]) -> pa.Table:
        """The page with exactly ``columns`` (absent fields are nulls of their type)."""
        import pyarrow as pa

        full = [
            self.arrays[c.name]
            if c.name in self.arrays
            else pa.nulls(self.rows, arrow_type(c.kind))
            for c in columns
        ]
        return pa.Table.from_arrays(full, schema=arrow_schema(columns))


def learned_plan(kind: ColumnKind, values: Sequence[Any]) -> Plan | None:
    """How a column can be read natively, judged by one page's values (None: absent)."""
    types = set(map(type, values))
    types.discard(type(None))
    if not types:
        return None
    if kind == "string":
        if types == {str}:
            return "string"
        if types == {dict}:
            return "object"
        if types == {list} and all(
            type(x) is str or x is None for v in values if v is not None for x in v
        ):
            return "strlist"
        return "python"
    if kind == "int64":  # (bool is not int here: True goes to the general path)
        return "int" if types == {int} else "intstr" if types <= {int, str} else "python"
    if kind == "float64":
        return "float" if types <= {int, float} else "python"
    return "time" if types == {str} else "python"


class PageReader:
    """Reads bulk page bodies into typed columns with Arrow's JSON reader (see module doc).

    Not thread-safe: the export reads one page at a time.
    """

    def __init__(self) -> None:
        self.plans: dict[str, Plan] = {}
        #: Where the last page held its records: only that list is declared (each one
        #: declared costs Arrow ~0.5 ms a page); another shape costs one more parse.
        self.container: Container = CONTAINERS[0]

    def plan(self, column: Column) -> Plan:
        """How ``column`` is read now."""
        return self.plans.get(column.name, DEFAULT_PLANS[column.kind])

    def learn(self, values: Mapping[str, Sequence[Any]], columns: Sequence[Column]) -> None:
        """Revise the plans from a page the general path converted.

        Args:
            values: the page's values by field (:attr:`schemas.export.Page.values`).
            columns: the export's columns (the page's new fields included).
        """
        for column in columns:
            column_values = values.get(column.name)
            plan = None if column_values is None else learned_plan(column.kind, column_values)
            if plan is not None:
                self.plans[column.name] = plan
            elif self.plans.get(column.name) == "python":
                del self.plans[column.name]  # absent now: try natively again

    def read(self, body: bytes, columns: Sequence[Column]) -> NativePage | None:
        """Read one page body; None if only the general path can convert it exactly."""
        import pyarrow as pa

        if not self.plans:
            return None  # nothing learned yet: the general path reads the first page
        plans = tuple(self.plan(c) for c in columns)
        by_name = dict(zip((c.name for c in columns), plans, strict=True))
        if "python" in plans or by_name.get("id") != "string":
            return None  # (ids other than strings are keyed by the general path)
        # (Arrow's JSON reader does not check UTF-8; orjson, on the general path, refuses
        # a body that is not)
        if not _OBJECT_START.match(body) or not is_utf8(body):
            return None
        envelope = _parse(body, tuple(columns), plans, self.container)
        if envelope == "elsewhere":  # the records are under another key than last time
            envelope = _parse(body, tuple(columns), plans, None)
        if envelope is None or envelope == "elsewhere":
            return None
        records, next_token, self.container = envelope
        if records.null_count or {f.name for f in records.type} != set(by_name):
            return None  # a null record (the general path refuses it) or a new field
        arrays: dict[str, pa.Array] = {}
        for column, plan in zip(columns, plans, strict=True):
            raw = records.field(column.name)
            if raw.null_count == len(raw):
                continue
            typed = _typed(raw, plan, column.name, body)
            if typed is None:
                return None
            arrays[column.name] = typed
        ids = arrays.get("id", pa.nulls(len(records), pa.string()))
        return NativePage(next_token, len(records), ids, arrays)


def _parse(
    body: bytes, columns: tuple[Column, ...], plans: tuple[Plan, ...], container: Container | None
) -> tuple[pa.StructArray, str | None, Container] | Literal["elsewhere"] | None:
    """Parse a body declaring the records under ``container`` (None: under every key the
    client accepts): the records, the cursor and where the records were; ``"elsewhere"``
    if they are under another key; None if Arrow refuses the body or it holds NaN."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        doc = pj.read_json(
            pa.BufferReader(body),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(body) + 1),
            parse_options=_parse_options(columns, plans, container),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if doc.num_rows != 1:  # several JSON documents in one body: not JSON
        return None
    row = doc.combine_chunks().to_batches()[0]
    found = _records(row, container)
    if found is None or found == "elsewhere":
        return found
    records, used = found
    if _non_finite_outside(row, used):
        return None  # Arrow reads NaN and Infinity, orjson refuses them
    token = row.column("nextToken")[0].as_py()
    data = row.column("data")
    if token is None and data.is_valid()[0].as_py():
        token = data.field("nextToken")[0].as_py()
    return records, token or None, used


@lru_cache(maxsize=16)
def _parse_options(
    columns: tuple[Column, ...], plans: tuple[Plan, ...], container: Container | None
) -> pj.ParseOptions:
    """Arrow JSON options for a body ``{<records>, nextToken, data: {nextToken}}``.

    Fields not declared are inferred (``"infer"``): in a record, that is how a new field
    shows up; around the records, it tolerates envelope fields like ``success``/``count``.
    """
    import pyarrow as pa
    import pyarrow.json as pj

    json_types = {
        "string": pa.string(),
        "strlist": pa.list_(pa.string()),
        "object": pa.struct([]),
        "int": pa.int64(),
        "intstr": pa.decimal128(19, 0),
        "float": pa.float64(),
        "time": pa.string(),
    }
    fields = [pa.field(c.name, json_types[p]) for c, p in zip(columns, plans, strict=True)]
    records = pa.list_(pa.struct(fields))
    top: list[tuple[str, pa.DataType]] = [("nextToken", pa.string())]
    under_data: list[tuple[str, pa.DataType]] = [("nextToken", pa.string())]
    for path in CONTAINERS if container is None else (container,):
        (top if len(path) == 1 else under_data).append((path[-1], records))
    schema = pa.schema([*top, ("data", pa.struct(under_data))])
    return pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")


def _records(
    row: pa.RecordBatch, container: Container | None
) -> tuple[pa.StructArray, Container] | Literal["elsewhere"] | None:
    """The records where :func:`etl.client.pagination.parse_page` takes them: the first
    of ``items``, ``leads``, ``data.items``, ``data.leads`` that is set."""
    for path in CONTAINERS:
        values = _at(row, path)
        if values is None or not values.is_valid()[0].as_py():
            continue
        if container is not None and path != container:
            return "elsewhere"
        return values.flatten(), path
    return None  # no records: the general path raises the documented error


def _at(row: pa.RecordBatch, path: Container) -> pa.Array | None:
    if path[0] not in row.schema.names:
        return None
    values = row.column(path[0])
    for name in path[1:]:
        if not values.is_valid()[0].as_py() or values.type.get_field_index(name) < 0:
            return None
        values = values.field(name)
    return values


def _non_finite_outside(row: pa.RecordBatch, used: Container) -> bool:
    """Whether a field around the records holds NaN or Infinity. (In the records: a float
    column is checked by :func:`_typed`, an object is re-read by orjson, and every other
    planned type refuses them.)"""
    data = row.column("data")
    outside = [row.column(n) for n in row.schema.names if n not in ("data", used[0])]
    if len(used) == 1:
        outside.append(data)
    else:
        outside += [data.field(f.name) for f in data.type if f.name != used[1]]
    return any(_non_finite(values) for values in outside)


def _non_finite(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a float anywhere in ``values`` (nested included) is NaN or infinite."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_floating(kind):
        return bool(pc.any(pc.invert(pc.is_finite(values))).as_py())
    if isinstance(values, pa.ChunkedArray):
        return any(_non_finite(chunk) for chunk in values.chunks)
    if pa.types.is_struct(kind):
        return any(_non_finite(values.field(i)) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _non_finite(values.flatten())
    return False


def _typed(raw: pa.Array, plan: Plan, name: str, body: bytes) -> pa.Array | None:
    """One column in its export type, or None to leave the page to the general path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if plan in ("string", "int"):
            return raw
        if plan == "float":  # (Arrow reads NaN and Infinity, orjson refuses them)
            return raw if pc.all(pc.is_finite(raw)).as_py() is not False else None
        if plan == "time":
            return pc.cast(raw, arrow_type("timestamp"))
        if plan == "intstr":
            ints = pc.cast(raw, pa.int64())
            bounds = pc.min_max(ints)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            return ints if low >= -EXACT_INT and high <= EXACT_INT else None
        if plan == "strlist":
            return _list_texts(raw)
        if plan == "object":
            return _object_texts(body, name, raw)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return None


def _list_texts(lists: pa.ListArray) -> pa.Array | None:
    """``["a","b"]`` per list (orjson's compact form; null elements as ``null``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = lists.flatten()
    if len(values) and pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        return None  # escaping is orjson's business: general path
    if not values.null_count:  # the usual case: join with '","', then wrap
        wrapped = pc.binary_join_element_wise('["', pc.binary_join(lists, '","'), '"]', "")
        return pc.if_else(pc.equal(pc.list_value_length(lists), 0), "[]", wrapped)
    quoted = pc.fill_null(pc.binary_join_element_wise('"', values, '"', ""), "null")
    offsets = pc.subtract(lists.offsets, lists.offsets[0])
    rebuilt = pa.ListArray.from_arrays(offsets, quoted, mask=lists.is_null())
    return pc.binary_join_element_wise("[", pc.binary_join(rebuilt, ","), "]", "")


def _object_texts(body: bytes, name: str, objects: pa.StructArray) -> pa.Array | None:
    """Each object's compact JSON text, as ``orjson.dumps(orjson.loads(its bytes))``.

    The objects are found in the body after their key (``"name":``), their extent by the
    standard JSON scanner, their value decoded by orjson, so the text is the general
    path's. Declines unless the key only occurs as ``"name":`` right after ``{`` or ``,``
    and the non-null values found are, in order, the objects Arrow parsed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    key = orjson.dumps(name)
    found: list[Any] = []
    at = body.find(key)
    while at != -1:
        start = at + len(key) + 1
        if body[at - 1] not in b"{," or body[start - 1 : start] != b":":
            return None  # the name as a string value, with spacing, or in an odd place
        end = _value_end(body, start)
        if end is None:
            return None
        try:
            value = orjson.loads(body[start:end])
        except orjson.JSONDecodeError:
            return None
        if value is not None:
            found.append(value)
        at = body.find(key, end)  # (occurrences inside this value belong to it)
    valid = objects.is_valid()
    parsed = objects.filter(valid).to_pylist()
    if len(parsed) != len(found):
        return None  # the key also occurs in another value
    for got, want in zip(found, parsed, strict=True):
        if type(got) is not dict or got.keys() - want.keys():
            return None
        if any(got.get(k) != v for k, v in want.items()):
            return None
    try:
        texts = pa.array([orjson.dumps(v).decode() for v in found], pa.string())
    except (TypeError, orjson.JSONEncodeError):
        return None
    # Row i takes the k-th text when it is the k-th row holding an object.
    position = pc.subtract(pc.cumulative_sum(pc.cast(valid, pa.int32())), 1)
    return texts.take(pc.if_else(valid, position, pa.scalar(None, pa.int32())))


def _value_end(body: bytes, start: int) -> int | None:
    """Where the JSON object or ``null`` starting at ``start`` ends (a byte offset).

    Scans a window of the body, widened until the value fits: a cut object or ``null`` is
    never valid, so a value found in a window is the whole value.
    """
    size = 1024
    while True:
        window = body[start : start + size].decode("utf-8", "surrogateescape")
        try:
            _, end = _DECODER.raw_decode(window)
        except ValueError:
            if start + size >= len(body):
                return None
            size *= 16
            continue
        return start + len(window[:end].encode("utf-8", "surrogateescape"))
