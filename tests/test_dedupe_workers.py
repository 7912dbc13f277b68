"""Issue 9: identical bytes are stored once, whatever the number of workers.

Groups of Google items carry the same original bytes under different URLs, names, dates
and captions (a photo uploaded twice, a copy kept in two places): their EXIF-rewritten
bytes differ, so only the pipeline can tell they are one file. With 1, 4 or 8 workers, the
folder library, the fake Immich and the fake PhotoPrism must all end up with one copy per
group, and every item recorded as imported or already there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from importer.state import State
from tests.conftest import CliResult, originals
from tests.exportgen import GeneratedExport, TruthItem, make_items, unique_jpeg, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import FakePhotoPrism

GROUPS = 12
COPIES = 4


@dataclass
class Twin(TruthItem):
    same_as: str = ""

    def content(self) -> bytes:
        return unique_jpeg(self.same_as, self.pad)


def twins(tmp_path: Path) -> GeneratedExport:
    items = []
    for n, base in enumerate(make_items(GROUPS * COPIES, seed=41, albums=2)):
        group = n % GROUPS  # copies spread over the export, as duplicates are
        items.append(Twin(**{**base.__dict__, "taken_at": base.taken_at + timedelta(days=n)},
                          same_as=f"group {group}"))
    return write_folder(tmp_path / "export", items)



def recorded(state: Path, target: str) -> dict[str, str]:
    with State(state, readonly=True) as opened:
        return {r.identity: str(r.on(target).remote_id)  # type: ignore[union-attr]
                for r in opened.items() if r.on(target) and r.on(target).done}  # type: ignore[union-attr]


def run(cli: Callable[..., CliResult], export: GeneratedExport, target: str, state: Path,
        workers: int) -> dict[str, str]:
    result = cli("import", *export.sources, "--to", target, "--state", state,
                 "--workers", str(workers))
    assert result.code == 0, result.out + result.err
    ids = recorded(state, target)
    assert len(ids) == GROUPS * COPIES
    assert len(set(ids.values())) == GROUPS  # the copies of a group share one remote file
    return ids


@pytest.mark.parametrize("workers", [1, 4, 8])
def test_folder_library_keeps_one_copy(tmp_path: Path, cli: Callable[..., CliResult],
                                       workers: int) -> None:
    export, library = twins(tmp_path), tmp_path / "library"
    run(cli, export, f"folder:{library}", tmp_path / "state.sqlite", workers)
    assert len(originals(library)) == GROUPS


@pytest.mark.parametrize("workers", [1, 4, 8])
def test_immich_keeps_one_copy(tmp_path: Path, cli: Callable[..., CliResult],
                               immich: FakeImmich, workers: int) -> None:
    run(cli, twins(tmp_path), f"immich:{immich.url}", tmp_path / "state.sqlite", workers)
    assert len(immich.owned()) == GROUPS


@pytest.mark.parametrize("workers", [1, 4, 8])
def test_photoprism_keeps_one_copy(tmp_path: Path, cli: Callable[..., CliResult],
                                   photoprism: FakePhotoPrism, workers: int) -> None:
    run(cli, twins(tmp_path), f"photoprism:{photoprism.url}", tmp_path / "state.sqlite",
        workers)
    assert len(photoprism.library.photos) == GROUPS
