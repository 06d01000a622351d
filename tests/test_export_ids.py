"""The export's dedupe set (pipelines/export_ids.py): exact, compact, page at a time."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.export_ids import IdSet, id_key, id_keys


def _page(ids_set: IdSet, ids: list) -> list[bool]:
    keys = id_keys(ids)
    keep = ids_set.new_mask(keys)
    ids_set.add_keys(keys.filter(keep))
    return keep.to_list()


def test_repeats_within_a_page_keep_only_the_first():
    """The first occurrence of an id in a page is new; later ones are duplicates."""
    assert _page(IdSet(), ["a", "b", "a", "c", "b"]) == [True, True, False, True, False]


def test_ids_from_earlier_pages_are_duplicates():
    """An id written in page 1 is dropped from page 2."""
    seen = IdSet()
    _page(seen, ["a", "b"])
    assert _page(seen, ["b", "c"]) == [False, True]
    assert len(seen) == 3
    assert "a" in seen and "z" not in seen


def test_missing_ids_are_never_new():
    """A record without an id cannot be deduplicated: it is flagged, not kept."""
    assert _page(IdSet(), [None, "a", None]) == [False, True, False]


def test_non_string_ids_are_keyed_by_their_json_text():
    """An integer id 7 and the string "7" are the same exported value."""
    assert id_key(7) == id_key("7")
    assert _page(IdSet(), [7, "7"]) == [True, False]


def test_many_pages_stay_exact_across_run_merges():
    """After 300 pages (many run merges), every old id is still found and no new one is."""
    seen = IdSet()
    for page in range(300):
        ids = [str(uuid.UUID(int=page * 50 + i + 1)) for i in range(50)]
        assert all(_page(seen, ids))
    assert len(seen) == 15_000
    old = [str(uuid.UUID(int=i + 1)) for i in range(0, 15_000, 7)]
    assert not any(_page(seen, old))
    assert len(seen._runs) <= 14  # O(log(n / page)) runs to search


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(min_size=0, max_size=4) | st.none(), max_size=30), max_size=12))
def test_matches_a_plain_python_set(pages):
    """Page after page, the flags equal what a Python set would say."""
    seen, reference = IdSet(), set()
    for ids in pages:
        expected = []
        for i in ids:
            new = i is not None and i not in reference
            expected.append(new)
            if new:
                reference.add(i)
        assert _page(seen, ids) == expected
    assert len(seen) == len(reference)


def test_uuid_ids_are_keyed_by_their_own_value_and_others_by_digest():
    """A canonical UUID's key is its 128-bit value; an uppercase one is another id."""
    lower = "0b5e1c2a-9f4d-4e1a-8c3b-2d7f6a5e4c3b"
    assert id_key(lower) == int(lower.replace("-", ""), 16)
    assert id_key(lower.upper()) != id_key(lower)
    keys = id_keys([lower, lower.upper(), "lead-7", None]).to_list()
    assert keys == [id_key(lower), id_key(lower.upper()), id_key("lead-7"), None]


def test_an_arrow_id_column_gets_the_same_keys_as_the_list_of_ids():
    """The native page reader hands over its id column as an Arrow array."""
    import pyarrow as pa

    ids = [str(uuid.UUID(int=5)), "lead-7", None, "0B5E1C2A-9F4D-4E1A-8C3B-2D7F6A5E4C3B", ""]
    assert id_keys(pa.array(ids, pa.string())).to_list() == id_keys(ids).to_list()
