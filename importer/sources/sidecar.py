"""Which JSON sidecar belongs to which media file (pure functions, table-tested).

Takeout names sidecars `<media>.json` or `<media>.supplemental-metadata.json`, caps the
whole JSON name at 51 characters (cutting the suffix or the media name itself), and moves
`(n)` duplicate counters. Matching is done per folder: a sidecar always sits beside its
media file in the same folder (possibly in another archive part).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

MAX_JSON_NAME = 51
SUFFIX = ".supplemental-metadata"
_COUNTER = re.compile(r"^(?P<stem>.*?)\((?P<n>\d+)\)$")
_EDITED = re.compile(
    r"-(edited|modifié|bearbeitet|modificato|bewerkt|edytowane|ha editado|編集済み|"
    r"editado|redigeret|muokattu|redigert|redigerad|upravené|upraveno|szerkesztett)$",
    re.IGNORECASE,
)


def _norm(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def split_counter(stem: str) -> tuple[str, str]:
    """'IMG_3479(1)' -> ('IMG_3479', '(1)'); no counter -> (stem, '')."""
    match = _COUNTER.match(stem)
    if match is None:
        return stem, ""
    return match.group("stem"), f"({match.group('n')})"


def edited_original(name: str) -> str | None:
    """'IMG_1-edited(1).jpg' -> 'IMG_1.jpg': edited copies share the original's sidecar."""
    path = PurePosixPath(name)
    stem, counter = split_counter(path.stem)
    match = _EDITED.search(stem)
    if match is None:
        return None
    return stem[: match.start()] + counter + path.suffix


def _capped(base: str, counter: str) -> str:
    """JSON name for `base` + counter, cut the way Takeout cuts it (in characters)."""
    room = MAX_JSON_NAME - len(".json") - len(counter)
    return base[:room] + counter + ".json"


def sidecar_candidates(media_name: str) -> list[str]:
    """JSON names that may belong to `media_name`, best first."""
    name = _norm(media_name)
    path = PurePosixPath(name)
    stem, counter = split_counter(path.stem)
    full = stem + path.suffix  # the name without its counter
    bases = [full + SUFFIX, full, stem + SUFFIX, stem]
    candidates: list[str] = []
    for base in bases:
        for with_counter in ((base, counter), (base + counter, "")) if counter else ((base, ""),):
            candidate = _capped(*with_counter)
            if candidate not in candidates:
                candidates.append(candidate)
    for base in bases:  # exports re-zipped by other tools may carry uncut names
        candidate = base + counter + ".json"
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def match_sidecar(media_name: str, json_names: Iterable[str]) -> str | None:
    """The sidecar for `media_name` among the JSON names of its folder, or None."""
    available = {_norm(n): n for n in json_names}
    for candidate in sidecar_candidates(media_name):
        if candidate in available:
            return available[candidate]
    return None


def match_folder(
    media_names: Iterable[str], json_names: Iterable[str]
) -> Mapping[str, str | None]:
    """Pair every media file of one folder with its sidecar (or None)."""
    jsons = list(json_names)
    result: dict[str, str | None] = {}
    for media in media_names:
        found = match_sidecar(media, jsons)
        if found is None:
            original = edited_original(media)
            if original is not None:
                found = match_sidecar(original, jsons)
        result[media] = found
    return result
