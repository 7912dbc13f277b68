"""Files replaced whole: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

PRIVATE = 0o600


def replace_text(path: Path, text: str, *, mode: int = PRIVATE, durable: bool = False) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`. The file
    has `mode` from its first byte (a token or a plan is never readable by others, even for
    a moment); `durable` syncs it to disk before the rename (a plan decides what gets
    deleted). A failed write leaves `path` as it was and no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:  # the text, exactly
            out.write(text)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_json(path: Path, data: Any, *, mode: int = PRIVATE, durable: bool = False,
                 indent: int | None = None) -> None:
    """`data` as JSON (non-ASCII kept readable), replaced whole as `replace_text` does."""
    text = json.dumps(data, ensure_ascii=False, indent=indent) + "\n"
    replace_text(path, text, mode=mode, durable=durable)
