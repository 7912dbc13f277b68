"""Who may go: the eligibility rules, pure, in one place (README "Reclaim", keep rules).

A Google copy is trashed only when every rule holds; the first rule that fails keeps it
and names itself, so each decision can be explained afterwards. The same function decides
at plan time and again at apply time, with the gallery's answers of that moment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.base import VerifyStatus
from importer.reclaim.candidates import Candidate, album_titles
from importer.reclaim.planfile import KEEP, TRASH

RULE_LABELS = {
    "eligible": "verified in the gallery, old enough",
    "no_url": "no photos.google.com URL",
    "trashed": "trashed before",
    "not_imported": "not imported to this gallery",
    "original": "original not in the gallery",
    "edited": "edited copy not in the gallery",
    "checksum": "no checksum recorded",
    "live_video": "live video not verifiable",
    "favorite": "favorite",
    "archived": "archived (reclaim.keep_archived)",
    "keep_album": "in a kept album (reclaim.keep_albums)",
    "recent": "newer than the threshold",
    "missing": "missing from the gallery",
    "mismatch": "gallery checksum differs",
    "check_failed": "gallery check failed",
    "albums": "album membership not in the gallery",
    "limit": "over --limit",
}


@dataclass(frozen=True)
class Decision:
    decision: str
    rule: str
    reason: str

    @property
    def trash(self) -> bool:
        return self.decision == TRASH


def keep(rule: str, reason: str | None = None) -> Decision:
    return Decision(KEEP, rule, reason or RULE_LABELS[rule])


def _fold(title: str) -> str:
    return unicodedata.normalize("NFC", title).casefold().strip()


@dataclass(frozen=True)
class Policy:
    older_than_days: int
    keep_albums: frozenset[str] = frozenset()
    keep_archived: bool = False

    @classmethod
    def of(cls, older_than_days: int, keep_albums: Iterable[str],
           keep_archived: bool) -> Policy:
        return cls(older_than_days, frozenset(_fold(t) for t in keep_albums), keep_archived)


@dataclass(frozen=True)
class GalleryFacts:
    """What the gallery said just now: per (remote id, checksum) a VerifyStatus or the
    error that prevented the check; per album id its members (None: cannot be listed)."""

    parts: Mapping[tuple[str, str], VerifyStatus | str] = field(default_factory=dict)
    members: Mapping[str, frozenset[str] | str] | None = None


def static_decision(found: Candidate, policy: Policy, now: datetime,
                    trashed_before: bool) -> Decision | None:
    """The rules the state can answer; None when only the gallery can decide."""
    if found.google_url is None:
        return keep("no_url")
    if trashed_before:
        return keep("trashed")
    if found.problem is not None:
        return keep(found.problem.rule, found.problem.reason)
    if found.favorite:
        return keep("favorite", "a favorite in the latest export")
    if policy.keep_archived and found.archived:
        return keep("archived")
    kept = [t for t in album_titles(found) if _fold(t) in policy.keep_albums]
    if kept:
        return keep("keep_album", f"in kept album {kept[0]!r}")
    age = age_of(found, now)
    if age is None or age < timedelta(days=policy.older_than_days):
        return keep("recent", f"newer than {policy.older_than_days} days")
    return None


def age_of(found: Candidate, now: datetime) -> timedelta | None:
    """Since capture; for an undated item, since it was imported (it was in Google at least
    that long, so this never overstates the age)."""
    since = found.taken_at or found.imported_at
    return None if since is None else now - since


def gallery_decision(found: Candidate, facts: GalleryFacts) -> Decision:
    for part in found.parts:
        status = facts.parts.get((part.remote_id, part.sha1), "not checked")
        what = "it" if part.kind == "file" else f"its {part.kind}"
        if status is VerifyStatus.MISSING:
            return keep("missing", f"{what} is missing from the gallery")
        if status is VerifyStatus.MISMATCH:
            return keep("mismatch", f"the gallery's checksum of {what} differs")
        if status is not VerifyStatus.OK:
            return keep("check_failed", f"could not check {what} in the gallery: {status}")
    for need in found.albums:
        if need.album_id is None:
            return keep("albums", f"album {need.title!r} is not in the gallery")
        if facts.members is None:
            return keep("albums", "the gallery cannot list album members")
        members = facts.members.get(need.album_id, "not checked")
        if isinstance(members, str):
            return keep("check_failed", f"could not list album {need.title!r}: {members}")
        if need.member not in members:
            return keep("albums", f"not in album {need.title!r} in the gallery")
    return Decision(TRASH, "eligible", RULE_LABELS["eligible"])


def decide(found: Candidate, policy: Policy, now: datetime, trashed_before: bool,
           facts: GalleryFacts) -> Decision:
    return static_decision(found, policy, now, trashed_before) or gallery_decision(found,
                                                                                   facts)
