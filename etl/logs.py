"""Logging for every ``lgetl`` command: plain or JSON lines, with secrets masked.

:func:`setup_logging` installs one stderr handler on the root logger carrying a
:class:`RedactingFilter`, which masks:

* values registered with :func:`register_secret` (passwords, API keys, tokens in use);
* anything shaped like a secret: ``Bearer <x>``, JWTs (``eyJ...``), ``lgp_`` API keys, and
  the value of password/token/key fields in JSON, query or ``key=value`` text.

The client never logs a secret in the first place; the filter is the second line of
defence, and :func:`redact` is also applied to server text placed in exception messages.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import IO, Any, Literal

import orjson

LogFormat = Literal["plain", "json"]

MASK = "***"

# Secrets are process-wide on purpose: a log handler cannot be handed the client's
# settings, and a secret must stay masked wherever a log record comes from.
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_re: re.Pattern[str] | None = None

#: Shorter values are not registered: masking "abc" everywhere would garble the logs.
MIN_SECRET_LENGTH = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"\blgp_[A-Za-z0-9_-]+"), f"lgp_{MASK}"),
    (
        re.compile(
            r"""(?ix)
            ((?<![A-Za-z0-9_])["']?
             (?:password|passwd|pwd|secret|api[_-]?key|x-api-key|
                (?:access|refresh|id)?[_-]?token|(?:access|refresh|id)Token)
             ["']?\s*[:=]\s*)
            ("[^"]*"|'[^']*'|[^\s,;&}\]]+)
            """
        ),
        rf"\1{MASK}",
    ),
)


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in log output and redacted text from now on.

    Args:
        value: a password, API key or token; ``None`` and very short values are ignored.
    """
    global _secrets_re
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_re = re.compile("|".join(re.escape(s) for s in ordered))


def register_secrets(values: Iterable[str | None]) -> None:
    """Register several secrets at once (see :func:`register_secret`)."""
    for value in values:
        register_secret(value)


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and secret-shaped substrings masked.

    Args:
        text: any text about to be logged or put in an exception message.
    """
    pattern = _secrets_re
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus ``extra`` fields."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info or record.exc_text:
            doc["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        line = orjson.dumps(doc, default=str).decode()
        # extra fields were not seen by the filter's message pass
        return redact(line)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def setup_logging(
    log_format: LogFormat = "plain", *, verbose: bool = False, stream: IO[str] | None = None
) -> logging.Handler:
    """Configure the root logger for a command: one stderr handler, secrets masked.

    Calling it again replaces the handler it installed before (tests call it repeatedly).

    Args:
        log_format: ``"plain"`` for humans, ``"json"`` for log shippers (one object a line).
        verbose: log DEBUG from this project's packages instead of INFO (other
            libraries stay at WARNING).
        stream: where to write (default: ``sys.stderr``, looked up at each record).

    Returns:
        The installed handler.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_lgetl", False):
            root.removeHandler(old)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler._lgetl = True  # type: ignore[attr-defined]
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for ours in ("etl", "pipelines", "state", "schemas"):
        logging.getLogger(ours).setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request at INFO: noise at 1,000 requests/minute
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
