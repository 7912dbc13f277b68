"""Regenerate the small media fixtures in tests/media: `python tests/media/make_media.py`.

Needs Pillow and piexif (test extras) and pillow-heif (only here, for the HEIC files). The
committed files are its output; tests read those, so this script is needed only to change
them. EXIF blocks are laid out by hand (`tiff_block`) so fixtures can hold what cameras
write and libraries mangle: maker notes with absolute offsets, little-endian blocks,
thumbnails, tags piexif does not know. MP4/MOV files are built box by box: a real movie
structure (one video track) that ExifTool parses, with no codec data to speak of.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent
ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 2, 3, 4, 5, 7


@dataclass
class Tag:
    tag: int
    type: int
    count: int
    value: bytes | Callable[[int], bytes]
    """The value in the block's byte order, or a function of its offset in the block."""
    size: int = 0


def ascii_tag(tag: int, text: str) -> Tag:
    data = text.encode() + b"\0"
    return Tag(tag, ASCII, len(data), data)


def number_tag(order: str, tag: int, kind: int, *values: int) -> Tag:
    fmt = {SHORT: "H", LONG: "L"}[kind]
    return Tag(tag, kind, len(values), struct.pack(order + fmt * len(values), *values))


def rational_tag(order: str, tag: int, *pairs: tuple[int, int]) -> Tag:
    flat = [n for pair in pairs for n in pair]
    return Tag(tag, RATIONAL, len(pairs), struct.pack(order + "L" * len(flat), *flat))


def tiff_block(order: str, ifds: dict[str, list[Tag]], thumbnail: bytes | None = None) -> bytes:
    """A TIFF-structured EXIF block: IFD0, Exif IFD, GPS IFD, IFD1 (+ thumbnail), each
    directory followed by its out-of-line values; pointer tags are added here."""
    pack = lambda fmt, *v: struct.pack(order + fmt, *v)  # noqa: E731
    names = [n for n in ("0th", "Exif", "GPS", "1st") if n in ifds or (n == "1st" and thumbnail)]
    tags = {n: list(ifds.get(n, [])) for n in names}
    for child, pointer in (("Exif", 0x8769), ("GPS", 0x8825)):
        if child in tags:
            tags["0th"].append(Tag(pointer, LONG, 1, b"\0" * 4))
    if thumbnail:
        tags["1st"] += [Tag(0x0201, LONG, 1, b"\0" * 4), Tag(0x0202, LONG, 1,
                                                              pack("L", len(thumbnail)))]
    for name in names:
        tags[name].sort(key=lambda t: t.tag)
    positions, thumb_at = _layout(names, tags)
    out = bytearray(b"II*\0" if order == "<" else b"MM\0*") + pack("L", 8)
    for name in names:
        following = positions["1st"] if name == "0th" and "1st" in names else 0
        values_at = positions[name] + 2 + 12 * len(tags[name]) + 4
        directory, values = bytearray(pack("H", len(tags[name]))), bytearray()
        for tag in tags[name]:
            pointer = {0x8769: positions.get("Exif"), 0x8825: positions.get("GPS"),
                       0x0201: thumb_at}.get(tag.tag)
            data = pack("L", pointer) if pointer is not None else tag.value
            if callable(data):
                data = data(values_at + len(values))
            if len(data) > 4:
                directory += pack("HHL", tag.tag, tag.type, tag.count)
                directory += pack("L", values_at + len(values))
                values += data + b"\0" * (len(data) & 1)
            else:
                directory += pack("HHL", tag.tag, tag.type, tag.count) + data.ljust(4, b"\0")
        directory += pack("L", following)
        out += directory + values
    return bytes(out + (thumbnail or b""))


def _layout(names: list[str], tags: dict[str, list[Tag]]) -> tuple[dict[str, int], int]:
    """Where each directory starts (each followed by its word-aligned values), and where
    the thumbnail goes after them."""
    positions: dict[str, int] = {}
    at = 8
    for name in names:
        positions[name] = at
        at += 2 + 12 * len(tags[name]) + 4
        for tag in tags[name]:
            size = len(tag.value) if isinstance(tag.value, bytes) else tag.size
            if size > 4:
                at += size + (size & 1)
    return positions, at


def picture(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> Image.Image:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 4):
        draw.line([(x, 0), (size[0] - 1 - x, size[1] - 1)], fill=(255 - color[0], 90, 40))
    return image


def jfif_jpeg(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    picture(color).save(out, "JPEG", quality=60)
    return out.getvalue()


def with_exif(jpeg: bytes, block: bytes) -> bytes:
    """Insert an APP1 EXIF segment after SOI and APP0, as cameras lay files out."""
    payload = b"Exif\0\0" + block
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    app0_end = 4 + struct.unpack(">H", jpeg[4:6])[0] if jpeg[2:4] == b"\xff\xe0" else 2
    return jpeg[:app0_end] + segment + jpeg[app0_end:]


def camera_tags(order: str, make: str, model: str, orientation: int) -> list[Tag]:
    return [ascii_tag(0x010F, make), ascii_tag(0x0110, model),
            number_tag(order, 0x0112, SHORT, orientation),
            rational_tag(order, 0x011A, (72, 1)), rational_tag(order, 0x011B, (72, 1)),
            number_tag(order, 0x0128, SHORT, 2)]


def nikon_maker_note() -> bytes:
    """Nikon type 3: its own TIFF header, offsets relative to it (self-contained)."""
    inner = tiff_like_ifd(">", [
        Tag(0x0001, UNDEFINED, 4, b"0211"),
        number_tag(">", 0x0002, SHORT, 0, 400),
        ascii_tag(0x0004, "FINE   "),
        ascii_tag(0x0005, "AUTO        "),
    ])
    return b"Nikon\0\x02\x11\0\0" + inner


def tiff_like_ifd(order: str, tags: list[Tag]) -> bytes:
    """A TIFF header and one directory, offsets relative to that header."""
    pack = lambda fmt, *v: struct.pack(order + fmt, *v)  # noqa: E731
    head = (b"MM\0*" if order == ">" else b"II*\0") + pack("L", 8)
    values_at = 8 + 2 + 12 * len(tags) + 4
    directory, values = bytearray(pack("H", len(tags))), bytearray()
    for tag in sorted(tags, key=lambda t: t.tag):
        assert isinstance(tag.value, bytes)
        if len(tag.value) > 4:
            directory += pack("HHLL", tag.tag, tag.type, tag.count, values_at + len(values))
            values += tag.value + b"\0" * (len(tag.value) & 1)
        else:
            directory += pack("HHL", tag.tag, tag.type, tag.count) + tag.value.ljust(4, b"\0")
    return head + bytes(directory) + pack("L", 0) + bytes(values)


def canon_maker_note(order: str) -> Tag:
    """Canon: a bare directory whose values are addressed from the EXIF block's start."""
    image_type = b"Canon EOS 200D JPEG\0"
    firmware = b"Firmware Version 1.0.1\0"
    size = 2 + 12 * 2 + 4 + len(image_type) + len(firmware)

    def build(position: int) -> bytes:
        pack = lambda fmt, *v: struct.pack(order + fmt, *v)  # noqa: E731
        values_at = position + 2 + 12 * 2 + 4
        return (pack("H", 2)
                + pack("HHLL", 0x0006, ASCII, len(image_type), values_at)
                + pack("HHLL", 0x0007, ASCII, len(firmware), values_at + len(image_type))
                + pack("L", 0) + image_type + firmware)

    return Tag(0x927C, UNDEFINED, size, build, size)


def thumbnail_jpeg(app0: bool = False) -> bytes:
    """EXIF says thumbnails carry no APPn segments; `app0` makes one that does (piexif
    strips it on a rewrite, which would change the thumbnail)."""
    out = io.BytesIO()
    picture((10, 200, 90), (8, 6)).save(out, "JPEG", quality=50)
    data = out.getvalue()
    return data if app0 else data[:2] + data[4 + struct.unpack(">H", data[4:6])[0]:]


def gps_tags(order: str) -> list[Tag]:
    return [Tag(0x0000, 1, 4, bytes([2, 3, 0, 0])), ascii_tag(0x0001, "S"),
            rational_tag(order, 0x0002, (33, 1), (51, 1), (3540, 100)),
            ascii_tag(0x0003, "E"),
            rational_tag(order, 0x0004, (151, 1), (12, 1), (3456, 100)),
            Tag(0x0005, 1, 1, b"\0"), rational_tag(order, 0x0006, (58, 1))]


def jpegs() -> dict[str, bytes]:
    made: dict[str, bytes] = {"plain.jpg": jfif_jpeg((30, 90, 160))}
    made["nikon.jpg"] = with_exif(jfif_jpeg((200, 60, 20)), tiff_block("<", {
        "0th": camera_tags("<", "NIKON CORPORATION", "NIKON D750", 6),
        "Exif": [Tag(0x9000, UNDEFINED, 4, b"0231"),
                 Tag(0x927C, UNDEFINED, len(nikon_maker_note()), nikon_maker_note())],
    }))
    made["canon.jpg"] = with_exif(jfif_jpeg((120, 20, 160)), tiff_block(">", {
        "0th": camera_tags(">", "Canon", "Canon EOS 200D", 8),
        "Exif": [Tag(0x9000, UNDEFINED, 4, b"0231"), canon_maker_note(">")],
    }))
    made["complete.jpg"] = with_exif(jfif_jpeg((90, 160, 30)), tiff_block(">", {
        "0th": [*camera_tags(">", "Google", "Pixel 7", 1),
                ascii_tag(0x010E, "Harbour bridge at dusk")],
        "Exif": [ascii_tag(0x9003, "2022:12:31 20:15:07"), ascii_tag(0x9011, "+11:00"),
                 ascii_tag(0x9004, "2022:12:31 20:15:07"), ascii_tag(0x9012, "+11:00")],
        "GPS": gps_tags(">"),
    }, thumbnail=thumbnail_jpeg()))
    made["thumbnail.jpg"] = with_exif(jfif_jpeg((160, 160, 30)), tiff_block("<", {
        "0th": camera_tags("<", "SONY", "ILCE-7M3", 3),
        "Exif": [Tag(0x9000, UNDEFINED, 4, b"0231")],
    }, thumbnail=thumbnail_jpeg()))
    made["naive.jpg"] = with_exif(jfif_jpeg((20, 20, 160)), tiff_block("<", {
        "0th": camera_tags("<", "OLYMPUS IMAGING CORP.", "E-M10", 1),
        "Exif": [ascii_tag(0x9003, "2018:03:04 15:30:00")],
    }))
    made["unknown_tag.jpg"] = with_exif(jfif_jpeg((60, 60, 60)), tiff_block(">", {
        "0th": camera_tags(">", "Acme", "Private Tags 1", 1),
        "Exif": [Tag(0xC7A1, UNDEFINED, 6, b"secret")],
    }))
    broken = tiff_block(">", {"0th": camera_tags(">", "Broken", "Cam", 1)})
    broken = broken[:4] + struct.pack(">L", 60000) + broken[8:]  # IFD0 beyond the block
    made["damaged.jpg"] = with_exif(jfif_jpeg((200, 200, 200)), broken)
    return made


def pngs() -> dict[str, bytes]:
    plain = io.BytesIO()
    picture((40, 140, 60)).save(plain, "PNG")
    tagged = io.BytesIO()
    block = tiff_block(">", {
        "0th": camera_tags(">", "samsung", "SM-G991B", 1),
        "Exif": [ascii_tag(0x9003, "2021:08:01 09:00:00"), ascii_tag(0x9011, "+02:00")],
    })
    picture((140, 40, 60)).save(tagged, "PNG", exif=b"Exif\0\0" + block)
    return {"plain.png": plain.getvalue(), "exif.png": tagged.getvalue()}


def heics() -> dict[str, bytes]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    made = {}
    for name, exif in {
        "iphone.heic": tiff_block(">", {
            "0th": camera_tags(">", "Apple", "iPhone 12", 6),
            "Exif": [ascii_tag(0x9003, "2020:01:02 03:04:05"), ascii_tag(0x9011, "-05:00")],
            "GPS": gps_tags(">"),
        }),
        "plain.heic": tiff_block(">", {"0th": camera_tags(">", "Apple", "iPhone 8", 1)}),
    }.items():
        out = io.BytesIO()
        picture((200, 40, 40), (64, 48)).save(out, "HEIF", exif=b"Exif\0\0" + exif, quality=30)
        made[name] = out.getvalue()
    return made


# -- movies ----------------------------------------------------------------------------------


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, *parts: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]), *parts)


def _quicktime_seconds(moment: datetime) -> int:
    return int((moment - datetime(1904, 1, 1, tzinfo=UTC)).total_seconds())


def movie_track(created: int) -> bytes:
    matrix = struct.pack(">9L", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = full_box(b"tkhd", 0, struct.pack(">LLLLL", created, created, 1, 0, 1000),
                    b"\0" * 8, struct.pack(">HHHH", 0, 0, 0, 0), matrix,
                    struct.pack(">LL", 64 << 16, 48 << 16))
    mdhd = full_box(b"mdhd", 0, struct.pack(">LLLLHH", created, created, 1000, 1000, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, b"\0" * 4, b"vide", b"\0" * 12, b"VideoHandler\0")
    stbl = box(b"stbl", full_box(b"stsd", 0, struct.pack(">L", 0)),
               full_box(b"stts", 0, struct.pack(">LLL", 1, 1, 1000)),
               full_box(b"stsc", 0, struct.pack(">LLLL", 1, 1, 1, 1)),
               full_box(b"stsz", 0, struct.pack(">LLL", 0, 1, 16)),
               full_box(b"stco", 0, struct.pack(">LL", 1, 0)))
    minf = box(b"minf", full_box(b"vmhd", 0, b"\0" * 8),
               box(b"dinf", full_box(b"dref", 0, struct.pack(">L", 1), full_box(b"url ", 0))),
               stbl)
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))


def mvhd(created: int) -> bytes:
    matrix = struct.pack(">9L", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    return full_box(b"mvhd", 0, struct.pack(">LLLL", created, created, 1000, 1000),
                    struct.pack(">LH", 0x10000, 0x100), b"\0" * 10, matrix, b"\0" * 24,
                    struct.pack(">L", 2))


def apple_keys(values: dict[str, str]) -> bytes:
    keys = b"".join(struct.pack(">L", 8 + len(k)) + b"mdta" + k.encode() for k in values)
    items = b"".join(
        box(struct.pack(">L", n), box(b"data", struct.pack(">LL", 1, 0), v.encode()))
        for n, v in enumerate(values.values(), start=1))
    return box(b"meta", full_box(b"hdlr", 0, b"\0" * 4, b"mdta", b"\0" * 12, b"\0"),
               full_box(b"keys", 0, struct.pack(">L", len(values)), keys), box(b"ilst", items))


def udta_text(kind: bytes, text: str) -> bytes:
    return box(kind, struct.pack(">HH", len(text.encode()), 0x55C4), text.encode())


def movies() -> dict[str, bytes]:
    mdat = box(b"mdat", bytes(range(16)))
    created = _quicktime_seconds(datetime(2016, 5, 6, 7, 8, 9, tzinfo=UTC))
    camera = box(b"moov", mvhd(created), movie_track(created),
                 box(b"udta", udta_text(b"\xa9mak", "GoPro"), udta_text(b"\xa9mod", "HERO5")))
    # moov after mdat, as many cameras write it: found while streaming, not by seeking.
    mp4 = box(b"ftyp", b"isom", struct.pack(">L", 0x200), b"isomiso2mp41") + mdat + camera
    apple = apple_keys({
        "com.apple.quicktime.make": "Apple",
        "com.apple.quicktime.model": "iPhone 12",
        "com.apple.quicktime.creationdate": "2020-01-02T03:04:05-0500",
        "com.apple.quicktime.location.ISO6709": "-33.8598+151.2096+058.000/",
    })
    phone = box(b"moov", mvhd(created + 3600), movie_track(created), apple)
    mov = box(b"ftyp", b"qt  ", struct.pack(">L", 0), b"qt  ") + phone + mdat
    return {"camera.mp4": mp4, "iphone.mov": mov}


def main() -> None:
    for name, data in {**jpegs(), **pngs(), **heics(), **movies()}.items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
