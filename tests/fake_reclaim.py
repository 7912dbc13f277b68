"""Stands in for `gphotos-importer reclaim --apply PLAN --to TARGET --state FILE` (issue 10)
in the page's tests until that command lands: it checks its arguments, "trashes" what the
real one would (approved `trash` items when the plan carries approvals), slowly, writing
`<PLAN>.progress.json` as the real one will, and records what it trashed beside the plan."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def write(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    if argv[:2] != ["reclaim", "--apply"] or argv[3] != "--to" or argv[5] != "--state":
        print(f"fake reclaim: unexpected arguments {argv}", file=sys.stderr)
        return 2
    plan_path = Path(argv[2])
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    if plan["target"] != argv[4]:
        print("fake reclaim: --to is not the plan's target", file=sys.stderr)
        return 2
    items = [i for i in plan["items"] if i["decision"] == "trash"]
    if any("approved" in i for i in plan["items"]):
        items = [i for i in items if i.get("approved") is True]
    progress = plan_path.with_name(plan_path.name + ".progress.json")
    record = plan_path.with_name(plan_path.name + ".trashed.json")
    trashed: list[str] = []
    state = {"plan_id": plan["id"], "pid": os.getpid(), "state": "running",
             "total": len(items), "done": 0, "trashed": 0, "kept": 0, "failed": 0,
             "current": None, "message": "starting"}
    pause = float(os.environ.get("FAKE_RECLAIM_PAUSE", "0.4"))
    for n, item in enumerate(items):
        state.update(current=item["file"], message=f"trashing {item['file']}",
                     updated=datetime.now(UTC).isoformat())
        write(progress, state)
        time.sleep(pause)
        trashed.append(item["google_url"])
        record.write_text(json.dumps(trashed), encoding="utf-8")
        state.update(done=n + 1, trashed=n + 1)
    state.update(state="finished", current=None, message=f"trashed {len(trashed)} item(s)",
                 updated=datetime.now(UTC).isoformat())
    write(progress, state)
    print(f"trashed {len(trashed)} item(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
