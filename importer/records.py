"""The records the state keeps: what one item became on each target, and where albums went.

Values are plain JSON (never pickles), written only with the keys that are set, and read
tolerating keys a newer version added, so a state file stays readable across versions.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TargetRecord:
    """What one item became on one target."""

    outcome: str
    at: str
    remote_id: str | None = None
    written_sha1: str | None = None
    albums: tuple[str, ...] = ()
    favorite: bool = False
    archived: bool = False
    synced: dict[str, Any] = field(default_factory=dict)
    live_video_id: str | None = None
    live_video_sha1: str | None = None
    """SHA-1 of the live photo's motion part as stored (verify checks it)."""
    from_file: tuple[str, ...] = ()
    verified_at: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.remote_id is not None and self.outcome != "failed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetRecord:
        """Keys this version does not know (written by a newer one) are ignored."""
        data = {k: v for k, v in data.items() if k in _TARGET_FIELDS}
        data["albums"] = tuple(data.get("albums", ()))
        data["from_file"] = tuple(data.get("from_file", ()))
        return cls(**data)


_TARGET_FIELDS = frozenset(f.name for f in dataclasses.fields(TargetRecord))
_OPTIONAL = ("origin", "taken_at", "title", "same_as", "size")
"""Item fields added after schema 1: written only when set, absent means None."""


@dataclass(frozen=True)
class ItemRecord:
    identity: str
    name: str
    source_sha1: str | None = None
    google_url: str | None = None
    targets: dict[str, TargetRecord] = field(default_factory=dict)
    origin: str | None = None
    """"picker" for an item read through the Picker API; None for Takeout."""
    taken_at: str | None = None
    """Google's capture instant (ISO 8601), to recognise the same photo from the other
    source; records without it fall back to the target's synced value."""
    title: str | None = None
    """The sidecar's `title`: the file name Google shows (Takeout cuts long names in the
    archive; reclaim checks the page against this one)."""
    same_as: str | None = None
    """Identity of the record of the same photo from the other source (Picker/Takeout)."""
    size: int | None = None
    """Bytes of the item's source files (with a live photo's video): what trashing frees."""
    google_albums: tuple[str, ...] = ()
    """Keys of the albums the latest export put it in (reclaim wants each in the gallery)."""

    def on(self, target: str) -> TargetRecord | None:
        return self.targets.get(target)

    def with_target(self, target: str, record: TargetRecord) -> ItemRecord:
        return replace(self, targets={**self.targets, target: record})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in _OPTIONAL:
            if data[name] is None:
                del data[name]
        if not data["google_albums"]:
            del data["google_albums"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemRecord:
        targets = {k: TargetRecord.from_json(v) for k, v in data.get("targets", {}).items()}
        optional = {name: data.get(name) for name in _OPTIONAL}
        return cls(
            identity=data["identity"],
            name=data["name"],
            source_sha1=data.get("source_sha1"),
            google_url=data.get("google_url"),
            targets=targets,
            google_albums=tuple(data.get("google_albums", ())),
            **optional,
        )

    def moment(self, target: str) -> str | None:
        """The capture instant known for this item (recorded, else as synced to target)."""
        on_target = self.on(target)
        synced = on_target.synced.get("taken_at") if on_target is not None else None
        return self.taken_at or (synced if isinstance(synced, str) else None)


@dataclass(frozen=True)
class AlbumRecord:
    """Where one Google album went on one target."""

    remote_id: str
    title: str
    members: int | None = None


PhotoKey = tuple[str, int, str]


def photo_key(target: str, moment: str, name: str) -> PhotoKey:
    """Target, capture second (UTC) and file name compared without case or Unicode form:
    the Picker and Takeout name the same photo alike, and give its time to the second."""
    second = int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() // 1)
    return target, second, unicodedata.normalize("NFC", name).casefold()
