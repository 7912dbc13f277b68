"""Run the fake Immich in a process of its own, so the importer's threads and the server's
do not share one interpreter lock: one JSON line {"url", "key"} on stdout, then serve
until stdin closes (the benchmark closes it, or dies)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.immich import FakeImmich


def main() -> None:
    dialect = sys.argv[1] if len(sys.argv) > 1 else "v3"
    fake = FakeImmich(dialect)
    fake.start()
    print(json.dumps({"url": fake.url, "key": fake.api_key}), flush=True)
    try:
        sys.stdin.read()
    finally:
        fake.stop()
        problems = fake.rejected + fake.violations
        print(json.dumps({"assets": len(fake.assets), "albums": len(fake.albums),
                          "problems": problems[:5]}), flush=True)


if __name__ == "__main__":
    main()
