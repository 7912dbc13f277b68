"""XMP sidecars (`<file>.xmp`): the metadata of files we do not (or may not) write into.

Immich runs ExifTool on an uploaded sidecar and lets its tags override the file's; PhotoPrism
reads XMP with its own parser (date from photoshop:DateCreated, then exif:DateTimeOriginal,
then xmp:CreateDate; GPS from exif:GPSLatitude/GPSLongitude). So the capture time is
written to all three date properties, always with its offset, and positions in XMP's
"DDD,MM.mmmmmmmmK" form. The caption is dc:description's default language entry.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from importer.metadata.convert import (
    altitude_rational,
    clean_text,
    xmp_coordinate,
    xmp_datetime,
)
from importer.model import Metadata

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
