"""Run the importer's command line and print its own peak memory (VmHWM) last.

Why not the parent's os.wait4 or getrusage: Linux carries the resident size a child had
between fork and exec (a copy of the benchmark's own pages) into ru_maxrss, while VmHWM
belongs to the address space exec created, so it is the importer's alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importer.cli import main


def peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


if __name__ == "__main__":
    code = main(sys.argv[1:])
    print(f"peak-kib {peak_kib()}", flush=True)
    sys.exit(code)
