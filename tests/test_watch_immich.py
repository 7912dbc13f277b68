"""Watch mode end to end: exports arrive over time in a real inbox while `watch` runs as a
subprocess, importing into the fake Immich (checked through its API, as a real server
would be): parts landing one by one, a part still growing, a download under a temporary
name, a gap, the same export again under another name, an incremental export that changes
a date and a favorite, adds a new item to an old album and renames an album."""

from __future__ import annotations

import copy
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from importer.albumsync import Member, renamed_from
from importer.state import State
from tests.conftest import REPO, CliResult, cli_command
from tests.exportgen import GeneratedExport, TruthItem, make_items, write_parts
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Faults
from tests.test_immich_import import check_immich
from tests.watchkit import Delivery, Event, renamed, watching

ALBUMS = ("Album 0 – Ünïcode", "Album 1 – Ünïcode", "Album 2 – Ünïcode")
RENAMED = "Album 1 (renamed) – Ünïcode"


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich("v3") as server:
        assert isinstance(server, FakeImmich)
        yield server
        assert server.rejected == [], server.rejected
        assert server.violations == [], server.violations


def first_items() -> list[TruthItem]:
    """24 items with fixed album membership (some in two albums)."""
    items = make_items(24, seed=41, albums=0)
    for i, item in enumerate(items):
        item.albums = [title for title, (step, rest) in zip(ALBUMS, ((3, 0), (4, 1), (5, 2)),
                                                            strict=True) if i % step == rest]
    return items


def uploads(fake: FakeImmich) -> int:
    return sum(1 for method, path, _ in fake.requests if method == "POST" and path == "/api/assets")


def truth(items: list[TruthItem]) -> GeneratedExport:
    albums: dict[str, list[str]] = {}
    for item in items:
        for title in item.albums:
            albums.setdefault(title, []).append(item.url)
    return GeneratedExport([], items, albums)


def incremental(first: list[TruthItem]) -> tuple[list[TruthItem], list[TruthItem]]:
    """(what the second export holds, what the library must show afterwards).

    An incremental export's album folders hold only new members, so items that come back
    changed sit in their year folder only: their albums must stay."""
    final = copy.deepcopy(first)
    final[0].taken_at += timedelta(days=1, hours=3)   # date edited in Google Photos
    final[3].favorite = not final[3].favorite          # favorite toggled
    new_in_old_album = make_items(2, seed=42, albums=0)
    new_in_old_album[0].albums = [ALBUMS[2]]
    final += new_in_old_album
    for item in final:                                 # Album 1 renamed in Google Photos
        item.albums = [RENAMED if t == ALBUMS[1] else t for t in item.albums]
    second: dict[str, TruthItem] = {}

    def holds(item: TruthItem, albums: list[str]) -> None:
        held = second.get(item.url)
        if held is None:
            held = second[item.url] = copy.deepcopy(item)
            held.albums = []
        held.albums = sorted({*held.albums, *albums})

    for item in (final[0], final[2], final[3], new_in_old_album[1]):
        holds(item, [])                                # year folder only
    holds(new_in_old_album[0], [ALBUMS[2]])            # the only new member of Album 2
    for item in final:
        if RENAMED in item.albums:                     # the renamed album with its members
            holds(item, [RENAMED])
    return list(second.values()), final


def test_exports_arriving_over_time(tmp_path: Path, fake: FakeImmich) -> None:
    inbox, state, log = tmp_path / "inbox", tmp_path / "state.sqlite", tmp_path / "watch.log"
    inbox.mkdir()
    items = first_items()
    parts = write_parts(tmp_path / "gen1", items, "zip", parts=3, seed=41).sources
    deliver = Delivery(inbox)
    stamp = "20260601T101010Z"
    env = {"IMMICH_API_KEY": fake.api_key}
    with watching(inbox, f"immich:{fake.url}", state, log, env=env) as watch:
        # Part 2 downloads under a browser's temporary name while part 1 lands; part 3
        # starts growing in place before part 2 is done: at no moment does a complete-
        # looking subset stand still, yet nothing may be imported until part 3 is whole.
        part2 = deliver.begin(parts[1], renamed(parts[1], stamp),
                              renamed(parts[1], stamp) + ".crdownload", steps=2)
        deliver.copy(parts[0], renamed(parts[0], stamp))
        watch.wait_cycles(3)  # more than the settle time: the temporary file holds it
        part3 = deliver.begin(parts[2], renamed(parts[2], stamp), steps=10)
        part2.step()
        assert part2.done and uploads(fake) == 0
        while not part3.done:
            time.sleep(0.4)
            assert uploads(fake) == 0, f"imported while part 3 was growing ({part3.written})"
            part3.step()
        done = watch.wait_for("export.imported")
        assert done[0]["export"] == f"takeout-{stamp}"
        check_immich(fake, truth(items), state)
        sent = uploads(fake)
        assert sent == len(items)

        # The same export again, downloaded a second time into a sub-folder.
        deliver.drop_folder("again", {renamed(p, stamp, " (1)"): p for p in parts})
        skipped = watch.wait_for("export.skipped", lambda e: "again/" in e["export"])
        assert f"as takeout-{stamp}" in skipped[0]["message"]
        watch.wait_cycles(2)
        assert uploads(fake) == sent

        second, final = incremental(items)
        later = write_parts(tmp_path / "gen2", second, "zip", parts=2, seed=42).sources
        deliver.drop_folder("2026-08", {renamed(p, "20260801T101010Z"): p for p in later})
        watch.wait_for("export.imported", count=2)
        check_immich(fake, truth(final), state)
        assert uploads(fake) == sent + 2  # only the two new items were sent
        notes = [e["message"] for e in watch.events("import.note")]
        assert any("renamed" in n and RENAMED in n for n in notes), notes
        assert watch.stop() == 0
    imported = [e["export"] for e in watch.events("export.imported")]
    assert imported == [f"takeout-{stamp}", "2026-08/takeout-20260801T101010Z"]


def test_a_gap_waits_and_is_reported_once(tmp_path: Path, fake: FakeImmich) -> None:
    inbox, state, log = tmp_path / "inbox", tmp_path / "state.sqlite", tmp_path / "watch.log"
    inbox.mkdir()
    items = make_items(30, seed=43, albums=2)
    parts = write_parts(tmp_path / "gen", items, "mixed", parts=4, seed=43).sources
    deliver = Delivery(inbox)
    stamp = "20260601T101010Z"
    with watching(inbox, f"immich:{fake.url}", state, log,
                  env={"IMMICH_API_KEY": fake.api_key}) as watch:
        deliver.drop_folder("drive", {renamed(parts[i], stamp): parts[i] for i in (0, 1, 3)})
        missing = watch.wait_for("export.incomplete")
        assert "missing part(s) 003 (have 001, 002, 004)" in missing[0]["message"]
        watch.wait_cycles(3)
        assert len(watch.events("export.incomplete")) == 1, "reported more than once"
        assert uploads(fake) == 0
        deliver.copy(parts[2], renamed(parts[2], stamp), folder="drive")
        watch.wait_for("export.imported")
        check_immich(fake, truth(items), state)
        assert watch.stop() == 0


@pytest.mark.slow
def test_sigterm_mid_cycle_then_restart(tmp_path: Path, fake: FakeImmich) -> None:
    inbox, state, log = tmp_path / "inbox", tmp_path / "state.sqlite", tmp_path / "watch.log"
    inbox.mkdir()
    items = make_items(400, seed=44, albums=3)
    for part in write_parts(tmp_path / "gen", items, "zip", parts=2, seed=44).sources:
        Delivery(inbox).copy(part, part.name)
    fake.faults = Faults(delay=0.03)  # slow enough to be caught mid-import
    env = {"IMMICH_API_KEY": fake.api_key}
    with watching(inbox, f"immich:{fake.url}", state, log, env=env) as watch:
        watch.wait_for("export.complete")
        while len(fake.owned()) < 20:
            assert watch.process.poll() is None
            time.sleep(0.005)
        assert watch.stop() == 0, log.read_text()
    stopped = watch.events("export.stopped")
    assert len(stopped) == 1 and not watch.events("export.imported")
    assert 0 < len(fake.owned()) < len(items)

    fake.faults = Faults()
    with watching(inbox, f"immich:{fake.url}", state, log, env=env) as again:
        again.wait_for("export.imported")
        assert again.stop() == 0
    check_immich(fake, truth(items), state)


def health(state: Path) -> tuple[int, str]:
    done = subprocess.run(cli_command("health", "--state", state), capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1, done.stdout
    return done.returncode, done.stdout


def test_health_follows_cycles(tmp_path: Path, fake: FakeImmich) -> None:
    """Passing while cycles go well, failing with the reason when one fails (the key lost
    a permission), passing again when the next goes well, failing when watch is gone."""
    inbox, state, log = tmp_path / "inbox", tmp_path / "state.sqlite", tmp_path / "watch.log"
    inbox.mkdir()
    code, said = health(state)
    assert code == 1 and "watch has not run" in said
    key = fake.keys[fake.api_key]
    with watching(inbox, f"immich:{fake.url}", state, log, "--interval", "2s",
                  env={"IMMICH_API_KEY": fake.api_key}) as watch:

        def next_cycle(ok: bool) -> Event:
            after = watch.cycles()
            return watch.wait_for("cycle.done",
                                  lambda e: e["cycle"] > after and e["ok"] is ok)[-1]

        for _ in range(2):
            next_cycle(ok=True)
            code, said = health(state)
            assert code == 0 and said.startswith("healthy: "), said  # maybe the next running
            key.permissions = ["asset.read"]
            assert "permission" in next_cycle(ok=False)["message"]
            code, said = health(state)
            assert code == 1 and "failed" in said and "permission" in said, said
            key.permissions = ["all"]
        next_cycle(ok=True)
        assert health(state)[0] == 0
        assert watch.stop() == 0
    time.sleep(4.5)  # more than twice the 2 s interval without a heartbeat
    code, said = health(state)
    assert code == 1 and "not running" in said, said


@pytest.mark.parametrize(("members", "sizes", "expected"), [
    ([Member(frozenset({"Trip"}), frozenset({"New"}))] * 4, {"Trip": 4}, "Trip"),
    ([Member(frozenset({"Trip"}), frozenset({"New"}))] * 3, {"Trip": 5}, None),
    ([Member(frozenset({"Trip"}), frozenset({"New"}))] * 3, {"Trip": None}, None),
])
def test_rename_rule_for_incremental_exports(members: list[Member],
                                             sizes: dict[str, int | None],
                                             expected: str | None) -> None:
    """A later export leaves out albums that gained no member, so an album it does not
    mention may still exist: only a new album holding every member of an old one (whose
    members are counted) renames it."""
    assert renamed_from(members, {"New"}, sizes, whole=True) == expected
    assert renamed_from(members, {"New"}, sizes) == "Trip"  # a full export's rule


def test_new_album_from_some_photos_of_an_old_one_is_not_a_rename(
        tmp_path: Path, fake: FakeImmich, monkeypatch: pytest.MonkeyPatch,
        cli: Callable[..., CliResult]) -> None:
    """"Best of Trip" made of three of Trip's five photos arrives in a later export, which
    does not mention Trip at all (it gained no member): Trip stays, whole."""
    monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
    inbox, state = tmp_path / "inbox", tmp_path / "state.sqlite"
    items = make_items(5, seed=45, albums=0)
    for item in items:
        item.albums = ["Trip"]
    later = copy.deepcopy(items[:3])
    for item in later:
        item.albums = ["Best of Trip"]
    for n, batch in enumerate((items, later)):
        for part in write_parts(tmp_path / f"gen{n}", batch, "zip", parts=1).sources:
            Delivery(inbox).copy(part, renamed(part, f"2026060{n + 1}T101010Z"))
        result = cli("watch", "--once", "--settle", "0s", "--inbox", inbox, "--to",
                     f"immich:{fake.url}", "--state", state)
        assert result.code == 0, result.out
    assert "renamed" not in result.out
    assert {a.name: len(a.asset_ids) for a in fake.albums.values()} == {"Trip": 5,
                                                                        "Best of Trip": 3}


def test_a_key_revoked_mid_import_fails_the_cycle_and_the_next_completes(
        tmp_path: Path, fake: FakeImmich, monkeypatch: pytest.MonkeyPatch,
        cli: Callable[..., CliResult]) -> None:
    """The pipeline stops by itself (credentials refused), not by watch's signal: the cycle
    fails with one line naming the cause, `health` fails, the export is not marked done;
    once the key works again the next cycle completes it, nothing sent twice."""
    monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
    inbox, state = tmp_path / "inbox", tmp_path / "state.sqlite"
    items = make_items(30, seed=46, albums=2)
    for part in write_parts(tmp_path / "gen", items, "zip", parts=2, seed=46).sources:
        Delivery(inbox).copy(part, renamed(part, "20260601T101010Z"))
    secret, key = fake.api_key, fake.keys[fake.api_key]
    seen = {"uploads": 0}

    def revoke_at_the_eighth_upload(request: Any) -> bool:
        if request.method == "POST" and request.path == "/api/assets":
            with fake.lock:
                seen["uploads"] += 1
                if seen["uploads"] == 8:
                    fake.keys.pop(secret, None)  # the user deleted the key in Immich
        return False  # no fault of its own: this hook only watches

    fake.faults = Faults(rate=1.0, only=revoke_at_the_eighth_upload)
    target = f"immich:{fake.url}"
    watch = ("watch", "--once", "--settle", "0s", "--inbox", inbox, "--to", target,
             "--state", state)
    failed = cli(*watch)
    assert failed.code == 1 and failed.err == "", failed.err
    (line,) = [x for x in failed.out.splitlines() if "cycle.done" in x]
    assert "cycle 1 failed" in line and "Invalid API key" in line and secret not in line
    assert "Traceback" not in failed.out
    said = cli("health", "--state", state)
    assert said.code == 1 and "failed" in said.out and "Invalid API key" in said.out
    with State(state, readonly=True) as opened:
        assert not any(r.get("done") for _, r in opened.export_records(target))
    stored = len(fake.owned())
    assert 0 < stored < len(items)

    fake.keys[secret] = key
    fake.faults = Faults()
    again = cli(*watch)
    assert again.code == 0, again.out
    assert "export.imported" in again.out
    check_immich(fake, truth(items), state)  # every item once
    with State(state, readonly=True) as opened:
        assert [r.get("done") for _, r in opened.export_records(target)] == [True]
    assert cli("health", "--state", state).code == 0
