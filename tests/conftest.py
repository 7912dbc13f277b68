from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from importer.cli import main
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "takeout"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the command line in-process, as a user would type it."""

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def _strict_immich(dialect: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImmich]:
    with FakeImmich(dialect) as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        yield fake
        assert fake.rejected == [] and fake.violations == []


@pytest.fixture
def immich(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImmich]:
    """A fake Immich v3 whose key is in IMMICH_API_KEY. At the end it must have refused
    nothing and answered only as its contract says."""
    yield from _strict_immich("v3", monkeypatch)


@pytest.fixture(params=["v3", "v2"])
def immich_each(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImmich]:
    """The same strict fake, once as v3 and once as v2 (the dialects we support)."""
    yield from _strict_immich(request.param, monkeypatch)


@pytest.fixture
def photoprism(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePhotoPrism]:
    """A fake PhotoPrism whose app password is in PHOTOPRISM_TOKEN, indexing after a short
    delay as the real one does; at the end it must have refused nothing and answered only
    as its contract says."""
    with FakePhotoPrism(index_delay=0.01) as fake:
        assert isinstance(fake, FakePhotoPrism)
        monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
        yield fake
        assert fake.rejected == [] and fake.violations == []


def cli_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "importer.cli", *[str(a) for a in args]]


def exiftool(*paths: Path, tags: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Read metadata with exiftool, an independent reader (Debian libimage-exiftool-perl)."""
    tool = shutil.which("exiftool")
    if tool is None:
        pytest.fail("exiftool is required: apt-get install libimage-exiftool-perl")
    args = [tool, "-j", "-G1", "-a", *(f"-{t}" for t in tags), *map(str, paths)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def library_entries(library: Path) -> list[dict[str, Any]]:
    lines = (library / "library.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def originals(library: Path) -> list[Path]:
    """Files in the library's date folders (not album links, not our own files)."""
    return sorted(
        p for p in library.rglob("*")
        if p.is_file() and not p.is_symlink()
        and p.relative_to(library).parts[0] not in {"albums", ".gphotos-importer", ".incoming"}
        and p.name != "library.jsonl" and p.suffix != ".xmp"
    )
