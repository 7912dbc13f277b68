"""Watch mode into a folder library, one cycle at a time (`--once`, as the systemd timer
runs it): the settle clock across runs, unfinished downloads, processed exports moved to
done/ or deleted only after a verify that passed (and passes again), incremental updates,
and bad settings refused in one line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from importer.progressfile import read_json
from importer.state import State
from importer.watch.status import status_path
from tests.conftest import CliResult, library_entries, originals
from tests.exportgen import make_items, write_parts
from tests.watchkit import Delivery, WatchProcess, renamed

STAMP = "20260601T101010Z"


def events(result: CliResult) -> list[dict[str, object]]:
    lines = [line for line in result.out.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON event
    return parsed


def once(cli: Callable[..., CliResult], inbox: Path, library: Path, *extra: str | Path,
         settle: str = "0s") -> tuple[CliResult, list[dict[str, object]]]:
    result = cli("watch", "--once", "--inbox", inbox, "--to", f"folder:{library}",
                 "--settle", settle, "--log-format", "json", *extra)
    assert result.err == "", result.err
    return result, events(result)


def named(found: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [e for e in found if e["event"] == name]


def land(tmp_path: Path, inbox: Path, n: int = 12, seed: int = 51, parts: int = 2,
         stamp: str = STAMP) -> list[Path]:
    generated = write_parts(tmp_path / f"gen-{seed}", make_items(n, seed=seed, albums=2), "zip",
                            parts=parts, seed=seed).sources
    return [Delivery(inbox).copy(p, renamed(p, stamp)) for p in generated]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_settle_clock_lasts_across_one_shot_runs(tmp_path: Path,
                                                 cli: Callable[..., CliResult]) -> None:
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    land(tmp_path, inbox)
    first, found = once(cli, inbox, library, settle="2s")
    assert first.code == 0 and named(found, "export.seen") and not originals(library)
    time.sleep(2.2)
    second, found = once(cli, inbox, library, settle="2s")
    assert second.code == 0, second.out
    assert named(found, "export.imported") and not named(found, "export.seen")
    assert len(originals(library)) == len(library_entries(library)) == 12
    _, found = once(cli, inbox, library, settle="2s")
    assert not named(found, "export.imported") and len(originals(library)) == 12
    assert cli("health", "--to", f"folder:{library}").code == 0


def test_unfinished_download_beside_an_export_holds_it(tmp_path: Path,
                                                       cli: Callable[..., CliResult]) -> None:
    """A browser download not yet named (it may be the last part) holds up the export, is
    reported once, and the export imports once it is gone."""
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    land(tmp_path, inbox)
    pending = inbox / "Unconfirmed 81234.crdownload"
    pending.write_bytes(b"PK\x03\x04 partial")
    for _ in range(2):
        result, found = once(cli, inbox, library)
        assert result.code == 0 and not originals(library)
    waiting = [e for e in found if e["event"] == "export.incomplete"]
    assert waiting == []  # already said in the first run
    status = read_json(status_path(library / ".gphotos-importer" / "state.sqlite"))
    assert status is not None and "Unconfirmed 81234" in json.dumps(status["reported"])
    pending.unlink()
    result, found = once(cli, inbox, library)
    assert named(found, "export.imported") and len(originals(library)) == 12


def test_move_to_done_after_import(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    parts = land(tmp_path, inbox)
    settings = config(tmp_path, "watch:\n  processed: move\n")
    result, found = once(cli, inbox, library, "--config", settings)
    assert result.code == 0, result.out
    assert not any(p.exists() for p in parts)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == sorted(p.name for p in parts)
    _, found = once(cli, inbox, library, "--config", settings)
    assert not named(found, "export.seen")  # done/ is not read
    assert len(originals(library)) == 12


def test_delete_only_after_a_verify_that_passed_and_passes_again(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    parts = land(tmp_path, inbox)
    settings = config(tmp_path, "watch:\n  processed: delete\n  delete_after_days: 3\n")
    result, found = once(cli, inbox, library, "--config", settings)
    assert result.code == 0 and named(found, "export.imported")
    assert all(p.exists() for p in parts), "deleted before delete_after_days"
    state_file = library / ".gphotos-importer" / "state.sqlite"
    with State(state_file) as state:
        (identity, record), = state.export_records(f"folder:{library}")
        assert isinstance(record["verified_at"], float)
        record["verified_at"] -= 4 * 86400  # the verify passed four days ago
        state.put_export(f"folder:{library}", identity, record)
    victim = originals(library)[0]
    victim.rename(victim.with_name("moved away.jpg"))  # now one item is not where it was
    result, found = once(cli, inbox, library, "--config", settings)
    assert named(found, "export.kept") and all(p.exists() for p in parts)
    victim.with_name("moved away.jpg").rename(victim)
    result, found = once(cli, inbox, library, "--config", settings)
    assert not named(found, "export.deleted"), "a failed check is retried a day later"
    with State(state_file) as state:
        (identity, record), = state.export_records(f"folder:{library}")
        record["delete_tried"] -= 86400
        state.put_export(f"folder:{library}", identity, record)
    result, found = once(cli, inbox, library, "--config", settings)
    assert named(found, "export.deleted") and not any(p.exists() for p in parts)
    assert len(originals(library)) == 12


def test_incremental_export_updates_the_library(tmp_path: Path,
                                                cli: Callable[..., CliResult]) -> None:
    """What the folder library does today: one file per item, changed values in
    library.jsonl, a new member in its album folder, nothing removed."""
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    items = make_items(10, seed=52, albums=0)
    for item in items[:4]:
        item.albums = ["Trip"]
    first = write_parts(tmp_path / "g1", items, "zip", parts=2, seed=1).sources
    for part in first:
        Delivery(inbox).copy(part, renamed(part, STAMP))
    assert once(cli, inbox, library)[0].code == 0
    items[0].favorite = not items[0].favorite
    items[1].description = "edited in Google Photos"
    newcomer = make_items(1, seed=53, albums=0)[0]
    newcomer.albums = ["Trip"]
    later = [items[0], items[1], newcomer]
    for item in later[:2]:
        item.albums = []  # back in the year folder only
    second = write_parts(tmp_path / "g2", later, "tgz", parts=1, seed=2).sources
    Delivery(inbox).copy(second[0], renamed(second[0], "20260801T101010Z"))
    result, found = once(cli, inbox, library)
    assert result.code == 0 and named(found, "export.imported")
    entries = {e["google_url"]: e for e in library_entries(library)}
    assert len(entries) == len(originals(library)) == 11
    assert entries[items[0].url]["favorite"] is items[0].favorite
    assert entries[items[1].url]["description"] == "edited in Google Photos"
    trip = [p for p in (library / "albums" / "Trip").iterdir() if not p.name.startswith(".")]
    assert len(trip) == 5  # four kept, one added


@pytest.mark.parametrize(("flags", "message"), [
    (("--interval", "10x"), "`watch.interval`: '10x' is not a duration"),
    (("--settle=-5s",), "`watch.settle`: '-5s' is not a duration"),
    (("--inbox", "/nonexistent/inbox"), "--inbox /nonexistent/inbox: no such folder"),
])
def test_bad_settings_are_one_line(tmp_path: Path, cli: Callable[..., CliResult],
                                   flags: tuple[str, ...], message: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    args = ["watch", "--inbox", inbox, "--to", f"folder:{tmp_path / 'lib'}", *flags]
    result = cli(*args)
    assert result.code == 2
    assert message in result.err and result.err.count("\n") == 1, result.err
    assert not (tmp_path / "lib").exists()


def test_a_second_watch_on_the_same_state_is_refused(tmp_path: Path,
                                                     cli: Callable[..., CliResult]) -> None:
    import fcntl

    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    state = library / ".gphotos-importer" / "state.sqlite"
    state.parent.mkdir(parents=True)
    with open(state.with_name("state.sqlite.watch.lock"), "w") as held:
        held.write("4242")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        result = cli("watch", "--once", "--inbox", inbox, "--to", f"folder:{library}")
    assert result.code == 2 and "another watch is using this state (pid 4242)" in result.err


def test_watch_web_serves_the_page_of_the_state_it_fills(tmp_path: Path) -> None:
    """`watch --web` serves the page beside the loop: it answers while watch runs, shows
    the items the loop imported, and goes away when watch stops."""
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    state = library / ".gphotos-importer" / "state.sqlite"
    watch = WatchProcess(inbox, f"folder:{library}", state, tmp_path / "watch.log",
                         "--web", "127.0.0.1:0")
    try:
        url = str(watch.wait_for("web.started")[0]["url"])
        assert httpx.get(url, timeout=10).status_code == 200
        land(tmp_path, inbox)
        watch.wait_for("export.imported")
        page = httpx.get(url, timeout=10).text
        assert "imported" in page and ">12<" in page.replace(" ", ""), page
    finally:
        assert watch.stop() == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


@pytest.mark.parametrize("address", [":99999", "127.0.0.1:70000"])
def test_a_web_address_out_of_range_is_a_warning_and_watch_goes_on(
        tmp_path: Path, cli: Callable[..., CliResult], address: str) -> None:
    """`watch --web` with a port no socket can have: one warning naming it, the page is
    left out, and the cycle imports as without it."""
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    land(tmp_path, inbox)
    result, found = once(cli, inbox, library, "--web", address)
    assert result.code == 0, result.out
    (warning,) = named(found, "web.unavailable")
    assert address in str(warning["message"]) and "`web.port`" in str(warning["message"])
    assert named(found, "export.imported") and not named(found, "web.started")
