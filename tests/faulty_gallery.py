"""A gallery double that raises chosen exceptions at chosen calls of a real target.

It wraps a real adapter (the folder target by default), so everything that does not fail
really happens: a run that survives the faults leaves a real library to check. A fault
fires before the call (nothing happened) or after it (the target acted, the answer was
lost), which is what servers and disks do.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.base import (
    AuthError,
    GalleryError,
    ItemRejected,
    StorageFull,
    TargetUnavailable,
    TransientError,
)

METHODS = ("find_existing", "upload", "set_metadata", "set_favorite", "set_archived",
           "ensure_album", "add_to_album", "stats", "close")
ITEM_METHODS = frozenset({"upload", "set_metadata", "set_favorite", "set_archived"})
ALBUM_METHODS = frozenset({"ensure_album", "add_to_album"})

ITEM_ERRORS: dict[str, Callable[[], BaseException]] = {
    "GalleryError": lambda: GalleryError("the server said no"),
    "ItemRejected": lambda: ItemRejected("unsupported file"),
    "TransientError": lambda: TransientError("HTTP 503; gave up after 6 attempts"),
    "KeyError": lambda: KeyError("id"),
    "ValueError": lambda: ValueError("Expecting value: line 1 column 1 (char 0)"),
    "TypeError": lambda: TypeError("'NoneType' object is not subscriptable"),
    "OSError": lambda: OSError(errno.EIO, "Input/output error", "/dev/sdz"),
    "RecursionError": lambda: RecursionError("maximum recursion depth exceeded"),
    "UnicodeDecodeError": lambda: UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid"),
    "AttributeError": lambda: AttributeError("'list' object has no attribute 'get'"),
}
FATAL_ERRORS: dict[str, tuple[Callable[[], BaseException], int]] = {
    "AuthError": (lambda: AuthError("Immich rejected the API key (Invalid API key)"), 3),
    "TargetUnavailable": (lambda: TargetUnavailable("http://x: unreachable"), 3),
    "StorageFull": (lambda: StorageFull("PhotoPrism has no storage left (507)"), 4),
    "ENOSPC": (lambda: OSError(errno.ENOSPC, "No space left on device", "/lib/x.jpg"), 4),
}


@dataclass(frozen=True)
class Fault:
    method: str
    call: int
    """Which call of `method` fails (1 = the first)."""
    error: str
    after: bool = False
    """Fail after the real call did its work (the answer was lost)."""

    @property
    def fatal_code(self) -> int | None:
        found = FATAL_ERRORS.get(self.error)
        return found[1] if found else None

    def exception(self) -> BaseException:
        factory = FATAL_ERRORS[self.error][0] if self.error in FATAL_ERRORS else (
            ITEM_ERRORS[self.error])
        return factory()


@dataclass
class FaultyGallery:
    inner: Any
    faults: Sequence[Fault]
    fired: list[Fault] = field(default_factory=list)
    _calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> str:
        return str(self.inner.target)

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._calls[method] = number = self._calls.get(method, 0) + 1
            fault = next((f for f in self.faults if f.method == method and f.call == number),
                         None)
            if fault is not None:
                self.fired.append(fault)
        if fault is not None and not fault.after:
            raise fault.exception()
        result = getattr(self.inner, method)(*args, **kwargs)
        if fault is not None:
            raise fault.exception()
        return result

    def find_existing(self, checksums: Sequence[str]) -> Mapping[str, str]:
        return self._call("find_existing", checksums)  # type: ignore[no-any-return]

    def upload(self, asset: Any) -> Any:
        """Like Immich, the upload applies nothing beyond the bytes: favorites, archiving
        and what the bytes lack go through the setters (which can fail too)."""
        return replace(self._call("upload", asset), applied=frozenset())

    def set_metadata(self, remote_id: str, metadata: Any, fields: frozenset[str]) -> Any:
        return self._call("set_metadata", remote_id, metadata, fields)

    def set_favorite(self, remote_id: str, favorite: bool) -> None:
        self._call("set_favorite", remote_id, favorite)

    def set_archived(self, remote_id: str, archived: bool) -> None:
        self._call("set_archived", remote_id, archived)

    def ensure_album(self, album: Any, known_id: str | None) -> str:
        return str(self._call("ensure_album", album, known_id))

    def add_to_album(self, album_id: str, remote_ids: Sequence[str]) -> None:
        self._call("add_to_album", album_id, remote_ids)

    def verify(self, expected: Mapping[str, str]) -> Any:
        return self.inner.verify(expected)

    def stats(self) -> Mapping[str, int]:
        return self._call("stats")  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            self._call("close")
        finally:
            self._process_ends()

    def _process_ends(self) -> None:
        """What ending the process does for a target whose close failed: the kernel drops
        its locks (the folder library's); nothing else is tidied (the index is not
        compacted). The tests run the next import in the same process."""
        lock = getattr(self.inner, "_library_lock", None)
        if lock is not None and not lock.closed:
            lock.close()
