"""XMP sidecars (`<file>.xmp`): the metadata of files we do not (or may not) write into.

Immich runs ExifTool on an uploaded sidecar and lets its tags override the file's; PhotoPrism
reads XMP with its own parser (date from photoshop:DateCreated, then exif:DateTimeOriginal,
then xmp:CreateDate; GPS from exif:GPSLatitude/GPSLongitude). So the capture time is
written to all three date properties, always with its offset, and positions in XMP's
"DDD,MM.mmmmmmmmK" form. The caption is dc:description's default language entry.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from importer.metadata.convert import (
    altitude_rational,
    clean_text,
    parse_xmp_coordinate,
    xmp_coordinate,
    xmp_datetime,
)
from importer.model import GeoPoint, Metadata

_NAMESPACES = {
    "exif": "http://ns.adobe.com/exif/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
FAVORITE_RATING = 5


def _text(value: str) -> str:
    """XML-escaped; CR as a character reference, or XML parsers would turn it into LF."""
    return escape(value).replace("\r", "&#13;")


def _properties(metadata: Metadata) -> list[str]:
    lines: list[str] = []
    if metadata.taken_at is not None:
        stamp = xmp_datetime(metadata.taken_at)
        for name in ("exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate"):
            lines.append(f"<{name}>{stamp}</{name}>")
    point = metadata.location
    if point is not None:
        lines.append("<exif:GPSVersionID>2.3.0.0</exif:GPSVersionID>")
        lines.append(f"<exif:GPSLatitude>{xmp_coordinate(point.latitude, True)}"
                     "</exif:GPSLatitude>")
        lines.append(f"<exif:GPSLongitude>{xmp_coordinate(point.longitude, False)}"
                     "</exif:GPSLongitude>")
        if point.altitude is not None and point.altitude != 0.0:
            (numerator, denominator), ref = altitude_rational(point.altitude)
            lines.append(f"<exif:GPSAltitudeRef>{ref}</exif:GPSAltitudeRef>")
            lines.append(f"<exif:GPSAltitude>{numerator}/{denominator}</exif:GPSAltitude>")
    caption = clean_text(metadata.description or "")
    if caption:
        lines.append("<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">"
                     f"{_text(caption)}</rdf:li></rdf:Alt></dc:description>")
    if metadata.favorite:
        lines.append(f"<xmp:Rating>{FAVORITE_RATING}</xmp:Rating>")
    return lines


def sidecar(metadata: Metadata) -> bytes | None:
    """The XMP packet for `metadata`, or None when there is nothing to say."""
    properties = _properties(metadata)
    if not properties:
        return None
    namespaces = "".join(f'\n    xmlns:{p}="{uri}"' for p, uri in _NAMESPACES.items())
    body = "".join(f"\n   {line}" for line in properties)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="gphotos-importer">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""{namespaces}>{body}\n'
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )
    return packet.encode("utf-8")


def _find(root: ElementTree.Element, name: str) -> str | None:
    prefix, local = name.split(":")
    uri = _NAMESPACES.get(prefix, "http://www.w3.org/XML/1998/namespace")
    found = root.find(f".//{{{uri}}}{local}")
    if found is None:
        return None
    if prefix == "dc":  # dc:description holds an rdf:Alt of language entries
        item = found.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li")
        found = item if item is not None else found
    return found.text or ""


def _altitude(root: ElementTree.Element) -> float | None:
    text = _find(root, "exif:GPSAltitude")
    if not text:
        return None
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        return None
    return -value if (_find(root, "exif:GPSAltitudeRef") or "").strip() == "1" else value


def read_sidecar(data: bytes) -> Metadata | None:
    """The values of a sidecar as `sidecar` writes them (capture time, place, caption,
    favorite); None when it is not XMP we can read. For repairing and checking ours."""
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, ValueError, RecursionError):
        return None
    taken = None
    stamp = _find(root, "exif:DateTimeOriginal") or _find(root, "photoshop:DateCreated")
    if stamp:
        try:
            taken = datetime.fromisoformat(stamp.strip())
        except ValueError:
            taken = None
        if taken is not None and taken.utcoffset() is None:
            taken = None
    lat = parse_xmp_coordinate(_find(root, "exif:GPSLatitude") or "")
    lon = parse_xmp_coordinate(_find(root, "exif:GPSLongitude") or "")
    location = GeoPoint(lat, lon, _altitude(root)) if lat is not None and lon is not None \
        else None
    rating = (_find(root, "xmp:Rating") or "").strip()
    return Metadata(taken_at=taken, location=location,
                    description=_find(root, "dc:description") or None,
                    favorite=rating == str(FAVORITE_RATING))
