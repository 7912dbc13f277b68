"""What the pipeline hands its worker threads, and what their answers carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from importer import faults
from importer.config import MetadataSettings
from importer.model import FileOutcome, MediaItem, PreparedAsset
from importer.plan import Action
from importer.prepare import NotMedia, PrepareError, prepare


class Progress(Protocol):
    def advance(self, outcome: FileOutcome, size: int) -> None: ...


class NoProgress:
    def advance(self, outcome: FileOutcome, size: int) -> None:
        pass


@dataclass(frozen=True)
class Prepared:
    """A prepare job's answer: the asset, or why it could not be prepared."""

    item: MediaItem
    action: Action | None
    asset: PreparedAsset | None
    error: str = ""
    outcome: FileOutcome = FileOutcome.FAILED
    """Without an asset: FAILED, or SKIPPED for bytes that are no photo or video."""


@dataclass
class Send:
    """A send job: what a sender runs (`fn(*args)`), the items it carries, and the
    checksum claims it holds."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    jobs: list[tuple[Action, PreparedAsset | None]]
    tokens: list[int] = field(default_factory=list)


def prepare_job(item: MediaItem, action: Action | None,
                settings: MetadataSettings) -> Prepared:
    """Runs in a worker: any error but a fatal one is this item's failure."""
    try:
        identity = action.identity if action else None
        return Prepared(item, action, prepare(item, identity, settings=settings))
    except NotMedia as exc:
        return Prepared(item, action, None, str(exc), FileOutcome.SKIPPED)
    except PrepareError as exc:
        return Prepared(item, action, None, str(exc))
    except Exception as exc:
        if faults.fatal(exc) is not None:
            raise
        return Prepared(item, action, None, f"{item.file.location}: {faults.describe(exc)}")
