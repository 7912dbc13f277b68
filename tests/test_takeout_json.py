"""Issue 3: JSON classified by content; album JSON in both forms; folder roles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from importer.model import GeoPoint
from importer.sources.layout import Role, album_for, folder_role, is_untitled
from importer.sources.takeout_json import (
    AlbumInfo,
    album_from_json,
    classify,
    metadata_from_sidecar,
)

SIDECAR = {
    "title": "IMG_20200920_131207.jpg", "description": " Tram 28 ", "imageViews": "9",
    "creationTime": {"timestamp": "1600598769"},
    "photoTakenTime": {"timestamp": "1600596727", "formatted": "Sep 20, 2020"},
    "geoData": {"latitude": 55.2, "longitude": 37.6, "altitude": 214.4},
    "geoDataExif": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
    "people": [{"name": "Дочь"}, {"name": ""}, {"name": "Дочь"}, "junk"],
    "url": "https://photos.google.com/photo/AF1QipOy",
    "googlePhotosOrigin": {"fromPartnerSharing": {}},
    "favorited": True, "archived": False,
}


@pytest.mark.parametrize(("data", "kind"), [
    (SIDECAR, "asset"),
    ({"title": "x.jpg", "url": "https://photos.google.com/photo/AF1", "creationTime": {}},
     "asset"),
    ({"title": "Trip", "description": "", "access": "protected", "date": {"timestamp": "1"}},
     "album"),
    ({"albumData": {"title": "Trip", "date": {"timestamp": "1"}}}, "album"),
    ({"title": "", "enrichments": []}, "album"),
    ({"externalOrderId": "123", "title": "Photo book"}, "print-order"),
    ({"something": "else"}, "other"),
])
def test_json_is_classified_by_content(data: dict[str, object], kind: str) -> None:
    assert classify(data) == kind


def test_sidecar_becomes_metadata() -> None:
    meta = metadata_from_sidecar(SIDECAR)
    assert meta.taken_at == datetime(2020, 9, 20, 10, 12, 7, tzinfo=UTC)
    assert meta.location == GeoPoint(55.2, 37.6, 214.4)  # geoDataExif 0/0 means unknown
    assert meta.description == "Tram 28"
    assert meta.people == ("Дочь",)
    assert (meta.favorite, meta.archived, meta.trashed, meta.partner_shared) == \
        (True, False, False, True)
    assert meta.google_url == "https://photos.google.com/photo/AF1QipOy"


@pytest.mark.parametrize("broken", [
    {"photoTakenTime": "0"}, {"photoTakenTime": {"timestamp": "0"}},
    {"photoTakenTime": {"timestamp": "x"}}, {"geoData": {"latitude": "n/a"}},
    {"geoData": {"latitude": 91.0, "longitude": 0.1}}, {"people": "nobody"},
    {"favorited": "yes"}, {"geoDataExif": {"latitude": float("nan"), "longitude": 1.0}},
])
def test_odd_values_become_unknown_not_errors(broken: dict[str, object]) -> None:
    meta = metadata_from_sidecar({"photoTakenTime": {}, **broken})
    assert meta.taken_at is None and meta.location is None and meta.favorite is False


def test_exif_position_wins_over_edited_one() -> None:
    data = {**SIDECAR, "geoDataExif": {"latitude": 1.5, "longitude": 2.5}}
    metadata = metadata_from_sidecar(data)
    assert metadata.location == GeoPoint(1.5, 2.5, None)
    # The edited position is kept apart, for the `prefer_google: [location]` setting.
    assert metadata.edited_location == _geo_of(SIDECAR["geoData"])


@pytest.mark.parametrize("geo_data", [
    {"latitude": 1.5, "longitude": 2.5},  # the same as the camera's
    {"latitude": 1.50005, "longitude": 2.5},  # ~6 m off: rounding, not an edit
    {"latitude": 0.0, "longitude": 0.0},  # unknown
])
def test_no_edited_position_when_google_kept_the_cameras(geo_data: dict[str, float]) -> None:
    data = {**SIDECAR, "geoDataExif": {"latitude": 1.5, "longitude": 2.5},
            "geoData": geo_data}
    assert metadata_from_sidecar(data).edited_location is None


def _geo_of(value: object) -> GeoPoint:
    assert isinstance(value, dict)
    return GeoPoint(value["latitude"], value["longitude"], value.get("altitude") or None)


def test_album_json_both_forms_and_enrichments() -> None:
    old = album_from_json({"albumData": {"title": "Trip", "description": "Sun",
                                         "date": {"timestamp": "1565000000"}}})
    assert old == AlbumInfo("Trip", "Sun", "1565000000")
    new = album_from_json({
        "title": "Trip", "description": "", "access": "protected",
        "enrichments": [{"narrativeEnrichment": {"text": "Day one"}},
                        {"locationEnrichment": {"location": [{"name": "Lisbon",
                                                              "description": "Portugal"}]}}],
    })
    assert new.title == "Trip" and new.description == "Day one\n\nLisbon"
    assert album_from_json({"title": "  "}).title is None


@pytest.mark.parametrize(("folder", "album", "role"), [
    ("Takeout/Google Photos", None, Role.PRODUCT),
    ("Takeout/Google Fotos/Fotos von 2019", None, Role.YEAR),
    ("Takeout/Google Photos/Photos from 2019", None, Role.YEAR),
    ("Takeout/Google Foto/Foto del 2020", None, Role.YEAR),
    ("Takeout/Zdjęcia Google/Zdjęcia z 2018", None, Role.YEAR),
    ("Takeout/Google Фото/Фото за 2017 г.", None, Role.YEAR),
    ("Takeout/Google Photos/2015-07-04", None, Role.YEAR),
    ("Takeout/Google Photos/Photos from 2019", AlbumInfo("Photos from 2019", None, None),
     Role.YEAR),
    ("Takeout/Google Photos/Summer 2019", AlbumInfo("Summer 2019", None, None), Role.ALBUM),
    ("Takeout/Google Photos/Trip to Lisbon", AlbumInfo("Trip to Lisbon", None, None),
     Role.ALBUM),
    ("Takeout/Google Photos/Trip to Lisbon", None, Role.ALBUM),  # old exports: no JSON
    ("Takeout/Google Photos/Archive", None, Role.ARCHIVE),
    ("Takeout/Google Fotos/Archiv", None, Role.ARCHIVE),
    ("Takeout/Google Photos/Trash", None, Role.TRASH),
    ("Takeout/Google Photos/Bin", None, Role.TRASH),
    ("Takeout/Google Photos/Corbeille", None, Role.TRASH),
    ("Takeout/Google Photos/Failed Videos", None, Role.FAILED),
    ("Takeout/Google Photos (Thai)/รูปภาพจาก 2019", None, Role.YEAR),  # unknown language
    ("Photos from 2019", None, Role.YEAR),  # an extracted product folder given directly
    ("", None, Role.PRODUCT),
    ("Takeout/Google Photos/Trip/sub", None, Role.NESTED),
])
def test_folder_roles(folder: str, album: AlbumInfo | None, role: Role) -> None:
    assert folder_role(folder, album) is role


@pytest.mark.parametrize("name", ["Untitled(1)", "Sans titre(9)", "Senza titolo",
                                  "Unbenannt (3)", "Sin título(2)", "Без названия"])
def test_untitled_folder_names(name: str) -> None:
    assert is_untitled(name)


def test_album_titles_come_from_the_json_and_keys_stay_stable() -> None:
    folder = "Takeout/Google Photos/Paris _ London"
    album = album_for(folder, AlbumInfo("Paris / London", "d", "1"), keep_untitled=True)
    assert album is not None and album.title == "Paris / London"
    assert album.key == "title:Paris / London" and album.description == "d"
    untitled = album_for("Takeout/Google Photos/Untitled(1)", AlbumInfo(None, None, "1565"),
                         keep_untitled=True)
    assert untitled is not None
    assert (untitled.title, untitled.key) == ("Untitled(1)", "untitled:1565")
    renumbered = album_for("Takeout/Google Photos/Untitled(4)", AlbumInfo(None, None, "1565"),
                           keep_untitled=True)
    assert renumbered is not None and renumbered.key == untitled.key
    assert album_for("Takeout/Google Photos/Untitled(1)", AlbumInfo(None, None, "1"),
                     keep_untitled=False) is None
    old = album_for("Takeout/Google Photos/Sans titre(9)", None, keep_untitled=True)
    assert old is not None and old.key == "title:Sans titre(9)"
