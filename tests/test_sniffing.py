"""Issue 9: bytes that are not what their name says (a zip named .mp4, text named .jpg,
HTML named .heic) are reported as "not a photo or video" and never stored as media, in any
target; real media under a wrong name is still imported as what it is."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from importer.model import MediaFile, MediaItem, MediaType, Metadata
from importer.prepare import NotMedia, prepare
from importer.sources import mediatypes
from tests.cli_targets import KINDS, open_target
from tests.conftest import CliResult
from tests.exportgen import PRODUCT, sidecar_name, unique_jpeg, unique_mp4

YEAR = f"{PRODUCT}/Photos from 2019"


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inside.txt", "hello")
    return out.getvalue()


IMPOSTORS = {  # name -> (bytes, what the report must call them)
    "holiday.mp4": (_zip_bytes(), "a zip archive"),
    "note.jpg": (b"Remember to buy milk.\n" * 20, "text"),
    "error.heic": (b"<!DOCTYPE html><html><body>Service unavailable</body></html>",
                   "an HTML page"),
    "IMG_0001.JPG": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
}


def _sidecar(name: str, url: str) -> bytes:
    return json.dumps({"title": name, "photoTakenTime": {"timestamp": "1562235300"},
                       "url": url}).encode()


@pytest.mark.parametrize("kind", KINDS)
def test_impostors_are_reported_and_never_stored(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        kind: str) -> None:
    folder = tmp_path / "export" / YEAR
    folder.mkdir(parents=True)
    real = {"real.jpg": unique_jpeg("real"), "real-video.heic": unique_mp4("a video"),
            "IMG_0002.HEIC": unique_jpeg("jpeg in heic")}
    for index, (name, data) in enumerate({**real, **{n: b for n, (b, _) in IMPOSTORS.items()}
                                          }.items()):
        (folder / name).write_bytes(data)
        if index % 2:  # half with a sidecar (identified by URL), half by their bytes
            (folder / sidecar_name(name)).write_bytes(_sidecar(name, f"https://x/{index}"))
    report = tmp_path / "report.json"
    with open_target(kind, tmp_path, monkeypatch) as target:
        for _ in range(2):
            result = cli("import", tmp_path / "export", "--to", target.spec,
                         "--state", target.state, "--report", report)
            assert result.code == 0, result.out + result.err
            lines = {f["file"].rsplit("/", 1)[1]: f
                     for f in json.loads(report.read_text(encoding="utf-8"))["files"]}
            for name, (_, what) in IMPOSTORS.items():
                assert lines[name]["outcome"] == "skipped", lines[name]
                assert lines[name]["reason"].startswith("not a photo or video")  # named once
                assert what in lines[name]["reason"], lines[name]
            assert len(target.items()) == len(real)
        assert set(target.remote_ids().values()) == target.items()


def test_a_live_photo_whose_motion_part_is_no_video_keeps_its_still(tmp_path: Path) -> None:
    still = MediaFile("IMG_1.JPG", "x:IMG_1.JPG", 10, MediaType.PHOTO, "image/jpeg",
                      lambda: io.BytesIO(unique_jpeg("still")))
    motion = MediaFile("IMG_1.MOV", "x:IMG_1.MOV", 10, MediaType.VIDEO, "video/quicktime",
                       lambda: io.BytesIO(_zip_bytes()))
    asset = prepare(MediaItem(still, Metadata(), live_video=motion))
    assert asset.live_video is None
    assert any("a zip archive" in note and "left out" in note for note in asset.metadata_notes)


_DOCUMENTS = st.one_of(
    st.text(min_size=1).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b for b, _ in IMPOSTORS.values()]),
    st.binary(min_size=1).filter(lambda b: mediatypes.sniff(b) is None),
)


@given(body=_DOCUMENTS, name=st.sampled_from(sorted(mediatypes.BY_EXTENSION)))
def test_no_name_makes_bytes_media(body: bytes, name: str) -> None:
    if mediatypes.sniff(body[:mediatypes.SNIFF_BYTES]) is not None:
        return  # random text can start like a BMP ("BM…") or a TIFF ("II*\0")
    file = MediaFile(f"x{name}", f"x:x{name}", len(body), MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(body))
    with pytest.raises(NotMedia, match="not a photo or video"):
        prepare(MediaItem(file))


def _ts(packet: int) -> bytes:
    """Two MPEG transport stream packets (188 bytes, or 192 with a time code)."""
    body = (b"\x00" * (packet - 188) + b"\x47" + b"\x00" * 187) * 2
    return body


@pytest.mark.parametrize(("name", "head", "mime"), [
    ("clip.mts", _ts(188), "video/mp2t"),
    ("clip.m2ts", _ts(192), "video/mp2t"),
    ("clip.mpg", b"\x00\x00\x01\xba" + bytes(60), "video/mpeg"),
    ("clip.wmv", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11" + bytes(60), "video/x-ms-wmv"),
    ("old.mov", b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "video/quicktime"),
    ("raw.orf", b"IIRO\x08\x00\x00\x00" + bytes(60), "image/x-orf"),
    ("raw.rw2", b"IIU\x00\x08\x00\x00\x00" + bytes(60), "image/x-rw2"),
    ("raw.raf", b"FUJIFILMCCD-RAW 0201" + bytes(60), "image/x-raf"),
    ("scan.bmp", b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(40), "image/bmp"),
])
def test_every_format_we_name_is_also_recognised_by_its_bytes(name: str, head: bytes,
                                                              mime: str) -> None:
    kind = mediatypes.resolve(name, head)
    assert kind is not None and kind.mime == mime
