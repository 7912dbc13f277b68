"""Config file -> typed settings: env references, secrets, flag overrides, precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.config import ConfigError, build_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return path


def test_full_file_with_env_references(tmp_path: Path) -> None:
    path = _write(tmp_path, """
sources: [/data/takeout]
to: immich:http://immich:2283
workers: 6
immich:
  api_key: ${IMMICH_KEY_FROM_ENV}
takeout:
  include_trashed: true
  untitled_albums: skip
metadata:
  prefer_google: [location]
""")
    settings = build_settings(path, {}, {"IMMICH_KEY_FROM_ENV": "secret-1"})
    assert settings.sources == ["/data/takeout"]
    assert settings.to == "immich:http://immich:2283"
    assert settings.workers == 6
    assert settings.immich.api_key == "secret-1"
    assert settings.takeout.include_trashed is True
    assert settings.takeout.untitled_albums == "skip"
    assert settings.metadata.prefer_google == ["location"]


def test_flags_override_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "workers: 6\nto: folder:/a\n")
    settings = build_settings(path, {"workers": 2, "to": "folder:/b", "report": None}, {})
    assert (settings.workers, settings.to, settings.report) == (2, "folder:/b", None)


def test_secrets_from_environment_and_files(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("pp-token\n")
    env = {"IMMICH_API_KEY": "k", "PHOTOPRISM_TOKEN_FILE": str(secret),
           "PHOTOPRISM_USERNAME": "admin"}
    settings = build_settings(None, {}, env)
    assert settings.immich.api_key == "k"
    assert settings.photoprism.token == "pp-token"
    assert settings.photoprism.username == "admin"
    assert settings.photoprism.password is None


def test_config_value_wins_over_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, "immich:\n  api_key: from-file\n")
    assert build_settings(path, {}, {"IMMICH_API_KEY": "env"}).immich.api_key == "from-file"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers: '3'\n", "`workers`: Input should be a valid integer"),
        ("workers: 0\n", "`workers`: Input should be greater than or equal to 1"),
        ("wrokers: 3\n", "unknown setting `wrokers`"),
        ("takeout:\n  untitled_albums: maybe\n", "`takeout.untitled_albums`"),
        ("takeout: yes\n", "`takeout`"),
        ("dry_run: 'yes'\n", "`dry_run`: Input should be a valid boolean"),
        ("sources: /one/path\n", "`sources`: Input should be a valid list"),
        ("photoprism:\n  token: ${MISSING}\n", "`photoprism.token` refers to ${MISSING}"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        build_settings(path, {}, {})
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_flag_out_of_range_is_rejected() -> None:
    with pytest.raises(ConfigError, match="workers"):
        build_settings(None, {"workers": 0}, {})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        build_settings(tmp_path / "nope.yaml", {}, {})
