"""One folder of the export, paired: media with their sidecars, live photos with their
motion half, edited copies with their original's metadata, and what is left accounted for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from importer.config import TakeoutSettings
from importer.model import Accounted, Album, FileKind, FileOutcome, MediaType, Metadata
from importer.sources import mediatypes
from importer.sources.dates import with_fallback_date
from importer.sources.layout import Role
from importer.sources.listing import ExportStats, FolderFiles, Sidecar
from importer.sources.parts import Entry
from importer.sources.sidecar import FolderMatch, edited_original, match_folder


@dataclass(slots=True)
class Found:
    """One media file of a folder with everything its folder says about it."""

    entry: Entry
    kind: mediatypes.Kind
    metadata: Metadata
    sidecar: Sidecar | None
    variant_of: str | None
    live: Entry | None
    live_kind: mediatypes.Kind | None
    role: Role
    album: Album | None
    more_albums: list[Album] | None = None
    """Albums of the copies merged into this item (None until there is one: memory)."""
    copies: list[Entry] | None = None

    @property
    def random_access(self) -> bool:
        return self.entry.random_access and (self.live is None or self.live.random_access)

    @property
    def albums(self) -> tuple[Album, ...]:
        first = (self.album,) if self.album is not None else ()
        return first + tuple(self.more_albums or ())


@dataclass(frozen=True)
class FolderContext:
    folder: str
    role: Role
    album: Album | None
    settings: TakeoutSettings


def _kind_of(files: FolderFiles, entry: Entry) -> mediatypes.Kind:
    kind = files.sniffed.get(entry.name) or mediatypes.by_name(entry.name)
    assert kind is not None
    return kind


def _same_item(files: FolderFiles) -> Callable[[str, str], bool]:
    def same(json_a: str, json_b: str) -> bool:
        url_a = files.sidecars[json_a].metadata.google_url
        return url_a is not None and url_a == files.sidecars[json_b].metadata.google_url

    return same


def _unique_media(files: FolderFiles) -> tuple[dict[str, Entry], list[Entry]]:
    """Media by name. The same path listed again (in a second part) with the same size is a
    duplicate; with another size (two spellings of one name, NFC and NFD, on disk) it is a
    file of its own, kept under a key no sidecar can match."""
    by_name: dict[str, Entry] = {}
    again: list[Entry] = []
    for entry in files.media:
        first = by_name.get(entry.name)
        if first is None:
            by_name[entry.name] = entry
        elif first.size == entry.size:
            again.append(entry)
        else:
            by_name[f"{entry.name}\x00{len(by_name)}"] = entry
    return by_name, again


def resolve_folder(files: FolderFiles, context: FolderContext,
                   stats: ExportStats) -> Iterator[Found | Accounted]:
    media, again = _unique_media(files)
    for entry in again:
        yield Accounted(entry.location, FileOutcome.ALBUM_COPY,
                        f"the same file again (also in {media[entry.name].location})",
                        FileKind.ALBUM_COPY)
    companions = [n for n, k in files.sniffed.items() if k.media_type is MediaType.VIDEO]
    match = match_folder(media, files.sidecars, companions, _same_item(files))
    stats.json_used += len(files.sidecars) - len(match.unmatched)
    stills = {still: video for video, still in match.live.items()}
    for name in sorted(media):
        if name not in match.live:
            yield from _found(files, media, name, stills.get(name), match, context)
    for json_name in match.unmatched:
        sidecar = files.sidecars[json_name]
        title = sidecar.metadata.title
        yield Accounted(sidecar.location, FileOutcome.UNMATCHED_JSON,
                        "no media file in its folder matches it"
                        + (f" (it describes {title!r})" if title else ""), FileKind.JSON)


def _found(files: FolderFiles, media: dict[str, Entry], name: str, video: str | None,
           match: FolderMatch, context: FolderContext) -> Iterator[Found | Accounted]:
    entry = media[name]
    live = media[video] if video is not None else None
    json_name = match.sidecar.get(name)
    variant_of = None
    if json_name is None and name in match.edited:
        json_name, variant_of = match.edited[name], edited_original(name)
    sidecar: Sidecar | None = files.sidecars[json_name] if json_name is not None else None
    kind = FileKind.ORIGINAL if sidecar else FileKind.NO_SIDECAR
    if variant_of is not None:
        kind = FileKind.EDITED
        if not context.settings.edited_variants:
            yield Accounted(entry.location, FileOutcome.SKIPPED,
                            "edited copy (takeout.edited_variants is off)", kind)
            if live is not None:
                yield Accounted(live.location, FileOutcome.SKIPPED,
                                f"motion part of {entry.name} (edited copy)", FileKind.LIVE_PART)
            return
    if live is not None and live.size == 0:
        yield Accounted(live.location, FileOutcome.UNREADABLE, "zero-byte file",
                        FileKind.LIVE_PART)
        live = None
    if entry.size == 0:
        yield Accounted(entry.location, FileOutcome.UNREADABLE, "zero-byte file", kind)
        if live is None:
            return
        entry, live = live, None  # the motion half alone is still the user's video
    metadata = sidecar.metadata if sidecar is not None else Metadata()
    metadata = with_fallback_date(metadata, entry.name, metadata.title)
    if context.role is Role.ARCHIVE and not metadata.archived:
        metadata = replace(metadata, archived=True)
    if context.role is Role.TRASH and not metadata.trashed:
        metadata = replace(metadata, trashed=True)
    yield Found(entry, _kind_of(files, entry), metadata,
                sidecar, variant_of,
                live, _kind_of(files, live) if live is not None else None,
                context.role, context.album)
