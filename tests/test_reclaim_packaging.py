"""The UI text files are package data: an installed wheel (not only this checkout) can
find them, or reclaim would stop on every machine it was pip-installed on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_the_wheel_ships_the_ui_text_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("importer", "adapters"):
        shutil.copytree(REPO / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # setuptools' own build step, as a wheel build runs it (no network, no `wheel` needed)
    done = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()",
                           "-q", "build_py", "-d", str(tmp_path / "out")],
                          cwd=source, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for language in ("en", "de", "fr"):
        assert (tmp_path / "out" / "importer" / "reclaim" / "ui" / f"{language}.json").is_file()
