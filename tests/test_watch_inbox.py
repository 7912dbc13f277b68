"""Watch mode's pure parts, over many generated variants: grouping inbox files into
exports, gaps, unfinished downloads, the read-to-end check and content identity, durations,
the health verdict and the log format."""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.config import parse_duration
from importer.watch.check import check_part, export_identity
from importer.watch.inbox import Seen, group, is_temp, list_inbox
from importer.watch.log import EventLog
from importer.watch.status import judge
from tests.exportgen import make_items, write_parts

STAMPS = ("20260601T101010Z", "20260801T090000Z")


@st.composite
def inbox_listings(draw: st.DrawFn) -> tuple[list[Seen], dict[str, set[tuple[int, int]]]]:
    """Parts of a few exports (stamps, flows, copies, folders, formats) and their truth."""
    files: list[Seen] = []
    truth: dict[str, set[tuple[int, int]]] = {}
    for stamp in draw(st.lists(st.sampled_from(STAMPS), min_size=1, max_size=2, unique=True)):
        folder = draw(st.sampled_from(["", "drive/", "a b/"]))
        copy = draw(st.sampled_from(["", " (1)", "(2)"]))
        flows = draw(st.sampled_from([[0], [1], [1, 2]]))
        key = f"{folder}takeout-{stamp}" + (f" {copy.strip()}" if copy else "")
        numbers = truth.setdefault(key, set())
        for flow in flows:
            for number in draw(st.sets(st.integers(1, 12), min_size=1, max_size=6)):
                numbers.add((flow, number))
                flow_part = f"-{flow}" if flow else ""
                ext = draw(st.sampled_from([".zip", ".tgz", ".tar.gz", ".ZIP"]))
                name = f"{folder}takeout-{stamp}{flow_part}-{number:03d}{copy}{ext}"
                files.append(Seen(PurePosixPath(name), number, 1))
    return files, truth


@given(inbox_listings(), st.randoms())
def test_every_part_in_exactly_one_export_with_its_gaps(
        listing: tuple[list[Seen], dict[str, set[tuple[int, int]]]], rng: random.Random) -> None:
    files, truth = listing
    rng.shuffle(files)
    groups, unattributed = group(files)
    assert unattributed == {}
    assert {g.key for g in groups} == set(truth)
    assert sorted(s.path for g in groups for s in g.parts) == sorted(s.path for s in files)
    for found in groups:
        numbers = truth[found.key]
        assert {(n.flow, n.number) for n in found.parts.values()} == numbers
        expected = []
        for flow in sorted({f for f, _ in numbers}):
            have = {n for f, n in numbers if f == flow}
            expected += [f"{n:03d}" if flow == 0 else f"{flow}-{n:03d}"
                         for n in range(1, max(have) + 1) if n not in have]
        assert found.missing() == expected


TEMP_NAMES = [
    ("takeout-{s}-003.zip.crdownload", True), ("takeout-{s}-003.zip.part", True),
    ("~syncthing~takeout-{s}-003.zip.tmp", True), (".syncthing.takeout-{s}-003.zip.tmp", True),
    ("takeout-{s}-003.zip.a1b2c3.partial", True), (".takeout-{s}-003.zip.Xy12Ab", True),
    ("Unconfirmed 81234.crdownload", False), ("download.part", False),
]


@pytest.mark.parametrize(("template", "stamped"), TEMP_NAMES)
def test_unfinished_downloads_hold_their_export(template: str, stamped: bool) -> None:
    name = template.format(s=STAMPS[0])
    assert is_temp(name)
    files = [Seen(PurePosixPath(f"takeout-{STAMPS[0]}-001.zip"), 10, 1),
             Seen(PurePosixPath(f"takeout-{STAMPS[1]}-001.zip"), 10, 1),
             Seen(PurePosixPath(f"other/takeout-{STAMPS[0]}-001.zip"), 10, 1),
             Seen(PurePosixPath(name), 5, 1)]
    groups, unattributed = group(files)
    held = {g.key: [str(t.path) for t in g.temps] for g in groups}
    if stamped:  # its own export only, not the one in another folder or with another stamp
        assert held == {f"takeout-{STAMPS[0]}": [name], f"takeout-{STAMPS[1]}": [],
                        f"other/takeout-{STAMPS[0]}": []}
        assert unattributed == {}
    else:  # anything in its folder
        assert all(not temps for temps in held.values())
        assert [str(s.path) for s in unattributed["."]] == [name]


def test_listing_skips_done_hidden_and_other_files(tmp_path: Path) -> None:
    for name in ("takeout-20260601T101010Z-001.zip", "done/takeout-20260601T101010Z-002.zip",
                 ".stfolder/x.zip", "@eaDir/takeout-20260601T101010Z-001.zip",
                 "notes.txt", "sub/photos.tgz", "sub/x.crdownload", ".DS_Store"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    listed = sorted(str(s.path) for s in list_inbox(tmp_path))
    assert listed == ["sub/photos.tgz", "sub/x.crdownload", "takeout-20260601T101010Z-001.zip"]
    groups, _ = group(list_inbox(tmp_path))
    assert [g.key for g in groups] == ["sub/photos.tgz", "takeout-20260601T101010Z"]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("parts")
    return write_parts(folder, make_items(15, seed=61, albums=2), "mixed", parts=2,
                       seed=61).sources


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 1), cut=st.floats(0.0, 0.9999))
def test_a_cut_part_never_reads_to_its_end(parts: list[Path], tmp_path: Path, which: int,
                                           cut: float) -> None:
    part = parts[which]
    data = part.read_bytes()
    whole = check_part(part)
    assert whole.whole and whole.digest
    cut_copy = tmp_path / f"cut-{part.name}"
    cut_copy.write_bytes(data[:int(len(data) * cut)])
    result = check_part(cut_copy)
    assert not result.whole and result.digest is None and result.problem


def test_identity_is_content_not_names(parts: list[Path], tmp_path: Path) -> None:
    digests = [check_part(p).digest for p in parts]
    assert None not in digests
    copies = []
    for index, part in enumerate(parts):
        copy = tmp_path / f"takeout-20990101T000000Z-{index + 1:03d} (1){part.suffix}"
        shutil.copyfile(part, copy)
        copies.append(check_part(copy).digest)
    assert export_identity(digests) == export_identity(reversed(copies))  # type: ignore[arg-type]
    other = write_parts(tmp_path / "other", make_items(15, seed=62, albums=2), "mixed",
                        parts=2, seed=61).sources
    assert export_identity(check_part(p).digest or "" for p in other) != export_identity(
        digests)  # type: ignore[arg-type]
    assert export_identity(digests[:1]) != export_identity(digests)  # type: ignore[arg-type]


@given(st.integers(0, 48), st.integers(0, 59), st.integers(0, 59))
def test_durations(hours: int, minutes: int, seconds: int) -> None:
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + f"{seconds}s"
    assert parse_duration(text) == hours * 3600 + minutes * 60 + seconds
    assert parse_duration(text.upper()) == parse_duration(text)


@pytest.mark.parametrize("bad", ["", "10x", "m", "5 m", "1h-5m", "-5s", None, True, [1]])
def test_not_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


NOW = 1_000_000.0


def status(**fields: object) -> dict[str, object]:
    return {"interval": 60.0, "started": NOW - 1000, **fields}


def cycle(ok: bool, ago: float, number: int = 3) -> dict[str, object]:
    return {"number": number, "ok": ok, "finished": NOW - ago, "started": NOW - ago - 5,
            "problem": None if ok else "the gallery is down", "summary": "exports: none"}


@pytest.mark.parametrize(("data", "beat_ago", "healthy", "words"), [
    (None, 0, False, "has not run"),
    (status(last_cycle=cycle(True, 30)), 5, True, "went well"),
    (status(last_cycle=cycle(True, 119)), 5, True, "went well"),
    (status(last_cycle=cycle(True, 121)), 5, False, "no cycle ended in the last 2m"),
    (status(last_cycle=cycle(False, 10)), 5, False, "the gallery is down"),
    (status(last_cycle=cycle(True, 500), cycle={"number": 4, "started": NOW - 490}), 5, True,
     "running"),
    (status(last_cycle=cycle(False, 500), cycle={"number": 4, "started": NOW - 490}), 5,
     False, "failed"),
    (status(last_cycle=cycle(True, 30)), 200, False, "not running"),
    (status(), 5, True, "first cycle"),
])
def test_health_verdicts(data: dict[str, object] | None, beat_ago: float, healthy: bool,
                         words: str) -> None:
    verdict = judge(data, NOW, NOW - beat_ago)
    assert verdict.healthy is healthy
    assert words in verdict.message


@given(st.text(), st.sampled_from(["text", "json"]))
def test_one_line_per_event(message: str, fmt: str) -> None:
    out = io.StringIO()
    EventLog(fmt, out).info("export.seen", message, export="takeout-x", count=3)
    lines = out.getvalue().split("\n")
    assert len(lines) == 2 and lines[1] == ""
    if fmt == "json":
        record = json.loads(lines[0])
        assert record["event"] == "export.seen" and record["count"] == 3
        assert record["message"] == " ".join(message.split())
    else:
        assert " INFO  export.seen " in lines[0]


@given(numbers=st.sets(st.integers(1, 8), min_size=1, max_size=8),
       temp=st.sampled_from([None, "own", "unnamed", "unnamed elsewhere"]),
       quiet=st.floats(0, 600), settle=st.floats(0, 600),
       cut=st.one_of(st.none(), st.integers(1, 8)))
def test_ready_only_when_everything_holds(numbers: set[int], temp: str | None, quiet: float,
                                          settle: float, cut: int | None) -> None:
    """An export is ready exactly when no download is in progress beside it, its parts run
    from 001 without a gap, it was quiet for the settle time and every part reads to its
    end (read checks come from the cache here: no files needed)."""
    from importer.watch.ready import CheckCache, assess

    stamp = STAMPS[0]
    files = [Seen(PurePosixPath(f"takeout-{stamp}-{n:03d}.zip"), 100 + n, 1) for n in numbers]
    temps = {"own": f"takeout-{stamp}-009.zip.crdownload", "unnamed": "Unconfirmed 1.crdownload",
             "unnamed elsewhere": "sub/Unconfirmed 1.crdownload"}
    if temp is not None:
        files.append(Seen(PurePosixPath(temps[temp]), 5, 1))
    section = {str(s.path): {"sig": list(s.signature), "digest": f"d{s.size}",
                             "problem": None} for s in files}
    if cut in numbers:
        section[f"takeout-{stamp}-{cut:03d}.zip"].update(digest=None, problem="truncated")
    (export,), unattributed = group(files)
    verdict = assess(export, unattributed, quiet, settle, Path("/nonexistent"),
                     CheckCache(section))
    ready = (temp in (None, "unnamed elsewhere") and numbers == set(range(1, max(numbers) + 1))
             and quiet >= settle and cut not in numbers)
    assert (verdict.waiting is None) is ready, verdict.waiting
    assert (verdict.identity is not None) is ready
