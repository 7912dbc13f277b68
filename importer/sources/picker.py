"""Picker source: the items a user picks in Google Photos, read through the Picker API.

1. Create a session (at most `google.max_items`, up to 2000) and show its link, with a QR
   code for picking on a phone.
2. Poll as the session's pollingConfig says until the user presses Done (or it times out).
3. List the picked items page by page, then hand them out one by one, each downloaded
   into the spool first (`=d` photos, `=dv` videos) so the pipeline can read it twice;
   the pipeline releases it when the item is finished and bounds the bytes held.
4. Delete the session.

What the plan would not upload (already imported, or already on the target from a
Takeout) is not downloaded: `consult` gives the source the same planner the pipeline
uses. Base URLs last 60 minutes: a download refused as expired lists the session again
and goes on with the fresh URL.

A Picker item is marked as such (`MediaItem.picker_id`, identity `picker:<id>`). What
Google gives is thin: a photo keeps its EXIF but not its location, a video is a
transcoded copy, and there are no albums, favorites or captions. A later Takeout of the
same photo completes it (see `importer.plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import qrcode
from rich.console import Console

from importer.config import ConfigError, Settings
from importer.google_auth import TokenKeeper, load_credentials
from importer.model import (
    Accounted,
    Album,
    DateSource,
    FileKind,
    FileOutcome,
    MediaFile,
    MediaItem,
    MediaType,
    Metadata,
    ScanEvent,
)
from importer.plan import ActionKind, plan_for
from importer.sources.picker_api import (
    BaseUrlExpired,
    DownloadFailed,
    NotReady,
    Picked,
    PickerApi,
    Session,
)
from importer.sources.spool import Spool, Spooled
from importer.state import State

NOT_READY_POLLS = 5
"""Times a listing refused as "still picking" is retried after the session said done."""


@dataclass
class PickerStats:
    """The picked items, in the shape of the Takeout reader's totals so the report's
    accounting (every picked item gets one line) is checked the same way."""

    picked: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"files": self.picked, "media": self.picked, "json_used": 0,
                "part_problems": 0, "parts": 1}


def qr_text(data: str) -> str:
    """`data` as a QR code drawn with half blocks, two module rows per line; light
    modules are printed, so it scans on the usual dark terminal."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    rows = [list(row) for row in code.get_matrix()]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    glyphs = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}
    return "\n".join("".join(glyphs[(top, bottom)] for top, bottom in zip(upper, lower,
                                                                           strict=True))
                     for upper, lower in zip(rows[::2], rows[1::2], strict=True))


def show_link(out: Console) -> Callable[[str], None]:
    def announce(uri: str) -> None:
        out.print("Pick the photos and videos to import in Google Photos (signed in to the "
                  "account you authorized), then press Done:", markup=False)
        out.print(uri, markup=False, highlight=False, soft_wrap=True)
        out.print(qr_text(uri), markup=False, highlight=False, soft_wrap=True)
        out.print("(or scan the code with your phone) Waiting for you to finish picking…",
                  markup=False)

    return announce


def _not_downloaded() -> IO[bytes]:
    raise OSError("not downloaded: the plan for this item needed no bytes")


class PickerSource:
    def __init__(self, api: PickerApi, settings: Settings, announce: Callable[[str], None],
                 *, download: bool = True) -> None:
        self.api = api
        self.settings = settings
        self.announce = announce
        self.download = download
        self.expected_files: int | None = None
        self.stats = PickerStats()
        spool_dir = settings.takeout.spool_dir
        self._spool = Spool(Path(spool_dir) if spool_dir else None)
        self._session: Session | None = None
        self._fresh: dict[str, Picked] = {}
        self._wanted: Callable[[MediaItem], bool] = lambda item: True
        title = settings.album
        self._albums = (Album(f"title:{title}", title),) if title else ()

    def consult(self, state: State, target: str) -> None:
        """Download only what the plan would upload (the pipeline plans again, alike)."""
        def wanted(item: MediaItem) -> bool:
            identity = item.google_identity
            assert identity is not None
            plan = plan_for(item, identity, state, target, self.settings.takeout)
            return plan.kind is ActionKind.UPLOAD

        self._wanted = wanted

    def scan(self) -> Iterator[ScanEvent]:
        session = self.api.create_session(self.settings.google.max_items)
        self._session = session
        self.announce(session.picker_uri)
        picked = self._listing(self.api.wait_until_picked(session))
        self.expected_files = self.stats.picked = len(picked)
        for one in picked:
            yield self._event(one)
        self._end_session()

    def _listing(self, session: Session) -> list[Picked]:
        """The picked items; a listing still refused as "picking" waits one more poll."""
        for _ in range(NOT_READY_POLLS):
            try:
                items = self.api.list_items(session.id)
            except NotReady:
                self.api.sleep(session.poll_interval or 1.0)
                continue
            self._fresh = {one.id: one for one in items}
            return items
        return self.api.list_items(session.id)

    def _event(self, one: Picked) -> ScanEvent:
        location = f"picker:{one.id}/{one.filename}"
        if one.video and one.processing in ("PROCESSING", "FAILED"):
            return Accounted(location, FileOutcome.FAILED, "Google Photos has not finished "
                             "processing this video; pick it again later", FileKind.PICKED)
        item = self._item(one, location)
        if not self.download or not self._wanted(item):
            return item
        try:
            spooled = self._fetch(one)
        except DownloadFailed as exc:
            return Accounted(location, FileOutcome.FAILED, str(exc), FileKind.PICKED)
        file = replace(item.file, size=spooled.size, opener=spooled.open,
                       release=spooled.release)
        return replace(item, file=file)

    def _item(self, one: Picked, location: str) -> MediaItem:
        name = one.filename.replace("/", "_").replace("\\", "_") or one.id
        file = MediaFile(name=name, location=location, size=0,
                         media_type=MediaType.VIDEO if one.video else MediaType.PHOTO,
                         mime=one.mime, opener=_not_downloaded)
        source = DateSource.PICKER if one.create_time else DateSource.NONE
        metadata = Metadata(taken_at=one.create_time, taken_at_source=source,
                            title=one.filename)
        return MediaItem(file=file, metadata=metadata, albums=self._albums, picker_id=one.id)

    def _fetch(self, one: Picked) -> Spooled:
        try:
            return self.api.download(self._fresh.get(one.id, one), self._spool)
        except BaseUrlExpired:
            assert self._session is not None
            self._fresh = {p.id: p for p in self.api.list_items(self._session.id)}
        if one.id not in self._fresh:
            raise DownloadFailed("no longer in the session's picked items")
        try:
            return self.api.download(self._fresh[one.id], self._spool)
        except BaseUrlExpired as exc:
            raise DownloadFailed(f"download refused even with a fresh base URL ({exc})"
                                 ) from None

    def _end_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            self.api.delete_session(session.id)

    def close(self) -> None:
        """Delete the session if the run stopped before its end (best effort: Google
        drops it by itself when it expires), and the spool."""
        try:
            self._end_session()
        except Exception:  # already stopping for another reason; this must not mask it
            pass
        finally:
            self._spool.close()
            self.api.close()


def open_picker(settings: Settings, out: Console) -> PickerSource:
    """The source for `import --from picker`; a missing or refused authorization stops
    here, before anything is opened."""
    if settings.sources:
        raise ConfigError("--from picker imports what you pick in Google Photos: give no "
                          "SOURCE")
    keeper = TokenKeeper(load_credentials(settings.google))
    keeper.check()  # a revoked authorization stops here, before anything is opened
    api = PickerApi(settings.google.picker_root_url, keeper)
    return PickerSource(api, settings, show_link(out), download=not settings.dry_run)
