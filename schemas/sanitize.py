"""Vectorised cleaning of raw string columns (polars expressions and Series; no I/O).

Every rule keeps nulls null and turns a value that cleans down to nothing into null, so
no payload can carry ``""`` (server bug 4). Costly regex rewrites run only on the rows
that need them (``_fix_where``): a clean value costs a scan, not a rewrite; and only once
per distinct value where values repeat (:func:`per_distinct`: titles, padded names,
company domains).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import polars as pl

#: Zero-width and bidi-control characters: invisible, yet they break matching and names.
INVISIBLE = r"[\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{FEFF}\x{AD}]"
_PY_PUNCT_ONLY = re.compile(r"^[\W_]+$")  # the server's own test (Python semantics)

#: Free-mail domains: an address there says nothing about the lead's company.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
        "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "mail.ru",
        "yandex.com", "yandex.ru", "zoho.com", "fastmail.com", "hey.com", "tutanota.com",
        "qq.com", "163.com", "126.com", "naver.com", "free.fr", "orange.fr", "wanadoo.fr",
        "laposte.net", "libero.it", "t-online.de", "comcast.net", "verizon.net",
        "att.net", "sbcglobal.net", "btinternet.com", "rediffmail.com",
    }
)  # fmt: skip

EMAIL_PATTERN = (
    # Local part: RFC 5322 "atext" plus any Unicode letter or digit (RFC 6531 addresses
    # such as zoë.müller@acme.de are real and the API accepts them); domain: ASCII labels
    # or punycode.
    # (\w is Unicode-aware in both polars' regex engine and Python's re, which pandera uses)
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
HOST_PATTERN = r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
# The host of an http(s) URL or bare domain: optional scheme and www., the name, an end.
_HOST_IN_URL = HOST_PATTERN.replace("^", r"^(?:https?://)?(?:www[0-9]?\.)?(", 1).replace(
    "$", r")\.?(?:[/?#:]|$)"
)
_LINKEDIN_PROFILE = r"(?i)^(?:https?://)?(?:[a-z]{2,3}\.)?(?:www\.)?linkedin\.com/in/[^/?#\s]"


# Removed outright: invisible characters and controls that are not whitespace.
_REMOVED = rf"{INVISIBLE}|[\p{{Cc}}&&[^\s]]"
# Inside a value, what the rewrite changes: invisible characters, controls, odd spacing.
_LINE_INNER = rf"{INVISIBLE}|[^\S ]|\s{{2,}}|\p{{Cc}}"
_TEXT_INNER = rf"{INVISIBLE}|\r|[^\S \n]| \n|\n{{3}}|[\p{{Cc}}&&[^\n]]"
# Values the cleaning changes at all: the above, whitespace at an end, or nothing at all
# (a quoted "" is an empty string, not a null, and becomes null).
_LINE_DIRT = rf"^$|^\s|\s$|{_LINE_INNER}"
_TEXT_DIRT = rf"^$|^\s|\s$|{_TEXT_INNER}"


_SAMPLE_ROWS = 1_000  # values sampled to decide how a column is cleaned


def _fix_where(
    s: pl.Series,
    mask: pl.Series,
    fix: Callable[[pl.Series], pl.Series],
    hits: int | None = None,
) -> pl.Series:
    """Apply ``fix`` (which keeps nulls null) to the values where ``mask`` (false on
    nulls; with ``hits`` trues, if known) is true (all at once when most are)."""
    hits = int(mask.sum()) if hits is None else hits
    if not hits:
        return s
    if hits * 3 <= s.len():  # few: fix only those
        idx = mask.arg_true()
        return s.clone().scatter(idx, fix(s.gather(idx)))  # (scatter works in place)
    # Many: fixing every value costs less than a gather and a scatter of them; then the
    # values left alone are put back (one by one when few, else by a zip).
    fixed = fix(s).alias(s.name)
    kept = s.len() - s.null_count() - hits
    if not kept:
        return fixed
    if kept * 20 <= s.len():
        idx = (~mask & s.is_not_null()).arg_true()
        return fixed.scatter(idx, s.gather(idx))
    return fixed.zip_with(mask, s)


def per_distinct(s: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``fn(s)`` for a value-by-value ``fn`` that keeps nulls null, computed once per
    distinct value when values repeat (four times each or more on average: company
    domains, job titles, first names), else directly. When ``fn`` changes no distinct
    value, ``s`` itself is returned (no pass to map values back)."""
    distinct = s.drop_nulls().unique()
    if 4 * distinct.len() > s.len():
        return fn(s)
    done = fn(distinct)
    if done.equals(distinct):
        return s
    # Each value's position among the distinct ones, by a cast to an Enum of them (a
    # third cheaper than a replace_strict lookup); nulls stay null.
    return done.gather(s.cast(pl.Enum(distinct)).to_physical()).alias(s.name)


def null_where(s: pl.Series, mask: pl.Series) -> pl.Series:
    """``s`` with nulls where ``mask`` is true (no pass over ``s`` when it never is, a
    scatter when it rarely is)."""
    hits = int(mask.sum())
    if not hits:
        return s
    if hits * 3 <= s.len():
        return s.clone().scatter(mask.arg_true(), None)  # (scatter works in place)
    return s.set(mask, None)


def null_if_empty(s: pl.Series) -> pl.Series:
    """``""`` -> null."""
    return null_where(s, s.str.len_bytes() == 0)


def _rewrite_line(v: pl.Series) -> pl.Series:
    v = v.str.strip_chars()  # often all a value needs; the costly rewrite only if more
    return _fix_where(v, v.str.contains(_LINE_INNER).fill_null(False), _collapse_line)


def _collapse_line(v: pl.Series) -> pl.Series:
    v = v.str.replace_all(_REMOVED, "").str.replace_all(r"[^\S ]+|\s{2,}", " ")
    return v.str.strip_chars()


def _rewrite_text(v: pl.Series) -> pl.Series:
    v = v.str.strip_chars()
    return _fix_where(v, v.str.contains(_TEXT_INNER).fill_null(False), _collapse_text)


def _collapse_text(v: pl.Series) -> pl.Series:
    return (
        v.str.replace_all(r"\r\n?", "\n")
        .str.replace_all(_REMOVED, "")
        .str.replace_all(r"[^\S\n]", " ")
        .str.replace_all(r" +\n", "\n")
        .str.replace_all(r"\n{3,}", "\n\n")
        .str.strip_chars()
    )


def clean_columns(frame: pl.DataFrame, lines: Sequence[str], texts: Sequence[str]) -> pl.DataFrame:
    """Clean columns of raw strings, rewriting only the values that need it.

    ``lines``: one-line text: invisible characters go, a run of whitespace or controls
    becomes one space. ``texts``: multi-line text: line ends become ``\n``, tabs and odd
    spaces a space, controls go, spaces before a line end and runs of blank lines shrink.
    Either way the value is trimmed and an empty one becomes null.

    The rewrites leave a clean value as it is, so how a column is cleaned changes the
    cost, never the result. It depends on the column's first :data:`_SAMPLE_ROWS` values:

    * they repeat (a quarter of them distinct or fewer: titles, sources, scores) or are
      mostly dirty (every value padded with spaces, say): the whole column is rewritten,
      once per distinct value where values repeat (:func:`per_distinct`; a column in which
      no distinct value changes is kept as it is);
    * else one parallel scan finds the values that need a rewrite, and only those are
      rewritten.
    """
    rules = [(c, _LINE_DIRT, _rewrite_line) for c in lines]
    rules += [(c, _TEXT_DIRT, _rewrite_text) for c in texts]
    if not rules:
        return frame.select()
    head = frame.head(_SAMPLE_ROWS)
    dirty = head.select(pl.col(c).str.contains(dirt).fill_null(False).sum() for c, dirt, _ in rules)
    distinct = head.select(pl.col(c).n_unique() for c, _, _ in rules)
    whole = {
        c
        for c, hits, values in zip(dirty.columns, dirty.row(0), distinct.row(0), strict=True)
        if 3 * hits > head.height or 4 * values <= head.height
    }
    masks = frame.select(
        pl.col(c).str.contains(dirt).fill_null(False) for c, dirt, _ in rules if c not in whole
    )
    hits = masks.sum().row(0, named=True) if masks.width else {}
    cleaned = []
    for c, _, rewrite in rules:
        fix = _cleaner(rewrite)
        if c in whole:
            cleaned.append(fix(frame[c]))
        else:
            cleaned.append(_fix_where(frame[c], masks[c], fix, hits[c]))
    return pl.DataFrame(cleaned)


def _cleaner(rewrite: Callable[[pl.Series], pl.Series]) -> Callable[[pl.Series], pl.Series]:
    """``rewrite`` then empty -> null, once per distinct value where values repeat."""

    def clean(values: pl.Series) -> pl.Series:
        return per_distinct(values, lambda v: null_if_empty(rewrite(v)))

    return clean


def clean_line(s: pl.Series) -> pl.Series:
    """One-line cleaning (see :func:`clean_columns`) of one Series."""
    return clean_columns(s.to_frame(s.name or "v"), [s.name or "v"], []).to_series()


def normalise_email(s: pl.Series) -> pl.Series:
    """Lowercase a cleaned address and drop a ``mailto:`` prefix (validity is the
    contract's check)."""
    s = s.str.to_lowercase()
    mailto = s.str.starts_with("mailto:").fill_null(False)
    return _fix_where(s, mailto, lambda v: null_if_empty(v.str.slice(7).str.strip_chars()))


def email_domain(s: pl.Series) -> pl.Series:
    """The part after ``@`` of valid addresses, null for free-mail providers.

    A valid address has one ``@`` and an ASCII domain, so the domain's length in
    characters is its length in bytes (``find`` counts bytes, ``tail`` characters). What
    an invalid address gives does not matter: its row is rejected ``invalid_email``.
    """
    domain = s.str.tail(s.str.len_bytes() - s.str.find("@", literal=True) - 1)
    return null_where(domain, domain.is_in(list(FREE_MAIL_DOMAINS)).fill_null(False))


def normalise_linkedin(s: pl.Series) -> pl.Series:
    """``linkedin.com/in/<handle>`` in any form -> ``https://www.linkedin.com/in/<handle>``
    (lowercase handle); other values stay as they are (expects cleaned values)."""
    profile = s.str.contains(_LINKEDIN_PROFILE).fill_null(False)

    def rewrite(v: pl.Series) -> pl.Series:
        lower = v.str.to_lowercase()
        # The profile regex promises ASCII before "linkedin.com/in/" (byte offset ==
        # character offset) and a handle after it; what may follow the handle is cut:
        # a trailing "/" cheaply, anything else (rare) by a regex on those values only.
        handle = lower.str.slice(lower.str.find("linkedin.com/in/", literal=True) + 16)
        handle = handle.str.strip_suffix("/")
        rest = handle.str.contains(r"[/?#\s]").fill_null(False)
        handle = _fix_where(handle, rest, lambda h: h.str.replace(r"(?s)[/?#\s].*", ""))
        return ("https://www.linkedin.com/in/" + handle).alias(v.name)

    return _fix_where(s, profile, rewrite)


def linkedin_handle(s: pl.Series) -> pl.Series:
    """The handle of normalised LinkedIn profile URLs, else null."""
    return s.str.strip_prefix("https://www.linkedin.com/in/").set(
        ~s.str.starts_with("https://www.linkedin.com/in/").fill_null(False),
        None,
    )


def host_of(s: pl.Series, *, clean: bool = False) -> pl.Series:
    """Bare lowercase host of a cleaned URL or domain (``https://www.Acme.com/x`` ->
    ``acme.com``); null when the value is not a host name. Unicode hosts -> punycode.

    ``clean``: the values are raw and cleaned first (:func:`clean_line`), once per distinct
    value along with the host rule (for a column whose cleaned value is not kept)."""
    return per_distinct(s, (lambda v: _host_of(clean_line(v))) if clean else _host_of)


def _host_of(s: pl.Series) -> pl.Series:
    s = s.str.to_lowercase()
    # Most values are a bare host already: one match, no capture (captures cost ~4x).
    bare = (s.str.contains(HOST_PATTERN) & ~s.str.starts_with("www")).fill_null(False)
    host = s.set(~bare, None)
    other = ~bare & s.is_not_null()
    if other.any():
        idx = other.arg_true()
        host = host.scatter(idx, _host_in_url(s.gather(idx)))
    return host.alias(s.name)


def _host_in_url(s: pl.Series) -> pl.Series:
    """:func:`host_of` of lowercase values that are not a bare host."""
    host = s.str.extract(_HOST_IN_URL, 1)
    rest = (host.is_null() & s.is_not_null()).fill_null(False)
    if rest.any():  # other schemes, user@host, unicode hosts: the slow way, only for these
        idx = rest.arg_true()
        raw = s.gather(idx).str.replace(r"^[a-z][a-z0-9+.\-]*://", "").str.replace(r"^[^/?#]*@", "")
        raw = raw.str.extract(r"^(?:www[0-9]?\.)?([^/?#:\s]+)", 1).str.strip_suffix(".")
        host = host.scatter(idx, _punycode(raw).str.extract(_HOST_IN_URL, 1))
    return host


def _punycode(v: pl.Series) -> pl.Series:
    out: list[str | None] = []
    for host in v.to_list():
        try:
            out.append(host.encode("idna").decode("ascii") if host and not host.isascii() else host)
        except UnicodeError:
            out.append(None)
    return pl.Series(out, dtype=pl.String)


def punct_only(s: pl.Series) -> pl.Series:
    """True where the value has no letter or digit (the server's ``[\\W_]+`` test).

    A value with an ASCII letter or digit is not; an all-ASCII value without one is. The
    rest (non-ASCII, no ASCII alnum, e.g. ``Иванов`` or ``·``) is judged by Python's own
    ``re``, so the rule is exactly the server's, whatever Unicode version either side knows.
    """
    result = ~s.str.contains(r"[A-Za-z0-9]") & (s.str.len_bytes() > 0)
    maybe = result.fill_null(False)
    if not maybe.any():
        return result
    idx = maybe.arg_true()  # few: most values have an ASCII letter or digit
    unsure = s.gather(idx).str.contains(r"[^\x00-\x7f]")
    if unsure.any():
        idx = idx.filter(unsure)
        exact = [bool(_PY_PUNCT_ONLY.match(v)) for v in s.gather(idx).to_list()]
        result = result.scatter(idx, pl.Series(exact, dtype=pl.Boolean))
    return result


def name_parts_from_email(email: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(first, last) from (valid) email addresses, title-cased: ``jane.doe+news@x`` ->
    Jane / Doe, ``j.smith2@x`` -> J / Smith, ``jdoe@x`` -> Jdoe / null. Words are runs of
    letters; a local part without letters (``123@x``) gives itself as first name."""
    local = email.str.extract(r"^([^@]+)@", 1)
    words = local.str.replace(r"\+.*$", "").str.replace_all(r"[^\p{L}\p{M}']+", " ")
    return _first_last(words, fallback=local)


def name_parts_from_profile(url: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(first, last) from normalised LinkedIn profile URLs (null for other values)."""
    return name_parts_from_handle(linkedin_handle(url))


def name_parts_from_handle(handle: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(first, last) from LinkedIn handles: ``jane-doe-8a1b2c`` -> Jane / Doe (pieces with
    digits, such as LinkedIn's id suffix or percent-escapes, are left out)."""
    words = handle.str.replace_all(r"[^-]*[0-9%][^-]*", "").str.replace_all(r"[^\p{L}\p{M}']+", " ")
    return _first_last(words, fallback=None)


def _first_last(words: pl.Series, fallback: pl.Series | None) -> tuple[pl.Series, pl.Series]:
    words = words.str.strip_chars()
    first = words.str.extract(r"^(\S+)", 1).str.to_titlecase()
    last = words.str.extract(r"\s(\S+)$", 1).str.to_titlecase()
    if fallback is not None:
        first = pl.select(pl.coalesce(first, null_if_empty(fallback))).to_series()
    return first, last


def split_full_name(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(first word, the rest) of a cleaned full name; the rest is null for one word."""
    return s.str.extract(r"^(\S+)", 1), s.str.extract(r"^\S+\s+(.+)$", 1)
