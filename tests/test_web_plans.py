"""Issue 11: approvals written into the reclaim plan change exactly the items asked for,
never a kept one, keep everything else of the file, and survive concurrent writers."""

from __future__ import annotations

import copy
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.reclaim import planfile
from importer.reclaim.planfile import PlanError
from importer.web import plans
from importer.web.plans import month_of, set_approval

MONTHS = ["2019-07-04T10:15:00+01:00", "2019-07-30T23:30:00-05:00", "2021-05-01T18:30:00+02:00",
          "2023-08-09T16:34:49-04:00", None, "not a date"]

item_strategy = st.fixed_dictionaries({
    "taken_at": st.sampled_from(MONTHS),
    "decision": st.sampled_from(["trash", "keep"]),
    "size": st.integers(0, 10**9),
}, optional={"approved": st.booleans(), "extra": st.text(max_size=5)})

change_strategy = st.tuples(st.sampled_from(["item", "month", "all"]), st.integers(0, 30),
                            st.sampled_from(MONTHS), st.booleans())


def write(path: Path, items: list[dict[str, Any]]) -> dict[str, Any]:
    for n, item in enumerate(items):
        item.setdefault("google_url", f"https://photos.google.com/photo/x{n}")
        item.setdefault("file", f"IMG_{n}.jpg")
    plan = {"id": "plan-1", "created": "2026-01-01T00:00:00+00:00", "target": "folder:/x",
            "state": "planned", "older_than_days": 30, "items": items, "future_key": [1, 2]}
    path.write_text(json.dumps(plan), encoding="utf-8")
    return plan


def in_scope(n: int, item: dict[str, Any], scope: str, key: str) -> bool:
    return item["decision"] == "trash" and (
        scope == "all" or (scope == "month" and month_of(item) == key)
        or (scope == "item" and str(n) == key))


def expected_after(plan: dict[str, Any], scope: str, key: str, approved: bool) -> dict[str, Any]:
    """The model: only `trash` items in scope get `approved`; nothing else changes."""
    model = copy.deepcopy(plan)
    for n, item in enumerate(model["items"]):
        if in_scope(n, item, scope, key):
            item["approved"] = approved
    return model


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(item_strategy, min_size=1, max_size=25),
       changes=st.lists(change_strategy, min_size=1, max_size=6))
def test_approvals_change_exactly_the_items_in_scope(tmp_path: Path, items: list[dict[str, Any]],
                                                     changes: list[tuple[str, int, str | None,
                                                                         bool]]) -> None:
    path = tmp_path / "plan-1.json"
    model = write(path, items)
    for scope, index, taken, approved in changes:
        key = {"all": "", "month": month_of({"taken_at": taken}), "item": str(index)}[scope]
        wanted = expected_after(model, scope, key, approved)
        refused = scope == "item" and (index >= len(items) or items[index]["decision"] != "trash")
        if refused:
            with pytest.raises(PlanError):
                set_approval(path, "plan-1", scope, key, approved)  # type: ignore[arg-type]
            wanted = model
        else:
            changed, summary = set_approval(path, "plan-1", scope, key, approved)  # type: ignore[arg-type]
            assert changed == [n for n, item in enumerate(model["items"])
                               if in_scope(n, item, scope, key)]
            assert summary["approved"] == len(plans.approved_items(wanted))
        on_disk = json.loads(path.read_text(encoding="utf-8"))
        assert on_disk == wanted
        model = wanted
        kept = [item for item in on_disk["items"] if item["decision"] == "keep"]
        assert kept == [item for item in items if item["decision"] == "keep"]


def test_plan_file_is_private_and_another_plan_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "plan-1.json"
    write(path, [{"taken_at": MONTHS[0], "decision": "trash"}])
    set_approval(path, "plan-1", "all", "", True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_text(encoding="utf-8")
    with pytest.raises(PlanError, match="another plan"):
        set_approval(path, "plan-0", "all", "", False)
    assert path.read_text(encoding="utf-8") == before
    with pytest.raises(PlanError, match="changed"):
        set_approval(path, "plan-1", "item", "0", False, expected_url="https://elsewhere")


def test_concurrent_writers_lose_no_change(tmp_path: Path) -> None:
    """Many threads approving one item each (plus a writer from "reclaim" taking the same
    lock): every approval is in the file at the end."""
    path = tmp_path / "plan-1.json"
    count = 40
    write(path, [{"taken_at": MONTHS[0], "decision": "trash"} for _ in range(count)])
    errors: list[BaseException] = []

    def approve(index: int) -> None:
        try:
            set_approval(path, "plan-1", "item", str(index), True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def other_writer() -> None:
        for _ in range(10):
            with planfile.locked(path):
                plan = planfile.read_raw(path)
                plan["state"] = "touched"
                planfile.write_raw(path, plan)

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(count)]
    threads.append(threading.Thread(target=other_writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    plan = planfile.read_raw(path)
    assert [item.get("approved") for item in plan["items"]] == [True] * count
    assert plan["state"] == "touched"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_latest_plan_is_the_newest_name(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    folder = planfile.plan_dir(state)
    folder.mkdir()
    for name in ("plan-20250101T000000Z.json", "plan-20260301T000000Z.json",
                 "plan-20260301T000000Z.json.progress.json", "plan-20260301T000000Z.json.lock",
                 "plan-20260302T000000Z.progress.json"):
        (folder / name).write_text("{}", encoding="utf-8")
    latest = planfile.latest_plan(state)
    assert latest is not None and latest.name == "plan-20260301T000000Z.json"


def test_months_newest_first_undated_last() -> None:
    plan = {"items": [{"taken_at": t, "decision": "trash", "size": 1} for t in MONTHS]}
    keys = [m.key for m in plans.months(plan)]
    assert keys == ["2023-08", "2021-05", "2019-07", "undated"]
    assert month_of({"taken_at": "2019-07-31T23:30:00-05:00"}) == "2019-07"  # its own offset
