"""File and member names as every later stage can hold them: valid UTF-8, NFC, printable.

Linux allows any bytes but '/' and NUL in a file name, a zip member name is bytes in
whichever encoding its tool used, and a tar name is bytes too. Python hands such names over
as surrogate-escaped strings, which no UTF-8 file, SQLite text or HTTP header accepts, and a
control character in a name (NUL from a zip, ESC, a newline) breaks paths and terminals.

The one rule, the same for folders, zips and tars: a byte that is not UTF-8 becomes the
four characters `\\xNN`, and so does a control character (C0, DEL, C1). The name stays
readable, is unique per raw name in practice, and round-trips through JSON, the state and
every gallery. The raw name is kept beside it (`Entry.ref`) to open the file.
"""

from __future__ import annotations

import unicodedata

_CP437_FALLBACK = "cp437"


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:  # any other lone surrogate (from JSON "\ud800")
        return f"\\u{code:04x}"
    if code < 0x20 or 0x7F <= code < 0xA0:
        return f"\\x{code:02x}"
    return char


def display_name(name: str) -> str:
    """`name` (possibly surrogate-escaped) as a clean NFC string (see the module's rule)."""
    if not name.isprintable():
        name = "".join(_escaped(char) if unicodedata.category(char) in ("Cc", "Cs") else char
                       for char in name)
    return unicodedata.normalize("NFC", name)


def decode_member_name(raw: bytes, utf8_flag: bool) -> str:
    """A zip member name: UTF-8 when flagged or when it decodes as UTF-8 (tools on Linux
    and macOS write UTF-8 without setting the flag), else cp437 as the zip format says.
    Bytes that are not UTF-8 under the flag are kept as escapes, not replaced by '?'."""
    if utf8_flag:
        return raw.decode("utf-8", errors="surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(_CP437_FALLBACK)
