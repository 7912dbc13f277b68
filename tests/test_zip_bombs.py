"""Issue 9: a member that inflates far beyond its size (a zip bomb) is refused with a
reason, appears in the report, and memory and disk stay bounded; the rest imports."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

from importer.sources.parts import INFLATE_FLOOR
from tests.conftest import REPO, library_entries
from tests.exportgen import PRODUCT, unique_jpeg

YEAR = f"{PRODUCT}/Photos from 2020"
ZEROS = 2 * INFLATE_FLOOR + (1 << 20)
# VmHWM, not getrusage: ru_maxrss also counts the pytest process this child was forked from.
_RUN_AND_MEASURE = (
    "import re, sys\n"
    "from pathlib import Path\n"
    "from importer.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "status = Path('/proc/self/status').read_text()\n"
    "print('peak-rss-kb', re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
    "sys.exit(code)\n"
)


def _import(source: Path, tmp: Path) -> tuple[int, dict[str, dict[str, str]], int, str]:
    """Import in a child process: exit code, report lines by member, peak RSS (kB)."""
    library, report = tmp / "library", tmp / "report.json"
    spool = tmp / "spool"
    spool.mkdir(exist_ok=True)
    config = tmp / "config.yaml"
    config.write_text(f"takeout:\n  spool_dir: {spool}\n")
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_MEASURE, "import", str(source), "--to",
         f"folder:{library}", "--report", str(report), "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    assert "peak-rss-kb" in done.stdout, done.stdout + done.stderr
    rss = int(done.stdout.rsplit("peak-rss-kb", 1)[1].split()[0])
    lines = {f["file"].split(":", 1)[-1]: f  # a whole part is named by its path alone
             for f in json.loads(report.read_text(encoding="utf-8"))["files"]}
    assert list(spool.iterdir()) == [], "the spool kept files"
    return done.returncode, lines, rss, done.stdout


def _zeros(out: io.RawIOBase | io.BufferedIOBase | object, total: int) -> None:
    chunk = bytes(1 << 20)
    for _ in range(total // len(chunk)):
        out.write(chunk)  # type: ignore[attr-defined]


def test_zip_member_declaring_far_more_than_it_holds_is_refused(tmp_path: Path) -> None:
    part = tmp_path / "part.zip"
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{YEAR}/good.jpg", unique_jpeg("good"))
        with archive.open(f"{YEAR}/bomb.jpg", "w") as out:
            out.write(unique_jpeg("bomb"))
            _zeros(out, ZEROS)
    assert part.stat().st_size < ZEROS // 500
    code, lines, rss, out = _import(part, tmp_path)
    bomb = lines[f"{YEAR}/bomb.jpg"]
    assert bomb["outcome"] == "unreadable" and "zip bomb" in bomb["reason"], bomb
    assert lines[f"{YEAR}/good.jpg"]["outcome"] == "imported"
    assert [e["original_name"] for e in library_entries(tmp_path / "library")] == ["good.jpg"]
    assert rss < 200_000, f"peak RSS {rss} kB"
    assert code == 0, out


def _patch_sizes(raw: bytearray, name: bytes, size: int, crc: int) -> None:
    """Set the declared size and CRC of member `name` in its local and central headers."""
    local = raw.index(b"PK\x03\x04" + raw[4:6])  # first local header (our only target)
    while raw[local + 30:local + 30 + len(name)] != name:
        local = raw.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<L", raw, local + 14, crc)
    struct.pack_into("<L", raw, local + 22, size)
    central = raw.index(b"PK\x01\x02")
    while raw[central + 46:central + 46 + len(name)] != name:
        central = raw.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<L", raw, central + 16, crc)
    struct.pack_into("<L", raw, central + 24, size)


def test_zip_member_inflating_beyond_its_declared_size_is_refused(tmp_path: Path) -> None:
    """The bomb declares the size and CRC of its first bytes (a real JPEG): zipfile would
    stop there and call it good. Ours inflates one byte further and refuses it."""
    head = unique_jpeg("looks fine")
    name = f"{YEAR}/bomb.jpg".encode()
    part = tmp_path / "part.zip"
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{YEAR}/good.jpg", unique_jpeg("good"))
        archive.writestr(name.decode(), head + bytes(4 << 20))
    raw = bytearray(part.read_bytes())
    _patch_sizes(raw, name, len(head), zlib.crc32(head))
    part.write_bytes(bytes(raw))
    with zipfile.ZipFile(part) as archive:  # what zipfile alone makes of it
        assert archive.read(name.decode()) == head
    code, lines, _, out = _import(part, tmp_path)
    bomb = lines[name.decode()]
    assert bomb["outcome"] == "failed" and "inflates beyond its declared size" in \
        bomb["reason"], bomb
    assert [e["original_name"] for e in library_entries(tmp_path / "library")] == ["good.jpg"]
    assert code == 1, out


def test_tgz_that_inflates_like_a_bomb_stops_and_the_files_before_it_import(
        tmp_path: Path) -> None:
    part = tmp_path / "part.tgz"
    with tarfile.open(part, "w:gz") as tar:
        for index in range(3):
            data = unique_jpeg(f"before {index}")
            info = tarfile.TarInfo(f"{YEAR}/IMG_{index}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(f"{YEAR}/zeros.jpg")
        info.size = ZEROS
        tar.addfile(info, _ZeroReader(ZEROS))
    code, lines, rss, out = _import(part, tmp_path)
    problem = lines[str(part)]
    assert problem["outcome"] == "unreadable" and "zip bomb" in problem["reason"], problem
    names = sorted(e["original_name"] for e in library_entries(tmp_path / "library"))
    assert names == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert rss < 200_000, f"peak RSS {rss} kB"
    assert code == 1, out  # an unreadable part is a failure


def test_tar_member_declaring_more_than_the_part_could_hold_is_refused(tmp_path: Path) -> None:
    part = tmp_path / "part.tgz"
    good = unique_jpeg("good")
    header = tarfile.TarInfo(f"{YEAR}/huge.mp4")
    header.size = 10 << 30
    info = tarfile.TarInfo(f"{YEAR}/good.jpg")
    info.size = len(good)
    body = info.tobuf() + good + bytes(-len(good) % 512) + header.tobuf() + bytes(4096)
    part.write_bytes(zlib.compress(body, wbits=31))
    code, lines, _, out = _import(part, tmp_path)
    huge = lines[f"{YEAR}/huge.mp4"]
    assert huge["outcome"] == "unreadable" and "zip bomb" in huge["reason"], huge
    assert lines[f"{YEAR}/good.jpg"]["outcome"] == "imported"
    assert code == 1, out  # the part itself is cut short after the header


class _ZeroReader(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count
