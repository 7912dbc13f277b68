"""Before a run plans anything: let a target that repairs itself compare itself with the state.

Only the folder library does (`RepairsItself`); galleries are trusted as the state knows
them, so a re-run still sends them nothing. What the target mends it mends itself; what only
the state can fix comes back here: an item found elsewhere (a killed run moved or rewrote its
file before the state learned) gets its new place and checksum, an item whose file is gone
is marked failed, so the planner stores it again from any export that holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from adapters.base import Gallery, RepairsItself, StoredItem
from importer.model import Album, FileOutcome
from importer.report import RunReport
from importer.state import State, now_iso

MISSING = "missing from the library; stored again from the export"
SHOWN = 5


def repair_target(state: State, gallery: Gallery, report: RunReport) -> None:
    if not isinstance(gallery, RepairsItself):
        return
    target = gallery.target
    owners: dict[str, str] = {}
    repairs = gallery.repair(_stored(state, target, owners))
    for old, now in repairs.moved.items():
        record = state.get(owners[old])
        on_target = record.on(target) if record else None
        if record is not None and on_target is not None:
            moved = replace(on_target, remote_id=now.remote_id, written_sha1=now.sha1,
                            live_video_id=now.live_video_id or on_target.live_video_id)
            state.put(record.with_target(target, moved))
    for remote_id in repairs.missing:
        record = state.get(owners[remote_id])
        on_target = record.on(target) if record else None
        if record is not None and on_target is not None:
            gone = replace(on_target, outcome=str(FileOutcome.FAILED), error=MISSING,
                           verified_at=None, at=now_iso())
            state.put(record.with_target(target, gone))
    lines = [*repairs.mended, *(f"{r}: {MISSING}" for r in repairs.missing)]
    if lines:
        more = f" (and {len(lines) - SHOWN} more)" if len(lines) > SHOWN else ""
        report.notes.append(f"repaired the library: {'; '.join(lines[:SHOWN])}{more}")


def _stored(state: State, target: str, owners: dict[str, str]) -> Iterator[StoredItem]:
    """What the state says each item is on `target` (items stored there)."""
    albums: dict[str, tuple[Album, str] | None] = {}
    for record in state.items():
        on_target = record.on(target)
        if on_target is None or not on_target.done or on_target.remote_id is None:
            continue
        owners[on_target.remote_id] = record.identity
        yield StoredItem(
            remote_id=on_target.remote_id, name=record.name, sha1=on_target.written_sha1,
            source_sha1=record.source_sha1, google_url=record.google_url,
            favorite=on_target.favorite, archived=on_target.archived,
            albums=tuple(_albums_of(state, target, on_target.albums, albums)),
            values=dict(on_target.synced), live_video_id=on_target.live_video_id,
            live_video_sha1=on_target.live_video_sha1,
        )


def _albums_of(state: State, target: str, keys: tuple[str, ...],
               known: dict[str, tuple[Album, str] | None]) -> Iterator[tuple[Album, str]]:
    for key in keys:
        if key not in known:
            info = state.album_info(target, key)
            known[key] = None if info is None else (Album(key, info.title), info.remote_id)
        found = known[key]
        if found is not None:
            yield found

