"""UTF-8 validity of a byte string (pure; used by the CSV source and the export reader)."""

from __future__ import annotations


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8: Arrow validates the bytes in place, far faster
    than a decode and without a copy."""
    import pyarrow as pa  # (imported when first needed: start-up of other commands)

    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
