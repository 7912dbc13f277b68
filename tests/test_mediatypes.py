"""The bytes decide what a file is; the name only guesses."""

from __future__ import annotations

import pytest

from importer.prepare import true_filename
from importer.sources import mediatypes


def ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00mif1heic"


@pytest.mark.parametrize(("name", "head", "extension"), [
    ("IMG_1.HEIC", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ".jpg"),  # a .heic holding a JPEG
    ("IMG_1.HEIC", ftyp(b"heic"), ".HEIC"),
    ("IMG_1.jpg", b"\x89PNG\r\n\x1a\n\x00\x00", ".png"),
    ("IMG_1.CR3", ftyp(b"crx "), ".CR3"),  # Canon RAW, not a video
    ("VID_1.mp4", ftyp(b"isom"), ".mp4"),
    ("IMG_1.MOV", ftyp(b"qt  "), ".MOV"),
    ("IMG_1.DNG", b"II*\x00\x08\x00\x00\x00", ".DNG"),  # TIFF-based RAW keeps its name
    ("PXL_1.MP", ftyp(b"isom"), ".mp4"),  # Pixel's extension-less motion part
])
def test_true_kind(name: str, head: bytes, extension: str) -> None:
    kind = mediatypes.resolve(name, head)
    assert kind is not None
    assert true_filename(name, kind) == name[: name.rfind(".")] + extension


def test_cr3_is_a_photo() -> None:
    kind = mediatypes.resolve("IMG_1.CR3", ftyp(b"crx "))
    assert kind is not None and kind.media_type is mediatypes.MediaType.PHOTO
