"""Which JSON sidecar belongs to which media file (pure functions, table-tested).

Takeout names a sidecar `<media>.json` or `<media>.supplemental-metadata.json`, caps the
whole JSON name at 51 characters (cutting the suffix anywhere, or the media name itself),
moves `(n)` duplicate counters behind the suffix, and sometimes drops or changes the media
extension. A sidecar always sits in the same folder as its media (possibly in another
archive part), so matching is per folder.

Both sides are reduced to keys: a JSON name to the media name it was cut from (`parse`),
a media name to the few keys Google may have written for it (`media_keys`). Matching is
then dictionary look-ups, linear in the folder size (year folders hold 10k+ files).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MAX_JSON_NAME = 51
SUFFIX = ".supplemental-metadata"
_JSON_CUT = MAX_JSON_NAME - len(".json")
_PREFIX_MIN_JSON = 45  # a media name is only ever cut when the JSON name hit the cap
_MIN_CUT = 20
_COUNTER = re.compile(r"^(?P<stem>.*?)(?P<counter>\(\d+\))$", re.DOTALL)
EDITED_WORDS = (
    "edited", "effects", "smile", "mix", "modifié", "bearbeitet", "modificato", "bewerkt",
    "edytowane", "ha editado", "編集済み", "editado", "editat", "redigeret", "muokattu",
    "redigert", "redigerad", "upravené", "upraveno", "szerkesztett", "編輯", "已编辑",
    "편집됨", "отредактировано",
)
_EDITED = re.compile("-(" + "|".join(re.escape(w) for w in EDITED_WORDS) + ")$", re.IGNORECASE)
_CUT_EDITED_MIN = 40  # a cut "-edi" tail is only believed on names long enough to be cut
_SAME_EXTENSION = {".jpeg": ".jpg", ".jpe": ".jpg", ".tiff": ".tif", ".heif": ".heic"}
LIVE_PHOTO_EXTENSIONS = frozenset({".heic", ".heif", ".jpg", ".jpeg"})
LIVE_VIDEO_EXTENSIONS = frozenset({".mov", ".mp4"})

Key = tuple[str, str]
"""(media name as the JSON name carries it, duplicate counter such as "(1)" or "")."""


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def split_counter(stem: str) -> tuple[str, str]:
    """'IMG_3479(1)' -> ('IMG_3479', '(1)'); no counter -> (stem, '')."""
    match = _COUNTER.match(stem)
    if match is None:
        return stem, ""
    return match.group("stem"), match.group("counter")


def split_name(name: str) -> tuple[str, str]:
    """'IMG_1.jpg' -> ('IMG_1', '.jpg'), as pathlib splits a suffix (a leading or trailing
    dot is no extension); plain string work, this runs for every file of the export."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1 or " " in name[dot:]:
        return name, ""
    return name[:dot], name[dot:]


def parse_json_name(json_name: str) -> list[Key]:
    """The keys a JSON name stands for, best first; [] for a name not ending in .json.

    'Scan35.jpg.supplemental-metadata(1).json' -> [('Scan35.jpg', '(1)'), …];
    'x.jpg.s.json' -> [('x.jpg', ''), ('x.jpg.s', '')].
    """
    name = nfc(json_name)
    if not name.lower().endswith(".json"):
        return []
    stem, counter = split_counter(name[: -len(".json")])
    keys = []
    dot = stem.rfind(".")
    if dot >= 0 and SUFFIX.startswith(stem[dot:]):
        keys.append((stem[:dot], counter))
    keys.append((stem, counter))
    return [k for k in keys if k[0]]


def _loose(base: str) -> str:
    """Case and spelling of the extension ignored: IMG_1.JPG ~ IMG_1.jpeg ~ img_1.jpg."""
    stem, ext = split_name(base.lower())
    return stem + _SAME_EXTENSION.get(ext, ext)


def media_keys(media_name: str) -> list[Key]:
    """The keys Google may have written for `media_name`, best first."""
    name = nfc(media_name)
    stem, ext = split_name(name)
    core, counter = split_counter(stem)
    full = core + ext
    keys: list[Key] = [(name, "")]
    if counter:
        keys.append((full, counter))
    keys.append((name[:_JSON_CUT], ""))
    if counter:
        keys.append((full[: _JSON_CUT - len(counter)], counter))
    if ext:  # the JSON may leave the extension out
        keys.append((stem, ""))
        if counter:
            keys.append((core, counter))
    return list(dict.fromkeys(keys))


def edited_original(name: str) -> str | None:
    """'IMG_1-edited(1).jpg' -> 'IMG_1(1).jpg': edited copies share the original's sidecar.

    Localized suffixes count, and so does a suffix cut short on a long name ('…-edi.jpg').
    """
    stem, ext = split_name(nfc(name))
    core, counter = split_counter(stem)
    match = _EDITED.search(core)
    if match is not None:
        return core[: match.start()] + counter + ext if match.start() else None
    dash = core.rfind("-")
    tail = core[dash + 1:].lower()
    if dash > 0 and tail and len(name) >= _CUT_EDITED_MIN and any(
        word.startswith(tail) for word in EDITED_WORDS
    ):
        return core[:dash] + counter + ext
    return None


def live_key(name: str, *, companion: bool = False) -> str | None:
    """The key pairing a live photo's still and motion halves, or None for neither.

    iPhone: IMG_0769.HEIC + IMG_0769.MOV/.MP4 share 'IMG_0769'. Pixel: PXL_….MP.jpg + the
    extension-less video PXL_….MP share 'PXL_….MP' (`companion`: a file whose unknown
    extension hides a video).
    """
    if companion:
        return nfc(name)
    stem, ext = split_name(nfc(name))
    return stem if ext.lower() in LIVE_PHOTO_EXTENSIONS | LIVE_VIDEO_EXTENSIONS else None


class SidecarIndex:
    """The JSON names of one folder, indexed by the keys they stand for."""

    def __init__(self, json_names: Iterable[str]) -> None:
        self._exact: dict[Key, list[str]] = {}
        self._loose: dict[Key, list[str]] = {}
        self._capped: dict[Key, list[str]] = {}
        for json_name in json_names:
            keys = parse_json_name(json_name)
            for base, counter in keys:
                self._exact.setdefault((base, counter), []).append(json_name)
                self._loose.setdefault((_loose(base), counter), []).append(json_name)
            if keys:
                base, counter = keys[0]
                if _capped(json_name):
                    self._capped.setdefault((base, counter), []).append(json_name)

    def candidates(self, media_name: str) -> list[str]:
        """JSON names that may belong to `media_name`, best first."""
        found: dict[str, None] = {}
        keys = media_keys(media_name)
        for table, keyed in ((self._exact, keys),
                             (self._loose, [(_loose(b), c) for b, c in keys])):
            for key in keyed:
                for json_name in table.get(key, ()):
                    found.setdefault(json_name)
        return list(found)

    def cut_prefix_of(self, media_name: str) -> list[str]:
        """Capped JSON names whose (cut) media name is a prefix of `media_name`: for cuts at
        an unusual place (a cap counted in bytes, an older cap). Tries each prefix."""
        stem, ext = split_name(nfc(media_name))
        core, counter = split_counter(stem)
        found: dict[str, None] = {}
        for name, wanted in ((nfc(media_name), ""), (core + ext, counter)):
            for length in range(len(name) - 1, _MIN_CUT - 1, -1):
                for json_name in self._capped.get((name[:length], wanted), ()):
                    found.setdefault(json_name)
        return list(found)


def _capped(json_name: str) -> bool:
    """Only a JSON name that reached the cap can have a cut media name inside."""
    name = nfc(json_name)
    return max(len(name), len(name.encode("utf-8"))) >= _PREFIX_MIN_JSON


@dataclass
class FolderMatch:
    """How one folder's files pair up. Names are as given (not normalized)."""

    sidecar: dict[str, str] = field(default_factory=dict)
    """media name -> its own JSON (each JSON belongs to one media file at most)."""
    edited: dict[str, str | None] = field(default_factory=dict)
    """edited copy -> the original's JSON it shares (None: original known, JSON not)."""
    live: dict[str, str] = field(default_factory=dict)
    """motion half -> its still (the still carries the pair's JSON)."""
    unmatched: list[str] = field(default_factory=list)
    """JSON names no media file claimed."""


def _claim(media_names: list[str], index: SidecarIndex, taken: set[str]) -> dict[str, str]:
    """Each JSON goes to the media file it fits best; ties go to the first name."""
    offers: list[tuple[int, int, str, str]] = []
    for order, media in enumerate(media_names):
        for rank, json_name in enumerate(index.candidates(media)):
            offers.append((rank, order, media, json_name))
    offers.sort()
    claimed: dict[str, str] = {}
    for _, _, media, json_name in offers:
        if media not in claimed and json_name not in taken:
            claimed[media] = json_name
            taken.add(json_name)
    return claimed


def _claim_cut(media_names: list[str], index: SidecarIndex, taken: set[str],
               claimed: dict[str, str]) -> None:
    """Media names cut at an unusual place: a capped JSON whose name is a prefix, when
    exactly one unmatched media file fits it."""
    fits: dict[str, list[str]] = {}
    for media in media_names:
        if media not in claimed:
            for json_name in index.cut_prefix_of(media):
                if json_name not in taken:
                    fits.setdefault(json_name, []).append(media)
    for json_name, fitting in sorted(fits.items()):
        if len(fitting) == 1 and fitting[0] not in claimed:
            claimed[fitting[0]] = json_name
            taken.add(json_name)


def _is_video_name(name: str) -> bool:
    return split_name(name)[1].lower() in LIVE_VIDEO_EXTENSIONS


def match_folder(
    media_names: Iterable[str],
    json_names: Iterable[str],
    companions: Iterable[str] = (),
    same_item: Callable[[str, str], bool] | None = None,
) -> FolderMatch:
    """Pair one folder: own sidecars first (stills before videos), then cut names, then
    live photos, then edited copies sharing their original's JSON.

    `companions` are media names whose extension says nothing but whose bytes are video
    (Pixel's PXL_….MP); `same_item(json_a, json_b)` tells whether two JSONs describe one
    Google item (a live photo whose halves both got a sidecar).
    """
    media = sorted(dict.fromkeys(media_names), key=lambda m: (_is_video_name(m), m))
    companion_set = set(companions)
    jsons = list(dict.fromkeys(json_names))
    index = SidecarIndex(jsons)
    taken: set[str] = set()
    edited = [m for m in media if edited_original(m) is not None]
    edited_set = set(edited)
    plain = [m for m in media if m not in edited_set]
    claimed = _claim(plain, index, taken)
    _claim_cut(plain, index, taken, claimed)
    claimed.update(_claim(edited, index, taken))
    result = FolderMatch(sidecar=claimed)
    _pair_live(media, companion_set, result, same_item or (lambda a, b: False))
    stems: dict[str, str] = {}
    for name in plain:
        stems.setdefault(split_name(name)[0], name)
    for name in edited:
        if name not in claimed and name not in result.live:
            _share_original(name, stems, index, result, taken)
    result.unmatched = [j for j in jsons if j not in taken]
    return result


def _pair_live(media: list[str], companions: set[str], result: FolderMatch,
               same_item: Callable[[str, str], bool]) -> None:
    stills: dict[str, str] = {}
    for name in media:
        ext = split_name(name)[1].lower()
        key = live_key(name)
        if key is None or ext not in LIVE_PHOTO_EXTENSIONS or name in companions:
            continue
        if key not in stills or (name in result.sidecar and stills[key] not in result.sidecar):
            stills[key] = name
    paired: set[str] = set()
    for name in media:
        is_companion = name in companions
        if not is_companion and not _is_video_name(name):
            continue
        still = stills.get(live_key(name, companion=is_companion) or "")
        if still is None or still in paired:
            continue
        own, still_json = result.sidecar.get(name), result.sidecar.get(still)
        if own is not None and still_json is not None and not same_item(own, still_json):
            continue
        result.live[name] = still
        paired.add(still)
        if own is not None:
            del result.sidecar[name]
            result.sidecar.setdefault(still, own)


def _share_original(name: str, stems: dict[str, str], index: SidecarIndex,
                    result: FolderMatch, taken: set[str]) -> None:
    """The edit takes its original's JSON: the original's own match, else a JSON named for
    the original (the original file itself may be missing). The original may have another
    extension (an edited HEIC is saved as JPEG), found by its stem among the folder's files.
    """
    original = edited_original(name)
    assert original is not None
    present = stems.get(split_name(original)[0])
    json_name = result.sidecar.get(present) if present is not None else None
    if json_name is None:
        found = index.candidates(original)
        json_name = found[0] if found else None
    if json_name is None and present is None:
        return  # nothing says this is an edited copy of anything here
    result.edited[name] = json_name
    if json_name is not None:
        taken.add(json_name)
