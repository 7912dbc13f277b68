"""Issue 9: names no reader expects (NUL, bytes that are not UTF-8, control characters,
255-byte names) in a folder, a zip (with and without the UTF-8 flag) and a tgz never crash
the reader: each media file becomes an item, everything is accounted for once, and every
name the report, the state and the library get is valid UTF-8 without control characters."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.config import TakeoutSettings
from importer.model import Accounted, MediaItem
from importer.sources.names import decode_member_name, display_name
from importer.sources.takeout import TakeoutSource
from tests.cli_targets import open_target
from tests.conftest import CliResult, library_entries
from tests.exportgen import PRODUCT, unique_jpeg

FOLDER = f"{PRODUCT}/Photos from 2020"
HOSTILE = [b"\x00", b"\x1b[31m", b"\n", b"\r", b"\x7f", b"\xff", b"\xfe\xff", b"\xe9",
           b"\xc3", b"\xed\xa0\x80", b"\xc2\x85", "é".encode(), "e\u0301".encode(),
           "😀".encode(), b"\\", b" ", b".", b"\x08", "\u202e".encode()]
EXTENSIONS = [b".jpg", b".JPG", b"", b".jpeg", b".txt", b".json"]


@st.composite
def raw_names(draw: Any, *, nul: bool) -> bytes:
    pieces = draw(st.lists(st.one_of(st.sampled_from(HOSTILE),
                                     st.binary(min_size=1, max_size=8),
                                     st.text(min_size=1, max_size=6).map(
                                         lambda t: t.encode("utf-8", "surrogatepass"))),
                           min_size=1, max_size=12))
    stem = b"".join(pieces).replace(b"/", b"_")
    if not nul:
        stem = stem.replace(b"\x00", b"0")
    if draw(st.booleans()):  # as long as a file name may be
        stem = (stem * (255 // max(1, len(stem)) + 1))[:250]
    ext = draw(st.sampled_from(EXTENSIONS))
    return (stem[: 255 - len(ext)] + ext) or b"x"


def _valid(name: bytes) -> bool:
    return name not in (b".", b"..") and not name.endswith(b"/")


@st.composite
def exports(draw: Any, *, nul: bool) -> list[tuple[bytes, bytes]]:
    """(raw name, body): each media body unique in bytes and size (so no two files look
    like one file listed twice)."""
    names = draw(st.lists(raw_names(nul=nul).filter(_valid), min_size=1, max_size=8,
                          unique=True))
    files = []
    for index, name in enumerate(names):
        media = draw(st.booleans())
        body = unique_jpeg(f"{index}", pad=index * 7) if media else b"not media " * index
        files.append((name, body))
    return files


class _RawInfo(zipfile.ZipInfo):
    """A zip member whose name is written as the given bytes, flagged UTF-8 or not."""

    def __init__(self, raw: bytes, utf8: bool, label: str) -> None:
        super().__init__(label)
        self.raw, self.utf8 = raw, utf8

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        flags = self.flag_bits | 0x800 if self.utf8 else self.flag_bits & ~0x800
        return self.raw, flags


def _write(root: Path, files: list[tuple[bytes, bytes]], layout: str,
           utf8: bool = False) -> Path:
    prefix = FOLDER.encode() + b"/"
    if layout == "folder":
        base = os.fsencode(root / "export") + b"/" + prefix
        os.makedirs(base, exist_ok=True)
        for name, body in files:
            with open(base + name, "wb") as out:
                out.write(body)
        return root / "export"
    if layout == "zip":
        path = root / "part.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for index, (name, body) in enumerate(files):
                archive.writestr(_RawInfo(prefix + name, utf8, f"m{index}"), body)
        return path
    path = root / "part.tgz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT if utf8 else tarfile.GNU_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as tar:
        for name, body in files:
            info = tarfile.TarInfo((prefix + name).decode("utf-8", "surrogateescape"))
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


def _clean(text: str) -> bool:
    text.encode("utf-8")  # raises on a lone surrogate
    return not any(unicodedata.category(c) == "Cc" for c in text)


def _scan(source: Path) -> tuple[list[Accounted], dict[str, bytes]]:
    reader = TakeoutSource([source], TakeoutSettings())
    accounted: list[Accounted] = []
    items: dict[str, bytes] = {}
    try:
        for event in reader.scan():
            if isinstance(event, Accounted):
                accounted.append(event)
                continue
            assert isinstance(event, MediaItem)
            with event.file.opener() as stream:
                items[event.file.location] = stream.read()
            event.release()
    finally:
        reader.close()
    return accounted, items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), layout=st.sampled_from(["folder", "zip", "tgz"]), utf8=st.booleans())
def test_hostile_names_never_crash_and_every_media_file_is_an_item(
        data: st.DataObject, layout: str, utf8: bool) -> None:
    files = data.draw(exports(nul=layout == "zip"))
    with tempfile.TemporaryDirectory() as tmp:
        accounted, items = _scan(_write(Path(tmp), files, layout, utf8))
    media = [body for name, body in files  # a name in .json is read as JSON, whatever it holds
             if body.startswith(b"\xff\xd8") and not name.lower().endswith(b".json")]
    unsafe = [a for a in accounted if "unsafe path" in a.reason  # a '..' made from '\\'
              or "without a file name" in a.reason]  # the name was only '\\'
    # (bytes named like media are items here; `prepare` proves what they are, see
    # test_sniffing)
    assert all(body in items.values() for body in media) or unsafe, "a media file was lost"
    assert len(items) + len(accounted) == len(files)
    for where in [*items, *(a.location for a in accounted), *(a.reason for a in accounted)]:
        assert _clean(where), f"{where!r} cannot be reported as it is"


@pytest.mark.parametrize("layout", ["folder", "zip", "tgz"])
def test_hostile_names_import_into_a_folder_library(
        tmp_path: Path, cli: Callable[..., CliResult], layout: str) -> None:
    """End to end: items with such names are stored (shortened to fit where they must),
    the report and library.jsonl hold their names escaped, and a re-run adds nothing."""
    names = [b"caf\xe9.jpg", b"nul\x00.jpg", b"esc\x1b[2J.jpg", b"\xff\xfe\xfd.jpg",
             b"x" * 251 + b".jpg", "é".encode() * 127, b"bell\x07" * 50, b"line\nbreak.jpg",
             "ok ünïcode.jpg".encode()]
    if layout != "zip":
        names = [n.replace(b"\x00", b"0") for n in names]
    files = [(n, unique_jpeg(f"n{i}", pad=i)) for i, n in enumerate(names)]
    source = _write(tmp_path, files, layout)
    library, report = tmp_path / "library", tmp_path / "report.json"
    result = cli("import", source, "--to", f"folder:{library}", "--report", report)
    assert result.code == 0, result.out + result.err
    entries = library_entries(library)
    stored = {e["original_sha1"] for e in entries}
    assert stored == {hashlib.sha1(body).hexdigest() for _, body in files}
    for entry in entries:
        assert _clean(entry["original_name"]) and (library / entry["path"]).is_file()
        assert len(Path(entry["path"]).name.encode()) <= 255
    lines = json.loads(report.read_text(encoding="utf-8"))["files"]
    assert all(_clean(line["file"]) for line in lines)
    shown = {line["file"].rsplit("/", 1)[1] for line in lines}
    latin1 = "cafΘ.jpg" if layout == "zip" else "caf\\xe9.jpg"  # unflagged zip names: cp437
    assert latin1 in shown and "esc\\x1b[2J.jpg" in shown
    again = cli("import", source, "--to", f"folder:{library}")
    assert again.code == 0 and len(library_entries(library)) == len(files)


@given(st.text())
def test_display_name_of_a_clean_name_is_its_nfc(name: str) -> None:
    if name.isprintable():
        assert display_name(name) == unicodedata.normalize("NFC", name)
    assert _clean(display_name(name))


def test_names_escape_the_same_way_in_every_source() -> None:
    assert display_name(b"caf\xe9\x00\x1b.jpg".decode("utf-8", "surrogateescape")) == \
        "caf\\xe9\\x00\\x1b.jpg"
    assert decode_member_name("ünï.jpg".encode(), utf8_flag=False) == "ünï.jpg"
    assert decode_member_name(b"caf\x82.jpg", utf8_flag=False) == "café.jpg"  # cp437
    assert display_name(decode_member_name(b"caf\xe9.jpg", utf8_flag=True)) == \
        "caf\\xe9.jpg"


@pytest.mark.parametrize("kind", ["immich", "photoprism"])
def test_hostile_names_import_into_the_galleries(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        kind: str) -> None:
    """The faithful fakes reject what the real servers reject: every item lands, twice
    nothing."""
    names = [b"caf\xe9.jpg", b"nul\x00.jpg", b"esc\x1b[2J.jpg", b"\xff\xfe\xfd.jpg",
             b"x" * 251 + b".jpg", "é".encode() * 127, b"bell\x07" * 50, b"line\nbreak.jpg"]
    files = [(n, unique_jpeg(f"g{i}", pad=i)) for i, n in enumerate(names)]
    source = _write(tmp_path, files, "zip")
    with open_target(kind, tmp_path, monkeypatch) as target:
        for _ in range(2):
            result = cli("import", source, "--to", target.spec, "--state", target.state)
            assert result.code == 0, result.out + result.err
            assert len(target.items()) == len(files)
