"""Start-up cost (issue 14): a run with nothing new reads the export and the state, nothing
else, so it must not pay for libraries only other paths need: timezonefinder (numpy) is
for placing GPS positions in a time zone, rich's live progress bar for terminals, YAML for
`--config`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SAMPLE

HEAVY = ("timezonefinder", "numpy", "rich.progress", "yaml")
OTHER_COMMANDS = ("importer.watch", "importer.web", "importer.sources.picker",
                  "importer.google_auth", "importer.reclaim.", "playwright", "google.",
                  "googleapiclient", "jinja2", "starlette", "uvicorn")
"""What `import` itself never needs: the other commands and their libraries (watch, the
web page, the Picker, Google sign-in, reclaim's planning and browser). `importer.reclaim`
itself (one exception class) and `importer.reclaim.command` (its arguments) may load."""
PROBE = """
import json, sys
from importer.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_cli(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True,
                          text=True, check=False)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_rerun_with_nothing_new_loads_no_heavy_library(tmp_path: Path) -> None:
    library = f"folder:{tmp_path / 'library'}"
    first = run_cli("import", str(SAMPLE), "--to", library)
    assert first["code"] == 0 and "timezonefinder" in first["modules"]  # GPS was placed
    again = run_cli("import", str(SAMPLE), "--to", library)
    assert again["code"] == 0
    loaded = [m for m in again["modules"] if m.startswith(HEAVY)]  # type: ignore[union-attr]
    assert loaded == []


def test_import_loads_no_other_commands_code(tmp_path: Path) -> None:
    library = f"folder:{tmp_path / 'library'}"
    for _ in range(2):  # a first import, and a re-run with nothing new
        done = run_cli("import", str(SAMPLE), "--to", library)
        assert done["code"] == 0
        loaded = [m for m in done["modules"]  # type: ignore[union-attr]
                  if m.startswith(OTHER_COMMANDS) and m != "importer.reclaim.command"]
        assert loaded == []
