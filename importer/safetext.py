"""Text from outside (file names, album titles, captions, server answers) made safe to print.

A name can hold anything a file system or an archive allows: ESC starts a terminal escape
sequence that can recolour, retitle or rewrite the screen; CR and BS can hide what came
before; bidi overrides reorder what is shown; an undecodable byte (kept as a lone surrogate)
cannot even be encoded for output. `shown` writes all of these as visible escapes. It also
blanks secrets: every value registered with `add_secret`, and a password written into a
URL, so no message repeats one, whichever error carried it.
"""

from __future__ import annotations

import re
import threading
import unicodedata

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*):[^\s/@]*@")
MASK = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary text; config checks such keys anyway

_lock = threading.Lock()
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Never print this value (an API key, a token, a password), even as part of an error."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI


def redact(text: str) -> str:
    """`text` with registered secrets and URL passwords masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


def shown(text: str) -> str:
    """`text` as it may be printed: control characters, escape sequences, bidi overrides
    and undecodable bytes written as visible escapes; secrets masked."""
    text = redact(text)
    if all(not _unsafe(char) for char in text):
        return text
    return "".join(_escape(char) if _unsafe(char) else char for char in text)


def json_shown(text: str) -> str:
    """JSON text (from `json.dumps`) as it may be printed: the characters `shown` escapes,
    written as JSON escapes, so the output stays valid JSON. JSON already escapes C0
    controls inside strings; the line breaks left are its own layout."""
    text = redact(text)
    return "".join(f"\\u{ord(c):04x}" if c != "\n" and _unsafe(c) else c for c in text)
