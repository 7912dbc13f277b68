"""Is the page showing the item we mean? Pure checks on what the page shows.

Before anything is trashed the page must prove it shows *that* item: its URL keeps the
item's id after any redirect, and its info panel shows the sidecar's `title` (the name
Google shows, never cut short), or, when Google shows no name, the capture date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from itertools import pairwise
from urllib.parse import urlsplit

from importer.reclaim.texts import squash

GOOGLE_PHOTOS = "https://photos.google.com"
_YEAR = re.compile(r"^(19|20|21)\d\d$")


def item_id(google_url: str) -> str | None:
    """The id in `https://photos.google.com/photo/<id>` (also behind `/u/N/`)."""
    parts = [p for p in urlsplit(google_url).path.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "photo":
            return parts[i + 1]
    return None


def page_url(google_url: str, base_url: str) -> str:
    """The item's address on `base_url` (photos.google.com, or the tests' imitation)."""
    split = urlsplit(google_url)
    path = split.path + (f"?{split.query}" if split.query else "")
    return base_url.rstrip("/") + path


def url_shows(url: str, wanted_id: str) -> bool:
    """The page's URL names the item in its path: `/photo/<id>` (or `/trash/<id>`)."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return any(a in ("photo", "trash") and b == wanted_id for a, b in pairwise(parts))


def name_matches(shown: str, title: str) -> bool:
    return squash(shown) == squash(title)


def dates_in(text: str, months: list[list[str]]) -> set[date]:
    """Calendar dates a localized date text can mean: "Jan 5, 2019, 3:04 PM",
    "5. Jan. 2019, 15:04", "5 janv. 2019 à 15:04", "2019-01-05"."""
    names = {name.casefold(): n + 1 for n, forms in enumerate(months) for name in forms}
    iso = re.search(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        return _valid(int(iso[1]), int(iso[2]), int(iso[3]))
    tokens = re.findall(r"[^\W\d_]+|\d+(?::\d+)*", squash(text).casefold())
    years = [int(t) for t in tokens if _YEAR.match(t)]
    month_numbers = [names[t] for t in tokens if t in names]
    days = [int(t) for t in tokens if t.isdigit() and not _YEAR.match(t) and len(t) <= 2]
    if len(years) != 1 or len(set(month_numbers)) != 1:
        return set()
    found: set[date] = set()
    for day in days:
        found |= _valid(years[0], month_numbers[0], day)
    return found


def _valid(year: int, month: int, day: int) -> set[date]:
    try:
        return {date(year, month, day)}
    except ValueError:
        return set()


def date_matches(text: str, taken_at: datetime, months: list[list[str]]) -> bool:
    """The page shows the capture date: in the item's own offset (as Google shows it) or
    in UTC. Times are not compared: the page rounds them and shows them in a zone we
    cannot know for sure."""
    expected = {taken_at.date(), taken_at.astimezone(UTC).date()}
    shown = dates_in(text, months)
    return len(shown) == 1 and bool(shown & expected)
