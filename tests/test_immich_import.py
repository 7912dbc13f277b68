"""Issue 5 end to end: a generated export imported into (fake) Immich through the command
line lands as the truth says; a re-run sends next to nothing; faults and a killed run
leave nothing duplicated and nothing missing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from importer.state import State
from tests.conftest import REPO, CliResult, cli_command
from tests.exportgen import GeneratedExport, make_items, write_folder, write_zip_parts
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Faults
from tests.immich_server import Server

LISTING = ("/api/albums", "/api/search", "/api/assets/bulk-upload-check")


@pytest.fixture
def fake(immich_each: FakeImmich) -> FakeImmich:
    """Each test runs against both dialects (conftest's strict fake)."""
    return immich_each


def remote_ids(state_path: Path, target: str) -> dict[str, str]:
    """Google URL -> Immich asset id, as the state recorded them."""
    with State(state_path, readonly=True) as state:
        return {r.identity: r.on(target).remote_id for r in state.items()  # type: ignore[misc]
                if r.on(target) is not None and r.on(target).done}  # type: ignore[union-attr]


def check_immich(fake: FakeImmich, export: GeneratedExport, state_path: Path) -> None:
    """Every item once, with its date, place, caption, flags and albums; read through the
    API (as a real server would be read), plus the fake's own count of assets."""
    server = Server(fake.url, fake.api_key)
    ids = remote_ids(state_path, f"immich:{fake.url}")
    truth = export.by_url()
    assert sorted(ids) == sorted(truth)
    assert len(set(ids.values())) == len(truth) == len(fake.owned())
    album_names = {a["id"]: a["albumName"] for a in server.get("/albums")}
    assert sorted(album_names.values()) == sorted(export.albums)
    for url, asset_id in ids.items():
        item, data = truth[url], server.asset(asset_id)
        exif = data["exifInfo"]
        taken = datetime.fromisoformat(exif["dateTimeOriginal"].replace("Z", "+00:00"))
        assert taken == item.taken_at, url
        if item.location is None:
            assert exif["latitude"] is None and exif["longitude"] is None
        else:
            assert (exif["latitude"], exif["longitude"]) == pytest.approx(item.location)
        assert (exif["description"] or None) == item.description
        assert data["isFavorite"] is item.favorite
        assert (data["visibility"] == "archive") is item.archived
        names = sorted(album_names[a] for a in server.album_ids_of(asset_id))
        assert names == sorted(item.albums), url
    server.client.close()


def target_stats(output: str) -> dict[str, int]:
    line = next(x for x in output.splitlines() if x.strip().startswith("target:"))
    return {k.strip(): int(v) for k, v in re.findall(r"([a-z ]+?) (\d+)", line.split(":", 1)[1])}


def config(tmp_path: Path, timeout: float = 20.0) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"immich:\n  timeout: {timeout}\n", encoding="utf-8")
    return path


def test_import_matches_truth_and_rerun_is_nearly_free(tmp_path: Path, fake: FakeImmich,
                                                       cli: Callable[..., CliResult]) -> None:
    export = write_zip_parts(tmp_path / "parts", make_items(60, seed=21), parts=3, seed=21)
    state = tmp_path / "state.sqlite"
    args = ("import", *export.sources, "--to", f"immich:{fake.url}", "--state", state,
            "--workers", "3")
    first = cli(*args)
    assert first.code == 0, first.out + first.err
    check_immich(fake, export, state)
    assert target_stats(first.out)["uploaded"] == 60

    before = len(fake.requests)
    again = cli(*args)
    assert again.code == 0 and "Nothing new to import" in again.out
    stats = target_stats(again.out)
    assert stats["uploaded"] == stats["albums created"] == 0
    assert stats["http requests"] == 2, again.out  # version, key
    rerun_paths = [path for _, path, _ in fake.requests[before:]]
    assert len(rerun_paths) == stats["http requests"]
    assert not [p for p in rerun_paths if p.startswith(LISTING)], rerun_paths
    check_immich(fake, export, state)


def test_ten_percent_of_requests_failing(tmp_path: Path, fake: FakeImmich,
                                         cli: Callable[..., CliResult]) -> None:
    export = write_folder(tmp_path / "export", make_items(80, seed=33))
    state = tmp_path / "state.sqlite"
    fake.faults = Faults(rate=0.10, kinds=("500", "503", "429", "reset", "reset_after",
                                           "timeout"), stall=1.0, seed=5,
                         only=lambda r: r.route != "/server/version")
    result = cli("import", *export.sources, "--to", f"immich:{fake.url}", "--state", state,
                 "--workers", "4", "--config", config(tmp_path, timeout=0.5))
    injected = dict(fake.faults.injected)
    fake.faults = Faults()
    assert result.code == 0, result.out + result.err
    assert sum(injected.values()) >= 5 and len(injected) >= 3, injected
    assert target_stats(result.out)["http retries"] > 0
    check_immich(fake, export, state)


def test_changes_in_google_follow_on_rerun(tmp_path: Path, fake: FakeImmich,
                                           cli: Callable[..., CliResult]) -> None:
    items = make_items(12, seed=8, albums=2)
    state = tmp_path / "state.sqlite"
    target = ("--to", f"immich:{fake.url}", "--state", state)
    assert cli("import", write_folder(tmp_path / "e1", items).sources[0], *target).code == 0
    items[0].favorite = not items[0].favorite
    items[1].archived = not items[1].archived
    items[2].description = "edited in Google Photos"
    items[3].albums = [*items[3].albums, "A brand new album"]
    second = write_folder(tmp_path / "e2", items)
    result = cli("import", second.sources[0], *target)
    assert result.code == 0, result.out
    assert target_stats(result.out)["uploaded"] == 0
    check_immich(fake, second, state)


def test_verify_marks_items_and_names_the_missing(tmp_path: Path, fake: FakeImmich,
                                                  cli: Callable[..., CliResult]) -> None:
    export = write_folder(tmp_path / "export", make_items(8, seed=4))
    state = tmp_path / "state.sqlite"
    target = ("--to", f"immich:{fake.url}", "--state", state)
    assert cli("import", export.sources[0], *target).code == 0
    ok = cli("verify", *target)
    assert ok.code == 0 and "verified 8 item(s)" in ok.out
    ids = sorted(remote_ids(state, f"immich:{fake.url}").values())
    server = Server(fake.url, fake.api_key)
    server.trash(ids[0])
    server.trash(ids[1], force=True)
    server.client.close()
    bad = cli("verify", *target)
    assert bad.code == 1 and "verified 6 item(s)" in bad.out and "2 missing" in bad.out
    assert "missing: " in bad.out and ids[0] in bad.out and ids[1] in bad.out


@pytest.mark.slow
def test_sigkill_midway_then_rerun_is_exact(tmp_path: Path) -> None:
    items = make_items(150, seed=12, pad=60_000)
    export = write_zip_parts(tmp_path / "parts", items, parts=2, seed=12)
    state = tmp_path / "state.sqlite"
    with FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        fake.faults = Faults(delay=0.01)  # slow enough to be caught mid-way
        env = {**os.environ, "IMMICH_API_KEY": fake.api_key, "PYTHONPATH": str(REPO)}
        command = cli_command("import", *export.sources, "--to", f"immich:{fake.url}",
                              "--state", state, "--workers", "2")
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(fake.owned()) < 30 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, "the first run must be killed mid-way"
        assert 0 < len(fake.owned()) < len(items)

        fake.faults = Faults()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        check_immich(fake, export, state)
        assert fake.rejected == [] and fake.violations == []


def test_key_revoked_mid_run_stops_with_the_permission_named(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult]) -> None:
    export = write_folder(tmp_path / "export", make_items(40, seed=3))
    state = tmp_path / "state.sqlite"
    upload = fake.handlers[("POST", "/assets")]
    key = fake.keys[fake.api_key]

    def revoke_after_ten(request: Any) -> Any:
        if len(fake.owned()) >= 10:
            key.permissions = ["asset.read", "album.read"]
        return upload(request)

    fake.handlers[("POST", "/assets")] = revoke_after_ten
    result = cli("import", *export.sources, "--to", f"immich:{fake.url}", "--state", state,
                 "--workers", "2")
    assert result.code == 3  # the target stopped the run (2 means nothing was touched)
    # Album jobs run beside the uploads (issue 14): whichever request comes first after the
    # key lost its rights names the permission it lacked.
    assert re.search(r"Missing required permission: (asset\.(upload|update)|user\.read|"
                     r"album\.create|albumAsset\.create)", result.err)
    assert result.err.strip().count("\n") == 0
    recorded = remote_ids(state, f"immich:{fake.url}")
    assert 0 < len(recorded) < 40  # what finished before is recorded
    assert set(recorded.values()) <= {a.id for a in fake.owned()}
    fake.handlers[("POST", "/assets")] = upload
    key.permissions = ["all"]
    assert cli("import", *export.sources, "--to", f"immich:{fake.url}", "--state", state).code == 0
    check_immich(fake, export, state)


def test_copies_from_the_phone_app_are_adopted_and_verify(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult]) -> None:
    """Originals the Immich phone app already uploaded are found by their checksum (before
    we add metadata to our copy), adopted, not uploaded again, and `verify` accepts them."""
    import hashlib

    import httpx

    items = make_items(6, seed=12)
    export = write_folder(tmp_path / "export", items)
    for item in items[:3]:
        data = item.content()
        form = {"fileCreatedAt": "2020-01-01T00:00:00Z", "fileModifiedAt": "2020-01-01T00:00:00Z"}
        if fake.v2:
            form |= {"deviceAssetId": item.name, "deviceId": "phone"}
        answer = httpx.post(f"{fake.url}/api/assets", headers={"x-api-key": fake.api_key},
                            data=form, files={"assetData": (item.name, data, "image/jpeg")})
        assert answer.status_code == 201, answer.text
    state = tmp_path / "state.sqlite"
    target = ("--to", f"immich:{fake.url}", "--state", state)
    result = cli("import", export.sources[0], *target)
    assert result.code == 0, result.out
    assert target_stats(result.out)["uploaded"] == 3
    assert len(fake.owned()) == 6
    with State(state, readonly=True) as opened:
        written = {r.identity: r.on(f"immich:{fake.url}").written_sha1  # type: ignore[union-attr]
                   for r in opened.items()}
    for item in items[:3]:  # the state names the bytes that are really on the server
        assert written[item.url] == hashlib.sha1(item.content()).hexdigest()
    verified = cli("verify", *target)
    assert verified.code == 0 and "verified 6 item(s)" in verified.out, verified.out
