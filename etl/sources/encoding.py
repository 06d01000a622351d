"""Turn an input file of any supported text encoding into a stream of UTF-8 blocks.

Detection, in order (``docs/csv.md``):

1. ``--encoding`` forces a codec; bytes invalid in it are a :class:`UndecodableSource`.
2. A byte-order mark: UTF-8 (``EF BB BF``), UTF-16 LE/BE (``FF FE`` / ``FE FF``).
3. Otherwise UTF-8, block by block; from the first block that is not valid UTF-8 on, the
   rest of the file is read as cp1252 (windows-1252, the five bytes it leaves undefined
   decode as latin-1 does, so nothing can fail). A file whose earlier blocks were pure
   ASCII is thus read exactly as cp1252 would read it.

The raw bytes are hashed as they are read, so the caller gets a content digest without a
second pass. Blocks are cut anywhere (even inside a character for UTF-8 input); the CSV
reader re-cuts them at line ends.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from pathlib import Path

from etl.sources.errors import BinarySource, SourceNotFound, UndecodableSource
from etl.utf8 import is_utf8

#: How many bytes of the head decide "binary or text".
HEAD_BYTES = 8192

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: Signatures of files people export by mistake instead of a CSV, with what to do.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?): export the sheet as CSV first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook: export the sheet as CSV first"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first"),
    (b"SQLite format 3\x00", "an SQLite database, not a CSV file"),
    (b"\x89PNG", "a PNG image, not a CSV file"),
)


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode the five bytes cp1252 leaves undefined as latin-1 does (WHATWG behaviour)."""
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover - decode only
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("lgetl-cp1252", _cp1252_fallback)


def _char_end(data: bytes) -> int:
    """Length of ``data`` without an incomplete UTF-8 character at its end (a block may
    end inside one); bytes that cannot end well-formed text are left to validation."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # the lead byte of the last character
            size = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= size else len(data) - back
    return len(data)


def check_path(path: Path) -> None:
    """Raise :class:`SourceNotFound` unless ``path`` is an existing regular file."""
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file; check the path and run again")
    if not path.is_file():
        raise SourceNotFound(f"{path}: not a regular file; pass the path of a CSV file")


def _normalise_codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise UndecodableSource(
            f"unknown encoding {name!r}; use a Python codec name such as utf-8, "
            "utf-16, cp1252 or latin-1"
        ) from None


def _check_not_binary(path: Path, head: bytes) -> None:
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise BinarySource(f"{path}: this is {what}")
    if b"\x00" in head:
        raise BinarySource(
            f"{path}: contains NUL bytes, so it looks binary; if it is UTF-16 without a "
            "byte-order mark, pass --encoding utf-16-le (or utf-16-be)"
        )


class Utf8Stream:
    """The file's content as UTF-8 blocks, with the encoding used and a digest of the bytes.

    Iterate once. ``encoding`` may change from ``utf-8`` to ``cp1252`` (or
    ``utf-8+cp1252`` if non-ASCII UTF-8 came first) while iterating; ``digest`` is final
    once the iteration is over.
    """

    def __init__(self, path: Path, *, encoding: str | None = None, block_size: int) -> None:
        """Open ``path`` and decide the encoding from ``encoding`` or the first bytes.

        Raises:
            SourceNotFound: the path is missing or not a file.
            BinarySource: NUL bytes (outside UTF-16) or a known binary signature.
            UndecodableSource: ``encoding`` is not a known codec.
        """
        check_path(path)
        self.path = path
        self.block_size = block_size
        self._hash = hashlib.sha256()
        self._forced = encoding is not None
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        self._skip = 0
        if encoding is not None:
            self.encoding = _normalise_codec(encoding)
            if self.encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
                self._skip = len(codecs.BOM_UTF8)
            if not self.encoding.startswith(("utf-16", "utf-32")):
                _check_not_binary(path, head)
        else:
            self.encoding = "utf-8"
            for bom, codec in _BOMS:
                if head.startswith(bom):
                    self.encoding, self._skip = codec, len(bom)
                    break
            if not self.encoding.startswith("utf-16"):
                _check_not_binary(path, head)
        self.digest = ""
        self._seen_utf8 = False

    def __iter__(self) -> Iterator[bytes]:
        """Yield the file's text as UTF-8 bytes, BOM removed."""
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        passthrough = self.encoding == "utf-8"  # valid UTF-8 input is yielded as is
        held = b""  # passthrough: an incomplete character at the end of the last block
        with self.path.open("rb") as handle:
            raw = handle.read(self.block_size)
            self._hash.update(raw)
            raw, offset = raw[self._skip :], self._skip
            while True:
                final = not raw
                if passthrough and not held and raw.isascii():
                    if raw:
                        yield raw
                elif passthrough:
                    data = held + raw if held else raw
                    cut = len(data) if final else _char_end(data)  # whole characters
                    whole = data if cut == len(data) else data[:cut]
                    if is_utf8(whole):
                        self._seen_utf8 = self._seen_utf8 or not whole.isascii()
                        if cut:
                            yield whole
                        held = data[cut:]
                    else:
                        try:
                            whole.decode("utf-8")
                        except UnicodeDecodeError as exc:
                            if self._forced:
                                raise self._undecodable(offset - len(held) + exc.start) from None
                        # ASCII so far reads the same in cp1252: switch for the rest.
                        self.encoding = "utf-8+cp1252" if self._seen_utf8 else "cp1252"
                        decoder = codecs.getincrementaldecoder("cp1252")("lgetl-cp1252")
                        passthrough, held = False, b""
                        text = decoder.decode(data, final=final)
                        if text:
                            yield text.encode("utf-8")
                else:
                    try:
                        text = decoder.decode(raw, final=final)
                    except UnicodeDecodeError as exc:
                        raise self._undecodable(offset + exc.start) from None
                    if text:
                        yield text.encode("utf-8")
                if final:
                    break
                offset += len(raw)
                raw = handle.read(self.block_size)
                self._hash.update(raw)
        self.digest = self._hash.hexdigest()

    def _undecodable(self, offset: int) -> UndecodableSource:
        return UndecodableSource(
            f"{self.path}: not valid {self.encoding} near byte {max(offset, 0)}; drop "
            "--encoding to detect the encoding, or pass the file's real one"
        )
