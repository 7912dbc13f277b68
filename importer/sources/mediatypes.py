"""What kind of media a file is, from its name and, authoritatively, from its first bytes.

Takeout has `.heic` files holding JPEG bytes; galleries drop or mis-handle a file whose
extension lies, so the bytes decide and the name only guesses.
"""

from __future__ import annotations

from dataclasses import dataclass

from importer.model import MediaType


@dataclass(frozen=True)
class Kind:
    mime: str
    extension: str
    media_type: MediaType


JPEG = Kind("image/jpeg", ".jpg", MediaType.PHOTO)
PNG = Kind("image/png", ".png", MediaType.PHOTO)
GIF = Kind("image/gif", ".gif", MediaType.PHOTO)
WEBP = Kind("image/webp", ".webp", MediaType.PHOTO)
HEIC = Kind("image/heic", ".heic", MediaType.PHOTO)
AVIF = Kind("image/avif", ".avif", MediaType.PHOTO)
TIFF = Kind("image/tiff", ".tif", MediaType.PHOTO)
BMP = Kind("image/bmp", ".bmp", MediaType.PHOTO)
MP4 = Kind("video/mp4", ".mp4", MediaType.VIDEO)
MOV = Kind("video/quicktime", ".mov", MediaType.VIDEO)
M4V = Kind("video/x-m4v", ".m4v", MediaType.VIDEO)
GPP = Kind("video/3gpp", ".3gp", MediaType.VIDEO)
AVI = Kind("video/x-msvideo", ".avi", MediaType.VIDEO)
MKV = Kind("video/x-matroska", ".mkv", MediaType.VIDEO)
WEBM = Kind("video/webm", ".webm", MediaType.VIDEO)
MPEG = Kind("video/mpeg", ".mpg", MediaType.VIDEO)
MTS = Kind("video/mp2t", ".mts", MediaType.VIDEO)
WMV = Kind("video/x-ms-wmv", ".wmv", MediaType.VIDEO)
RAW_KINDS = {
    ext: Kind(f"image/x-{ext[1:]}", ext, MediaType.PHOTO)
    for ext in (".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".srw", ".pef")
}

BY_EXTENSION: dict[str, Kind] = {
    ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".jfif": JPEG,
    ".png": PNG, ".gif": GIF, ".webp": WEBP,
    ".heic": HEIC, ".heif": HEIC, ".avif": AVIF,
    ".tif": TIFF, ".tiff": TIFF, ".bmp": BMP,
    ".mp4": MP4, ".mov": MOV, ".qt": MOV, ".m4v": M4V, ".3gp": GPP, ".3g2": GPP,
    ".avi": AVI, ".mkv": MKV, ".webm": WEBM, ".mpg": MPEG, ".mpeg": MPEG,
    ".mts": MTS, ".m2ts": MTS, ".wmv": WMV,
    **RAW_KINDS,
}

_FTYP_BRANDS: dict[bytes, Kind] = {
    b"heic": HEIC, b"heix": HEIC, b"hevc": HEIC, b"heim": HEIC, b"heis": HEIC,
    b"mif1": HEIC, b"msf1": HEIC, b"avif": AVIF, b"avis": AVIF,
    b"qt  ": MOV, b"M4V ": M4V, b"M4VH": M4V, b"M4VP": M4V,
    b"3gp4": GPP, b"3gp5": GPP, b"3gp6": GPP, b"3g2a": GPP,
    b"crx ": RAW_KINDS[".cr3"],  # Canon CR3 is ISO-BMFF too: not a video
}

SNIFF_BYTES = 512
"""Enough for every signature below (an MPEG transport stream shows its second packet)."""
_TIFF_HEADS = (b"II*\x00", b"MM\x00*", b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")  # + ORF, RW2
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")  # MOV without ftyp
_ASF = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"
_BMP_HEADERS = frozenset({12, 40, 52, 56, 64, 108, 124})


def extension(name: str) -> str:
    """'IMG_1.JPG' -> '.jpg' (lower case); '' when the name has none."""
    dot = name.rfind(".")
    if dot <= 0 or "/" in name[dot:]:
        return ""
    return name[dot:].lower()


def by_name(name: str) -> Kind | None:
    return BY_EXTENSION.get(extension(name))


def _transport_stream(head: bytes) -> bool:
    """MPEG-TS (.mts: 188-byte packets) or M2TS (192: a 4-byte time code in front)."""
    return (len(head) > 188 and head[0] == head[188] == 0x47) or \
        (len(head) > 196 and head[4] == head[196] == 0x47)


def _sniff_video(head: bytes) -> Kind | None:
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if b"webm" in head[:64] else MKV
    if head[4:8] in _QUICKTIME_ATOMS:
        return MOV
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return MPEG
    if head.startswith(_ASF):
        return WMV
    if _transport_stream(head):
        return MTS
    return None


def sniff(head: bytes) -> Kind | None:
    """The kind the first bytes prove, or None when they prove nothing we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], MP4)
    if head.startswith(_TIFF_HEADS):
        return TIFF  # also the container of most RAW formats; `resolve` keeps those
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return RAW_KINDS[".raf"]
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_HEADERS:
        return BMP
    return _sniff_video(head)


def describe(head: bytes) -> str:
    """What bytes that are no photo or video look like, for the report."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    known = ((b"pk\x03\x04", "a zip archive"), (b"%pdf", "a PDF document"),
             (b"<!doctype html", "an HTML page"), (b"<html", "an HTML page"),
             (b"<?xml", "an XML document"), (b"{", "JSON or text"), (b"[", "JSON or text"),
             (b"\x1f\x8b", "gzip data"), (b"7z\xbc\xaf", "a 7-Zip archive"),
             (b"rar!", "a RAR archive"))
    for signature, what in known:
        if text.startswith(signature):
            return what
    if not head:
        return "empty"
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head[:256])
    return "text" if printable > 0.95 * min(len(head), 256) else "data of an unknown kind"


def resolve(name: str, head: bytes) -> Kind | None:
    """The content decides, the name never makes a file media: None when the bytes are
    no photo or video we know (a zip named .mp4, an HTML page named .jpg). A TIFF-like
    RAW keeps its (more specific) RAW extension."""
    from_name = by_name(name)
    found = sniff(head)
    if found is None:
        return None
    if found is TIFF and from_name is not None and from_name.extension in RAW_KINDS:
        return from_name
    if from_name is not None and from_name.mime == found.mime:
        return from_name
    return found


def is_media_name(name: str) -> bool:
    return by_name(name) is not None
