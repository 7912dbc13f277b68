"""Issue 9: control characters and terminal escape sequences in file names, album titles
and captions are escaped in everything printed, and no message repeats a secret, even one
malformed in the config or echoed by a server."""

from __future__ import annotations

import json
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.cli import main
from importer.safetext import MASK, add_secret, json_shown, redact, shown
from tests.conftest import CliResult
from tests.exportgen import PRODUCT, unique_jpeg
from tests.fakes.immich import FakeImmich

HOSTILE = ["\x1b[31m", "\x1b]0;pwned\x07", "\r", "\b", "\x9b2J", "\u202e", "\x7f",
           "\u2028", "\udcff"]
UNSAFE_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> bool:
    """What a terminal shows as is: no control, surrogate, separator or bidi character
    other than the line breaks of our own layout."""
    return all(c == "\n" or (unicodedata.category(c) not in UNSAFE_CATEGORIES
                             and c not in BIDI) for c in text)


@given(st.text())
def test_shown_text_is_printable_and_encodable(text: str) -> None:
    out = shown(text)
    assert printable(out.replace("\n", "")) and "\n" not in out
    out.encode("utf-8")  # a lone surrogate would raise here


@given(st.text().filter(lambda t: printable(t.replace("\n", "x")) and "://" not in t))
def test_safe_text_is_shown_unchanged(text: str) -> None:
    assert shown(text.replace("\n", " ")) == text.replace("\n", " ")


@given(st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=4))
def test_json_shown_stays_valid_json(data: dict[str, str]) -> None:
    text = json_shown(json.dumps(data, ensure_ascii=False, indent=1))
    assert printable(text) and json.loads(text) == data


def test_registered_secrets_and_url_passwords_are_masked() -> None:
    add_secret("k3y-Very-Secret-42")
    assert redact("refused k3y-Very-Secret-42 (401)") == f"refused {MASK} (401)"
    assert redact("cannot connect to https://ann:hunter2@photos.example/api") == (
        f"cannot connect to https://ann:{MASK}@photos.example/api")


# -- hostile names, titles and captions through the command line -------------------------------

names = st.lists(st.sampled_from([*HOSTILE, "a", "é", " ", "-", "📷"]), min_size=1,
                 max_size=10).map("".join).filter(
    lambda s: bool(s.strip()) and len(s.encode("utf-8", "surrogateescape")) < 150)


def hostile_export(root: Path, name: str) -> Path:
    """A photo named, captioned and in an album titled `name`, and files that are no
    photos (reported by name in the summary)."""
    folder = root / PRODUCT / "Photos from 2020"
    album = root / PRODUCT / "Album"
    for where in (folder, album):
        where.mkdir(parents=True, exist_ok=True)
    photo = f"{name}.jpg"
    sidecar = {"title": photo, "description": name, "url": "https://photos.google.com/photo/h1",
               "photoTakenTime": {"timestamp": "1593000000"}}
    for where in (folder, album):
        (where / photo).write_bytes(unique_jpeg("hostile"))
        (where / f"{photo}.supplemental-metadata.json").write_text(
            json.dumps(sidecar, ensure_ascii=False), encoding="utf-8", errors="surrogateescape")
    (album / "metadata.json").write_text(json.dumps({"title": name}, ensure_ascii=False),
                                         encoding="utf-8", errors="surrogateescape")
    (folder / f"{name} broken.jpg").write_bytes(b"not a photo at all, only text " * 10)
    (folder / f"{name} empty.jpg").write_bytes(b"")  # reported by name, with a reason
    return root


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_hostile_names_are_escaped_in_everything_printed(
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        export = hostile_export(root / "export", name)
        library = root / "library"
        runs = (["import", str(export), "--to", f"folder:{library}", "--dry-run"],
                ["import", str(export), "--to", f"folder:{library}"],
                ["status", "--to", f"folder:{library}"])
        for args in runs:
            capsys.readouterr()
            assert main(args) in (0, 1)  # a hostile name fails an item at worst, no more
            out, err = capsys.readouterr()
            assert printable(out) and printable(err), (args, out, err)
            assert "Traceback" not in out + err


# -- secrets -------------------------------------------------------------------------------------

SECRET_PLACES = [("immich", "api_key"), ("photoprism", "token"), ("photoprism", "password")]
malformed = st.one_of(
    st.integers(min_value=10**7), st.floats(min_value=1e6, allow_nan=False),
    st.lists(st.text(min_size=8, max_size=20, alphabet="abcdefXYZ0123456789"), min_size=1,
             max_size=3),
    st.dictionaries(st.just("value"), st.text(min_size=8, max_size=20,
                                              alphabet="abcdefXYZ0123456789"), min_size=1))


def pieces(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in pieces(v)]
    if isinstance(value, list):
        return [p for v in value for p in pieces(v)]
    return [str(value), repr(value)]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(SECRET_PLACES), value=malformed, whole_section=st.booleans())
def test_a_malformed_secret_is_never_repeated(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              place: tuple[str, str], value: Any,
                                              whole_section: bool) -> None:
    section, key = place
    data = {section: value if whole_section else {key: value}}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    capsys.readouterr()
    code = main(["import", str(tmp_path), "--to", "folder:/nonexistent/lib",
                 "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "config.yaml" in err
    for piece in pieces(value):
        assert piece not in out + err


@pytest.mark.parametrize("key", ["abc\ndef-secret-1", "tab\tsecret-2", "ünïcode-secret-3",
                                 "spaced secret 4"])
def test_a_key_no_http_header_can_carry_is_refused_without_showing_it(
        cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("IMMICH_API_KEY", key)
    result = cli("import", "/nonexistent", "--to", "immich:http://127.0.0.1:9")
    assert result.code == 2 and "IMMICH_API_KEY" in result.err
    assert result.err.count("\n") == 1
    for part in key.split():
        assert part not in result.err


@pytest.fixture
def echoing_immich(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImmich]:
    """A server whose refusal quotes the key it was given (some proxies do)."""
    with FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setattr(fake, "authenticate", lambda request: fake._error(
            401, f"Invalid API key {request.headers.get('x-api-key')}"))
        yield fake


def test_a_secret_echoed_by_the_server_is_masked(tmp_path: Path,
                                                 cli: Callable[..., CliResult],
                                                 echoing_immich: FakeImmich,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "wrong-key-0123456789abcdef"
    monkeypatch.setenv("IMMICH_API_KEY", secret)
    export = tmp_path / "export"
    export.mkdir()
    result = cli("import", export, "--to", f"immich:{echoing_immich.url}",
                 "--state", tmp_path / "s.sqlite")
    assert result.code == 2 and "rejected the API key" in result.err
    assert secret not in result.out + result.err and MASK in result.err
