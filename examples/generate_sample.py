"""Regenerate the small sample export in examples/takeout (needs Pillow and piexif).

The committed files are its output; run `python examples/generate_sample.py` to rebuild
them. They are real, tiny images with sidecars written the way Takeout writes them: both
sidecar namings, an album in the 2025 format and one in the old `albumData` format, the
same photo in a year folder and in an album, a favorite, an archived photo, GPS, a PNG.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import piexif
from PIL import Image, ImageDraw

ROOT = Path(__file__).parent / "takeout" / "Takeout" / "Google Photos"


def picture(color: tuple[int, int, int], label: str, fmt: str, exif: bytes | None = None) -> bytes:
    image = Image.new("RGB", (96, 64), color)
    draw = ImageDraw.Draw(image)
    for x in range(0, 96, 8):
        draw.line([(x, 0), (95 - x, 63)], fill=(255 - color[0], 200, color[2] // 2))
    draw.text((6, 24), label, fill=(255, 255, 255))
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=80, **({"exif": exif} if exif else {}))
    else:
        image.save(out, fmt)
    return out.getvalue()


def epoch(text: str) -> str:
    return str(int(datetime.fromisoformat(text).astimezone(UTC).timestamp()))


def sidecar(title: str, taken: str, url_id: str, **extra: object) -> dict[str, object]:
    stamp = epoch(taken)
    data: dict[str, object] = {
        "title": title,
        "description": "",
        "imageViews": "3",
        "creationTime": {"timestamp": stamp, "formatted": taken},
        "photoTakenTime": {"timestamp": stamp, "formatted": taken},
        "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0,
                    "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "geoDataExif": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0,
                        "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "url": f"https://photos.google.com/photo/{url_id}",
        "googlePhotosOrigin": {"mobileUpload": {"deviceType": "ANDROID_PHONE"}},
    }
    data.update(extra)
    return data


def takeout_name(name: str) -> str:
    """Takeout caps a sidecar's whole name at 51 characters, cutting before `.json`."""
    if name.endswith(".json") and len(name) > 51:
        return name[: 51 - len(".json")] + ".json"
    return name


def write(folder: str, name: str, data: bytes | dict[str, object]) -> None:
    path = ROOT / folder / takeout_name(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, dict):
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        path.write_bytes(data)


def camera_exif() -> bytes:
    return piexif.dump({
        "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS 200D",
                piexif.ImageIFD.Orientation: 1},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2021:05:01 18:30:00",
                 piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"},
    })


def main() -> None:
    shutil.rmtree(ROOT.parent.parent, ignore_errors=True)
    lisbon = {"latitude": 38.7139, "longitude": -9.1334, "altitude": 45.0,
              "latitudeSpan": 0.0, "longitudeSpan": 0.0}
    nyc = {"latitude": 40.7128, "longitude": -74.006, "altitude": 10.0,
           "latitudeSpan": 0.0, "longitudeSpan": 0.0}
    tram = picture((30, 90, 160), "tram 28", "JPEG")
    tram_json = sidecar("IMG_20190704_101500.jpg", "2019-07-04T09:15:00+00:00",
                        "AF1QipTram28", description="Tram 28 in Alfama",
                        geoData=lisbon, geoDataExif=lisbon, favorited=True,
                        people=[{"name": "Ana"}])
    canon = picture((160, 60, 40), "canon", "JPEG", camera_exif())
    canon_json = sidecar("IMG_0042.jpg", "2021-05-01T16:30:00+00:00", "AF1QipCanon42")
    shot = picture((40, 140, 60), "screenshot", "PNG")
    shot_json = sidecar("Screenshot_20210612-091500.png", "2021-06-12T07:15:00+00:00",
                        "AF1QipShot")
    pxl = picture((120, 120, 30), "pixel", "JPEG")
    pxl_json = sidecar("PXL_20230809_203449253.jpg", "2023-08-09T20:34:49+00:00",
                       "AF1QipPixel", geoData=nyc, archived=True)

    write("Photos from 2019", "IMG_20190704_101500.jpg", tram)
    write("Photos from 2019", "IMG_20190704_101500.jpg.json", tram_json)
    write("Photos from 2021", "IMG_0042.jpg", canon)
    write("Photos from 2021", "IMG_0042.jpg.supplemental-metadata.json", canon_json)
    write("Photos from 2021", "Screenshot_20210612-091500.png", shot)
    write("Photos from 2021", "Screenshot_20210612-091500.png.supplemental-metadata.json",
          shot_json)
    write("Photos from 2023", "PXL_20230809_203449253.jpg", pxl)
    write("Photos from 2023", "PXL_20230809_203449253.jpg.supplemental-metadata.json", pxl_json)

    write("Trip to Lisbon", "metadata.json", {
        "title": "Trip to Lisbon", "description": "Summer 2019, with Ana",
        "access": "protected", "date": {"timestamp": epoch("2019-07-10T12:00:00+00:00")},
    })
    write("Trip to Lisbon", "IMG_20190704_101500.jpg", tram)
    write("Trip to Lisbon", "IMG_20190704_101500.jpg.json", tram_json)
    write("Trip to Lisbon", "IMG_0042.jpg", canon)
    write("Trip to Lisbon", "IMG_0042.jpg.supplemental-metadata.json", canon_json)
    write("Family", "metadata.json", {"albumData": {
        "title": "Family", "description": "", "access": "private",
        "date": {"timestamp": epoch("2023-08-10T00:00:00+00:00")},
    }})
    write("Family", "PXL_20230809_203449253.jpg", pxl)
    write("Family", "PXL_20230809_203449253.jpg.supplemental-metadata.json", pxl_json)


if __name__ == "__main__":
    main()
