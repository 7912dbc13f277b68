"""What a folder of the export is, from its place and name (pure, table-tested).

Inside `Takeout/<product>/` Google writes year folders ("Photos from 2019", localized),
one folder per album (named after the album, sanitized), and special folders: Archive,
Trash, Failed Videos. Every name is localized, so the product folder is also recognised
by its place (the folder right under `Takeout/`), and an album by its album JSON.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import replace

from importer.model import Album
from importer.sources.takeout_json import AlbumInfo

PRODUCT_NAMES = frozenset(name.casefold() for name in (
    "Google Photos", "Google Foto", "Google Fotos", "Zdjęcia Google", "Google Фото",
    "Google Фотографии", "Google フォト", "Google 相册", "Google 相簿", "Google 포토",
    "Google Fotoğraflar", "Google Φωτογραφίες", "Fotky Google", "Google Kuvat",
))
_YEAR = re.compile(
    r"^(Photos from|Fotos von|Photos de|Foto del|Foto dal|Fotos de|Fotos del|Fotos da|"
    r"Foto's uit|Foto's van|Zdjęcia z|Zdjęcia od|Фото за|Фотографии за|Fotos fra|"
    r"Foton från|Kuvat vuodelta|Fotky z roku|Fotky z|Fotók|Fotoğraflar) "
    r"(19|20)\d{2}( г\.| года| r\.)?$",
    re.IGNORECASE,
)
_DATE_FOLDER = re.compile(r"^(19|20)\d{2}-\d{2}-\d{2}( #\d+)?$")  # exports before 2020
_YEARISH = re.compile(r"^\D{0,30}(?<!\d)(19|20)\d{2}(?!\d)\D{0,12}$")
ARCHIVE_NAMES = frozenset(n.casefold() for n in (
    "Archive", "Archiv", "Archives", "Archivio", "Archivo", "Archief", "Archiwum", "Архив",
    "Arquivo", "Arkiv", "Arkisto", "アーカイブ", "归档", "封存", "보관함",
))
TRASH_NAMES = frozenset(n.casefold() for n in (
    "Trash", "Bin", "Corbeille", "Papierkorb", "Cestino", "Papelera", "Prullenbak", "Kosz",
    "Корзина", "Lixeira", "Lixo", "Papperskorg", "Papirkurv", "Roskakori", "Koš", "ゴミ箱",
    "回收站", "垃圾桶", "휴지통",
))
FAILED_NAMES = frozenset(n.casefold() for n in (
    "Failed Videos", "Fehlgeschlagene Videos", "Vidéos en échec", "Video non riusciti",
    "Vídeos con errores", "Vídeos com falha",
))
_UNTITLED = re.compile(
    r"^(Untitled|Sans titre|Senza titolo|Unbenannt|Ohne Titel|Sin título|Sem título|"
    r"Zonder titel|Bez tytułu|Без названия|Namnlös|Uden titel|Uten tittel|Nimetön|"
    r"Bez názvu|無題|无标题|無標題|제목 없음)\s*(\(\d+\))?$",
    re.IGNORECASE,
)


class Role(enum.StrEnum):
    PRODUCT = "product"
    YEAR = "year"
    ALBUM = "album"
    ARCHIVE = "archive"
    TRASH = "trash"
    FAILED = "failed videos"
    NESTED = "nested"

    @property
    def holds_copies(self) -> bool:
        """Album folders hold second copies of items kept elsewhere."""
        return self is Role.ALBUM


def relative_to_product(folder: str) -> list[str]:
    """The folder's path below the product folder ('Takeout/Google Fotos/Trip' -> ['Trip'];
    'x/Takeout/Google Foto/Trip' -> ['Trip'])."""
    parts = [p for p in folder.split("/") if p]
    for index in range(len(parts) - 1, -1, -1):
        if parts[index].casefold() in PRODUCT_NAMES:
            return parts[index + 1:]
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == "Takeout":
            return parts[index + 2:]
    return parts


def is_year_folder(name: str, *, strict: bool) -> bool:
    if _YEAR.match(name) or _DATE_FOLDER.match(name):
        return True
    return not strict and _YEARISH.match(name) is not None


def is_untitled(name: str) -> bool:
    return _UNTITLED.match(name.strip()) is not None


def folder_role(folder: str, album_json: AlbumInfo | None) -> Role:
    """Role of a folder. An album JSON makes an album, except the year folders some old
    exports also gave a `metadata.json` titled like the folder."""
    below = relative_to_product(folder)
    if not below:
        return Role.PRODUCT
    if len(below) > 1:
        return Role.ALBUM if album_json is not None else Role.NESTED
    name = below[0]
    key = name.casefold()
    if album_json is not None:
        same = album_json.title is None or album_json.title == name
        return Role.YEAR if same and is_year_folder(name, strict=True) else Role.ALBUM
    if key in TRASH_NAMES:
        return Role.TRASH
    if key in ARCHIVE_NAMES:
        return Role.ARCHIVE
    if key in FAILED_NAMES:
        return Role.FAILED
    if is_year_folder(name, strict=False):
        return Role.YEAR
    return Role.ALBUM  # exports before 2020 had album folders without album JSON


def album_for(folder: str, info: AlbumInfo | None, *, keep_untitled: bool) -> Album | None:
    """The Album an album folder stands for, or None (untitled ones skipped by setting).

    Titles come from the album JSON: the folder name is sanitized (no '/', emoji dropped).
    Keys must stay stable across exports: 'title:<title>' (albums sharing a title are told
    apart afterwards by `distinct_albums`); an untitled album has no title, so its key is
    its creation date when the JSON gives one, else its folder name.
    """
    name = folder.rsplit("/", 1)[-1]
    title = info.title if info is not None else name
    description = info.description if info is not None else None
    if title is not None and not (info is None and is_untitled(name)):
        return Album(key=f"title:{title}", title=title, description=description)
    if not keep_untitled:
        return None
    key = f"untitled:{info.date}" if info is not None and info.date else f"title:{name}"
    return Album(key=key, title=name, description=description)


def _by_date(folder: str, info: AlbumInfo | None) -> tuple[bool, int, str, str]:
    date = info.date if info is not None else None
    number = int(date) if date is not None and date.lstrip("-").isdigit() else 0
    return date is None, number, date or "", folder


def distinct_albums(albums: Mapping[str, tuple[Album, AlbumInfo | None]]) -> dict[str, Album]:
    """Album folders whose albums share a key (Google albums with equal titles) become
    distinct albums. The oldest (by its JSON's date, then folder) keeps the plain key, so
    states that keyed albums by title stay valid; each other one is keyed by its date (else
    its folder) and titled 'Title (2)', 'Title (3)', as Takeout numbers their folders."""
    groups: dict[str, list[str]] = {}
    for folder, (album, _) in albums.items():
        groups.setdefault(album.key, []).append(folder)
    result = {folder: album for folder, (album, _) in albums.items()}
    taken = set(groups)
    for key, folders in groups.items():
        ordered = sorted(folders, key=lambda f: _by_date(f, albums[f][1]))
        for number, folder in enumerate(ordered[1:], start=2):
            album, info = albums[folder]
            mark = info.date if info is not None and info.date else None
            twin = f"{key}#{mark}" if mark else f"{key}#folder:{folder.rsplit('/', 1)[-1]}"
            if twin in taken:
                twin = f"{twin}#folder:{folder}"
            taken.add(twin)
            result[folder] = replace(album, key=twin, title=f"{album.title} ({number})")
    return result
