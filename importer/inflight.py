"""Uploads in flight, by checksum: the same bytes are never sent twice at once.

Two items of one export can carry identical bytes (a photo uploaded twice to Google, the
same original under two edits). One at a time, the second finds the first in the state and
adopts it; in parallel, both would look, find nothing and upload, and how many copies the
target ends up with would depend on the number of workers. So an upload claims its
checksums until it finishes, and an item whose bytes are claimed waits for that upload and
is then looked up again (found, it is adopted; if the first upload failed, it goes itself).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Claims(Generic[T]):
    def __init__(self) -> None:
        self._owner: dict[str, int] = {}
        self._checksums: dict[int, tuple[str, ...]] = {}
        self._waiting: dict[int, list[T]] = {}
        self._tokens = itertools.count(1)

    def wait_if_claimed(self, checksums: Iterable[str], entry: T) -> bool:
        """True (and `entry` waits) when an upload holds one of these checksums: the target
        may already show its bytes, but until that upload is recorded nobody can tell whose
        they are, so the entry is looked up again once it is."""
        owner = next((self._owner[c] for c in checksums if c in self._owner), None)
        if owner is None:
            return False
        self._waiting[owner].append(entry)
        return True

    def claim(self, checksums: Iterable[str]) -> int:
        """A token for an upload of these bytes; call `wait_if_claimed` first (an entry
        whose bytes another upload holds waits for it instead)."""
        unique = tuple(dict.fromkeys(checksums))
        token = next(self._tokens)
        for checksum in unique:
            self._owner[checksum] = token
        self._checksums[token] = unique
        self._waiting[token] = []
        return token

    def release(self, token: int) -> list[T]:
        """The upload is over (done or failed): the entries that waited for it."""
        for checksum in self._checksums.pop(token, ()):
            if self._owner.get(checksum) == token:
                del self._owner[checksum]
        return self._waiting.pop(token, [])

    def waiting(self) -> int:
        return sum(len(entries) for entries in self._waiting.values())

    def drop_waiting(self) -> list[T]:
        """Every waiting entry (the run stops: none of them will be sent)."""
        dropped = [entry for entries in self._waiting.values() for entry in entries]
        for entries in self._waiting.values():
            entries.clear()
        return dropped
