"""Errors of the sources layer: an input file or a column mapping the tool cannot use.

Every one is a :class:`~etl.errors.ConfigError` (exit 2): the user fixes the file or the
command and runs again. Problems with single rows are *not* errors: they become rejected
rows with a reason code (see ``docs/csv.md``)::

    ConfigError
    +-- SourceInputError        the input cannot be read as a table of leads
        +-- SourceNotFound      the file does not exist or is not a regular file
        +-- EmptySource         no bytes, or only blank lines
        +-- HeaderOnlySource    a header and no data rows
        +-- DuplicateHeader     two columns with the same (trimmed) name, or a reserved name
        +-- BinarySource        NUL bytes or a spreadsheet/archive signature
        +-- UndecodableSource   the bytes are not valid in the forced ``--encoding``
        +-- MappingError        a bad ``--map``, ``--mapping`` file or ``--extra`` value
"""

from __future__ import annotations

from etl.errors import ConfigError


class SourceInputError(ConfigError):
    """The input cannot be read as a table of leads; fix the file or the options."""


class SourceNotFound(SourceInputError):
    """The input path does not exist or is not a regular file."""


class EmptySource(SourceInputError):
    """The file has no bytes, or only blank lines."""


class HeaderOnlySource(SourceInputError):
    """The file has a header row and no data rows."""


class DuplicateHeader(SourceInputError):
    """Two header cells have the same name (after trimming), or a name is reserved."""


class BinarySource(SourceInputError):
    """The file looks binary (NUL bytes, a ZIP/XLSX or other binary signature)."""


class UndecodableSource(SourceInputError):
    """The bytes cannot be decoded with the encoding forced by ``--encoding``."""


class MappingError(SourceInputError):
    """A ``--map``/``--mapping`` entry names a missing column or an unknown field."""
