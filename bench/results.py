"""bench/RESULTS.md holds one section per benchmark between `<!-- begin:NAME -->` and
`<!-- end:NAME -->`, so each script rewrites only its own figures."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nEach section says the command that reproduces it.\n"


def write_section(name: str, text: str) -> None:
    block = f"<!-- begin:{name} -->\n{text.strip()}\n<!-- end:{name} -->"
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- begin:{re.escape(name)} -->.*?<!-- end:{re.escape(name)} -->",
                         re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: block, current)
    else:
        current = current.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(current.rstrip("\n") + "\n", encoding="utf-8")
