"""Files replaced whole (progress files, reclaim plans and their progress, the Google
token): the right bytes and mode from the first byte, never half a file for a reader, and
a failed write leaves the old file and no temporary file behind."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.atomicfile import replace_json, replace_text

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(data=JSON, mode=st.sampled_from([0o600, 0o644, 0o640]), indent=st.sampled_from([None, 1]),
       durable=st.booleans())
def test_replaced_json_reads_back_with_its_mode(tmp_path_factory: pytest.TempPathFactory,
                                                data: Any, mode: int, indent: int | None,
                                                durable: bool) -> None:
    folder = tmp_path_factory.mktemp("atomic")
    path = folder / "sub" / "file.json"
    old_umask = os.umask(0o077)  # the mode is the one asked for, whatever the umask
    try:
        replace_json(path, {"old": True}, mode=mode)
        replace_json(path, data, mode=mode, durable=durable, indent=indent)
    finally:
        os.umask(old_umask)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.json"]


@settings(max_examples=30, deadline=None)
@given(old=st.text(min_size=1) | st.sampled_from(["\r", "a\r\nb", "\u2028"]),
       new=st.text(min_size=1))
def test_a_failed_replace_keeps_the_old_file_and_leaves_no_temporary(
        tmp_path_factory: pytest.TempPathFactory, old: str, new: str) -> None:
    folder = tmp_path_factory.mktemp("atomic")
    path = folder / "token.json"
    replace_text(path, old)
    real_replace = os.replace

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    os.replace = refuse  # type: ignore[assignment]
    try:
        with pytest.raises(OSError, match="No space"):
            replace_text(path, new)
    finally:
        os.replace = real_replace
    assert path.read_bytes() == old.encode()  # bytes: reading text would turn "\r" into "\n"
    assert [p.name for p in folder.iterdir()] == ["token.json"]


def test_a_reader_never_sees_half_a_file(tmp_path: Path) -> None:
    """A page polling a progress file while the import rewrites it: every read parses."""
    path = tmp_path / "progress.json"
    replace_json(path, {"n": -1, "pad": "x" * 200_000})
    stop = threading.Event()
    reads: list[int] = []

    def read() -> None:
        while not stop.is_set():
            reads.append(json.loads(path.read_text(encoding="utf-8"))["n"])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(150):
            replace_json(path, {"n": n, "pad": "x" * (200_000 + n)})
    finally:
        stop.set()
        reader.join()
    assert reads and reads == sorted(reads) and reads[-1] <= 149


@settings(max_examples=60, deadline=None)
@given(text=st.text() | st.sampled_from(["\r", "a\r\nb\n", "\u2028\x85"]))
def test_text_is_written_exactly(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """No newline translation: a token or a status file holds the very characters given."""
    path = tmp_path_factory.mktemp("atomic") / "status.json"
    replace_text(path, text)
    assert path.read_bytes() == text.encode()
