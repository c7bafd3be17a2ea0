"""Decode fetched HTML bytes to text, choosing the charset by evidence.

Order of evidence, strongest first:

1. a byte-order mark (it cannot be there by accident);
2. the HTTP ``Content-Type`` charset;
3. ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` in the first bytes;
4. statistical detection (charset-normalizer).

A declared charset is only taken when the bytes decode with it *strictly*:
regional sites often send ``charset=utf-8`` over windows-1251 pages, and a
lenient decode would store mojibake forever. One more guard: bytes that are
valid UTF-8 *and* contain multi-byte sequences are UTF-8 even when another
charset is declared, because windows-1251 or latin-1 text is
practically never valid UTF-8 by chance, while a stale template declaring
windows-1251 over a UTF-8 page is common.

We do not use w3lib here so that archive/ depends only on charset-normalizer
and the standard codecs.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

import charset_normalizer

#: What ``decode_html`` reports for input that was already text.
ALREADY_TEXT = "unicode"

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Labels whose real-world meaning is a superset (as browsers treat them).
_SUPERSETS = {
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "tis_620": "cp874",
    "iso8859_9": "cp1254",
}

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 16384


def decode_html(data: bytes | str, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Return ``(text, encoding)`` for an HTML document.

    ``encoding`` is the Python codec name actually used, or ``"unicode"`` when
    ``data`` was already a string. Never raises: the last resort decodes with
    replacement characters.
    """
    if isinstance(data, str):
        return data, ALREADY_TEXT
    data = bytes(data)
    for bom, name in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(name, errors="replace")
            return text, name
    for declared in (header_charset(headers), meta_charset(data)):
        decoded = _try_declared(data, declared)
        if decoded is not None:
            return decoded
    if _is_utf8(data):
        return data.decode("utf-8"), "utf-8"
    detected = _detect(data)
    if detected:
        return data.decode(detected, errors="replace"), detected
    return data.decode("utf-8", errors="replace"), "utf-8"


def header_charset(headers: Mapping | None) -> str | None:
    """The charset of a Content-Type header, looked up case-insensitively."""
    value = header_value(headers, "content-type")
    match = _HEADER_CHARSET.search(value) if value else None
    return normalise_charset(match.group(1)) if match else None


def header_value(headers: Mapping | None, name: str) -> str | None:
    """One HTTP header, whatever the mapping holds: str or bytes, lists of values."""
    for key, value in (headers or {}).items():
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() != name:
            continue
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def meta_charset(data: bytes) -> str | None:
    """The charset a ``<meta>`` tag declares near the top of the document."""
    match = _META_CHARSET.search(data[:_PRESCAN_BYTES])
    if not match:
        return None
    return normalise_charset(match.group(1).decode("ascii", errors="ignore"))


def normalise_charset(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    name = _SUPERSETS.get(name, name)
    return codecs.lookup(name).name


def _try_declared(data: bytes, declared: str | None) -> tuple[str, str] | None:
    if not declared:
        return None
    if declared.startswith("utf_16") or declared.startswith("utf_32"):
        # A page that declares UTF-16 in ASCII bytes is not UTF-16.
        return None
    if declared != "utf-8" and not data.isascii() and _is_utf8(data):
        return data.decode("utf-8"), "utf-8"
    try:
        return data.decode(declared), declared
    except (UnicodeDecodeError, LookupError):
        return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(data: bytes) -> str | None:
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    return normalise_charset(best.encoding)
