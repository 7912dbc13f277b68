"""What the folder library's self-checks cost on a re-run: the repair pass (a stat per file,
one listing per album), the state's health check when it is opened and its backup when the
run ends, against the whole re-run of an export that brings nothing new.

    .venv/bin/python bench/bench_folder_rerun.py --items 20000
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.folder.target import FolderTarget  # noqa: E402
from bench.results import write_section  # noqa: E402
from importer import statefile  # noqa: E402
from importer.repair import repair_target  # noqa: E402
from importer.report import RunReport  # noqa: E402
from importer.state import State  # noqa: E402
from tests.exportgen import make_items, write_zip_parts  # noqa: E402


def _cli(*args: str | Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "importer.cli", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.monotonic() - started


def _timed(action: object) -> float:
    started = time.monotonic()
    action()  # type: ignore[operator]
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        export = write_zip_parts(base / "parts", make_items(args.items, seed=5, albums=5),
                                 parts=2, seed=5)
        library = base / "library"
        first = _cli("import", *export.sources, "--to", f"folder:{library}")
        rerun = _cli("import", *export.sources, "--to", f"folder:{library}")
        state_file = library / ".gphotos-importer" / "state.sqlite"
        health = _timed(lambda: statefile.check_health(state_file))
        backup = _timed(lambda: statefile.backup(state_file))
        with State(state_file) as state:
            target = FolderTarget(library)
            report = RunReport(target.target)
            repair = _timed(lambda: repair_target(state, target, report))
            target.close()
            report.close()
        size = state_file.stat().st_size / 1e6
    shared = " (other work shared the CPUs)" if load[0] > 1.5 else ""
    text = f"""## Folder library re-run: repair pass, state check and backup (issue 9)

Command: `.venv/bin/python bench/bench_folder_rerun.py --items {args.items}`

Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, \
load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start{shared}

| measure | seconds |
|---|---:|
| first import of {args.items} small photos (for scale) | {first:.1f} |
| re-run, nothing new (whole command) | {rerun:.2f} |
| of which: repair pass over {args.items} items | {repair:.2f} |
| of which: state health check (`quick_check`, {size:.1f} MB state) | {health:.2f} |
| of which: state backup at the end | {backup:.2f} |
"""
    write_section("folder-rerun", text)
    print(text)


if __name__ == "__main__":
    main()
