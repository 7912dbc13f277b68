"""Issue 9: sidecar and album JSON of any shape never crash the reader or the import.

Shapes are generated from the real schema (tests/exportgen.py writes it as Takeout does),
with type mutations at any depth: a string, list, object, null, bool, huge or NaN-like
number where another type belongs, lone surrogates, deep nesting, cut-off and garbage
text. A bad field is ignored and the item's other values are still used; a file that is
not JSON at all is reported with a reason; the rest of the export imports."""

from __future__ import annotations

import gc
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.cli import main
from importer.config import TakeoutSettings
from importer.model import Accounted, FileOutcome, MediaItem
from importer.sources.listing import Listing, wanted
from importer.sources.parts import FolderPart
from importer.sources.takeout import TakeoutSource
from importer.sources.takeout_json import album_from_json
from tests.conftest import library_entries
from tests.exportgen import PRODUCT, TruthItem, sidecar_name, unique_jpeg

YEAR = f"{PRODUCT}/Photos from 2019"
ALBUM = f"{PRODUCT}/Trip"
TAKEN = datetime(2019, 7, 4, 10, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is (what json.dumps cannot or will not produce)."""

    text: str


HOSTILE_VALUES: list[Any] = [
    "", "NaN", "Infinity", "-1e999", "1e309", "0", "-0", " ", "\x00\x1b[2J", "x" * 5000,
    [], [1, "a", None], {}, {"timestamp": "1562235300"}, {"a": {"b": []}}, None, True,
    False, 0, -1, 10**30, -(10**30), 1.5, float("nan"), float("inf"),
    Raw('"\\ud800 lone \\udfff"'), Raw("1" * 5000), Raw("-" + "9" * 400 + ".5e99999"),
    Raw("[" * 50_000 + "]" * 50_000), Raw('{"a":' * 30_000 + "1" + "}" * 30_000),
]


def to_json(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


def real_sidecar() -> dict[str, Any]:
    item = TruthItem("IMG_1.jpg", "https://photos.google.com/photo/AF1QipREAL", TAKEN,
                     location=(38.7, -9.1), description="caption", favorite=True)
    data = item.sidecar()
    data["people"] = [{"name": "Ana"}, {"name": "Rui"}]
    data["photoLastModifiedTime"] = {"timestamp": "1600000000", "formatted": "…"}
    data["appSource"] = {"androidPackageName": "com.google.android.apps.photos"}
    return data


def real_album() -> dict[str, Any]:
    return {"title": "Trip", "description": "summer", "access": "protected",
            "date": {"timestamp": "1565000000", "formatted": "…"},
            "enrichments": [{"narrativeEnrichment": {"text": "Day one"}},
                            {"locationEnrichment": {"location": [
                                {"name": "Lisbon", "latitudeE7": 387000000}]}}]}


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*here, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@st.composite
def mutated(draw: Any, base: dict[str, Any]) -> tuple[str, set[str]]:
    """JSON text of `base` with a few fields replaced by hostile values, and the top-level
    fields that were touched."""
    data: Any = base
    touched: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        data = _replace(data, path, draw(st.sampled_from(HOSTILE_VALUES)))
        touched.add(str(path[0]))
    text = to_json(data)
    damage = draw(st.sampled_from(["none"] * 6 + ["cut", "garbage", "bom", "latin1"]))
    if damage == "cut":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif damage == "garbage":
        text = text + "\x00}{"
    elif damage == "bom":
        text = "\ufeff" + text
    if damage == "latin1":
        touched.add("*")
        return text.encode("utf-8", "surrogatepass")[:-1].decode("latin-1"), touched
    if damage in ("cut", "garbage"):
        touched.add("*")
    return text, touched


def _export(root: Path, sidecar: str, album: str) -> Path:
    export = root / "export"
    for folder in (YEAR, ALBUM):
        (export / folder).mkdir(parents=True)
        (export / folder / "IMG_1.jpg").write_bytes(unique_jpeg("real"))
        (export / folder / sidecar_name("IMG_1.jpg")).write_bytes(
            sidecar.encode("utf-8", "surrogatepass"))
    (export / YEAR / "IMG_2.jpg").write_bytes(unique_jpeg("second"))
    (export / ALBUM / "metadata.json").write_bytes(album.encode("utf-8", "surrogatepass"))
    return export


def _scan(export: Path) -> tuple[list[MediaItem], list[Accounted]]:
    source = TakeoutSource([export], TakeoutSettings())
    items: list[MediaItem] = []
    accounted: list[Accounted] = []
    try:
        for event in source.scan():
            (items if isinstance(event, MediaItem) else accounted).append(event)  # type: ignore[arg-type]
    finally:
        source.close()
    return items, accounted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sidecar=mutated(real_sidecar()), album=mutated(real_album()))
def test_any_json_shape_is_read_or_reported_never_a_crash(
        sidecar: tuple[str, set[str]], album: tuple[str, set[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        items, accounted = _scan(_export(Path(tmp), sidecar[0], album[0]))
    names = sorted(i.file.name for i in items)
    assert names == ["IMG_1.jpg", "IMG_2.jpg"] or names == ["IMG_1.jpg", "IMG_1.jpg",
                                                            "IMG_2.jpg"]
    for event in accounted:
        assert event.reason, event
        assert event.outcome in (FileOutcome.UNREADABLE, FileOutcome.UNMATCHED_JSON,
                                 FileOutcome.ALBUM_COPY), event
    first = next(i for i in items if i.file.name == "IMG_1.jpg")
    if not {"photoTakenTime", "*"} & sidecar[1]:  # the other fields' damage is ignored
        assert first.metadata.taken_at == TAKEN
        assert first.metadata.taken_at_source == "sidecar"
    for item in items:
        for text in (item.metadata.description, item.metadata.title,
                     item.metadata.google_url, *item.metadata.people,
                     *(a.title for a in item.albums), *(a.description or "" for a in item.albums)):
            if text is not None:
                text.encode("utf-8")  # storable in the report, the state and any gallery


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(sidecar=mutated(real_sidecar()), album=mutated(real_album()))
def test_any_json_shape_imports_the_rest(sidecar: tuple[str, set[str]],
                                         album: tuple[str, set[str]]) -> None:
    """End to end through the command line: exit code 0 or 1, never a traceback; every
    photo is in the library."""
    with tempfile.TemporaryDirectory() as tmp:
        export = _export(Path(tmp), sidecar[0], album[0])
        library = Path(tmp) / "library"
        code = main(["import", str(export), "--to", f"folder:{library}",
                     "--report", str(Path(tmp) / "report.json")])
        assert code == 0
        entries = library_entries(library)
        assert sorted(e["original_name"] for e in entries) in (
            ["IMG_1.jpg", "IMG_2.jpg"], ["IMG_1.jpg", "IMG_1.jpg", "IMG_2.jpg"])
        json.loads((Path(tmp) / "report.json").read_text(encoding="utf-8"))


def _album_json(enrichments: int) -> bytes:
    """A 2025 album JSON with `enrichments` location enrichments (no text among the first
    ones, so the reader has to walk all of them)."""
    places = [{"locationEnrichment": {"location": [{"latitudeE7": i, "longitudeE7": -i,
                                                    "extra": {"zoom": [i, i]}}]}}
              for i in range(enrichments)]
    places.append({"narrativeEnrichment": {"text": "The end"}})
    return json.dumps({"title": "Big", "date": {"timestamp": "1"},
                       "enrichments": places}).encode()


def _read_album(body: bytes, folder: Path) -> None:
    (folder / "metadata.json").write_bytes(body)
    listing = Listing()
    for listed in FolderPart(folder).entries(wanted):
        list(listing.add(listed))
    (files,) = listing.folders.values()
    assert files.album is not None and files.album.description == "The end"


def _album_seconds(data: dict[str, Any]) -> float:
    """CPU time of reading the album's values (the part that was quadratic), without the
    garbage collector, whose passes depend on everything else the process holds."""
    gc.disable()
    try:
        start = time.process_time()
        assert album_from_json(data).description == "The end"
        return time.process_time() - start
    finally:
        gc.enable()


def test_a_big_album_json_is_read_in_linear_time(tmp_path: Path) -> None:
    """Several MB of enrichments: 8x the size must cost far less than 64x the time (it was
    quadratic: 4 MB took minutes). CPU time, best of a few, generous bounds."""
    small, big = _album_json(5_000), _album_json(40_000)
    assert len(big) > 4 * 1024 * 1024
    _read_album(big, tmp_path)  # the whole reader takes it
    one = min(_album_seconds(json.loads(small)) for _ in range(5))
    eight = min(_album_seconds(json.loads(big)) for _ in range(3))
    assert eight < max(24 * one, 0.3), (one, eight)


def test_album_description_keeps_enrichment_texts_in_order() -> None:
    data = json.loads(_album_json(3))
    data["enrichments"].insert(0, {"narrativeEnrichment": {"text": "First"}})
    assert album_from_json(data).description == "First\n\nThe end"


def test_json_nested_deeper_than_python_can_parse_is_read_or_reported(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    export = tmp_path / "export" / YEAR
    export.mkdir(parents=True)
    (export / "IMG_1.jpg").write_bytes(unique_jpeg("x"))
    deep = "[" * 200_000 + "]" * 200_000
    (export / "IMG_1.jpg.json").write_text(deep[:-1])  # cut short, too
    (export / "IMG_2.jpg").write_bytes(unique_jpeg("y"))
    (export / "IMG_2.jpg.json").write_text(
        '{"photoTakenTime": {"timestamp": "1562235300"}, "people": ' + deep + "}")
    library, report = tmp_path / "library", tmp_path / "report.json"
    result = cli("import", tmp_path / "export", "--to", f"folder:{library}", "--report", report)
    assert result.code == 0, result.out + result.err
    lines = {f["file"].rsplit("/", 1)[1]: f for f in json.loads(report.read_text())["files"]}
    assert lines["IMG_1.jpg.json"]["outcome"] == "unreadable"
    assert "damaged JSON" in lines["IMG_1.jpg.json"]["reason"]
    entries = {e["original_name"]: e for e in library_entries(library)}
    assert sorted(entries) == ["IMG_1.jpg", "IMG_2.jpg"]
    assert entries["IMG_2.jpg"]["taken_at"] == "2019-07-04T10:15:00+00:00"  # the rest is read
