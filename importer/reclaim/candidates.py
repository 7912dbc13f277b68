"""Candidates for trashing: one per Google item, gathered from the state.

One Google item can be several records: the original (identity = its URL), edited copies
Takeout exported beside it (identity `URL#variant:NAME`), and a live photo's video held
on the original's record. Trashing the Google item removes all of them from Google, so
every part must be in the gallery; what the state cannot vouch for becomes a `problem`
and keeps the item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from importer.state import ItemRecord, State, TargetRecord


@dataclass(frozen=True)
class Part:
    """A file the gallery must hold, with the checksum we recorded for it."""

    kind: str  # "file", "edited copy", "live video"
    remote_id: str
    sha1: str


@dataclass(frozen=True)
class AlbumNeed:
    """The gallery album `title` (remote `album_id`, None if never created) must hold
    `member`."""

    key: str
    title: str
    album_id: str | None
    member: str


@dataclass(frozen=True)
class Problem:
    rule: str
    reason: str


@dataclass(frozen=True)
class Candidate:
    google_url: str | None
    identity: str
    name: str
    title: str | None = None
    size: int | None = None
    taken_at: datetime | None = None
    imported_at: datetime | None = None
    remote_id: str | None = None
    favorite: bool = False
    archived: bool = False
    parts: tuple[Part, ...] = ()
    albums: tuple[AlbumNeed, ...] = ()
    problem: Problem | None = None


def gather(state: State, target: str) -> list[Candidate]:
    """Every item the state knows, one candidate per Google URL."""
    groups: dict[str, list[ItemRecord]] = {}
    loose: list[ItemRecord] = []
    for record in state.items():
        if record.google_url:
            groups.setdefault(record.google_url, []).append(record)
        else:
            loose.append(record)
    found = [candidate(state, target, url, records) for url, records in groups.items()]
    found += [Candidate(None, r.identity, r.name, r.title, r.size,
                        problem=Problem("no_url", "no photos.google.com URL (no sidecar)"))
              for r in loose]
    return found


def for_urls(state: State, target: str, urls: Iterable[str]) -> dict[str, Candidate]:
    """Candidates for these URLs only (apply time), read again from the state."""
    wanted = set(urls)
    groups: dict[str, list[ItemRecord]] = {url: [] for url in wanted}
    for record in state.items():
        if record.google_url in wanted:
            groups[record.google_url].append(record)
    return {url: candidate(state, target, url, records) for url, records in groups.items()}


def candidate(state: State, target: str, url: str, records: list[ItemRecord]) -> Candidate:
    primary = next((r for r in records if r.identity == url), None)
    variants = sorted((r for r in records if r.identity != url), key=lambda r: r.identity)
    if primary is None:
        first = variants[0] if variants else ItemRecord(url, url)
        return Candidate(url, first.identity, first.name, first.title, first.size,
                         problem=Problem("original", "its original is not in the gallery "
                                         "(only an edited copy was imported)"))
    on = primary.on(target)
    base = Candidate(url, primary.identity, primary.name, primary.title, primary.size)
    if on is None or not on.done or on.remote_id is None:
        return replace(base, problem=Problem("not_imported", "not imported to this gallery"))
    base = replace(base, remote_id=on.remote_id, taken_at=_when(on.synced.get("taken_at")),
                 imported_at=_when(on.at), favorite=_flag(on, "favorite"),
                 archived=_flag(on, "archived"))
    parts: list[Part] = []
    albums: list[AlbumNeed] = []
    problem = _collect(state, target, primary, on, "file", parts, albums)
    for variant in variants:
        v_on = variant.on(target)
        if v_on is None or not v_on.done or v_on.remote_id is None:
            problem = problem or Problem("edited", f"its edited copy {variant.name} is not "
                                         "in the gallery")
            continue
        base = replace(base, favorite=base.favorite or _flag(v_on, "favorite"),
                     archived=base.archived or _flag(v_on, "archived"))
        problem = _collect(state, target, variant, v_on, "edited copy", parts,
                           albums) or problem
    return replace(base, parts=tuple(parts), albums=tuple(albums), problem=problem)


def _collect(state: State, target: str, record: ItemRecord, on: TargetRecord, kind: str,
             parts: list[Part], albums: list[AlbumNeed]) -> Problem | None:
    """Add the record's files and albums; the first thing the state cannot vouch for."""
    assert on.remote_id is not None
    problem = None
    if on.written_sha1:
        parts.append(Part(kind, on.remote_id, on.written_sha1))
    else:
        problem = Problem("checksum", f"no checksum recorded for {record.name}")
    if on.live_video_id and on.live_video_sha1:
        parts.append(Part("live video", on.live_video_id, on.live_video_sha1))
    elif on.live_video_id:
        problem = problem or Problem("live_video", "its live video's checksum was not "
                                     "recorded (imported by an older version)")
    elif on.live_video_sha1:
        problem = problem or Problem("live_video", "its live video is not in the gallery")
    for key in dict.fromkeys((*on.albums, *record.google_albums)):
        info = state.album_info(target, key)
        albums.append(AlbumNeed(key, info.title if info else key,
                                info.remote_id if info else None, on.remote_id))
    return problem


def album_titles(found: Candidate) -> Iterator[str]:
    yield from dict.fromkeys(need.title for need in found.albums)


def _flag(on: TargetRecord, name: str) -> bool:
    """The latest export's value (kept in `synced`), else what the import recorded."""
    value = on.synced.get(name, getattr(on, name))
    return bool(value)


def _when(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None
