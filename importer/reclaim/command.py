"""The `reclaim` and `login` commands: arguments in, exit code out.

Every problem the user can fix (a bad plan file, no browser, signed out, a plan for
another target) ends in one line naming it, never a traceback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from importer.cliargs import common_options, settings_from
from importer.config import ConfigError, Settings
from importer.reclaim import ReclaimError, browser_failure
from importer.run import state_path
from importer.state import State
from importer.ui import console

LATEST = "latest"
RESTORE_HELP = ("To undo: open https://photos.google.com/trash within 60 days of the date "
                "shown, select the items and click Restore.")


def add_reclaim(commands: Any) -> None:
    cmd = commands.add_parser(
        "reclaim", help="plan, then trash in Google Photos what the gallery verifiably holds")
    cmd.add_argument("--to", metavar="TARGET", help="the gallery holding the copies")
    cmd.add_argument("--plan", type=Path, metavar="FILE",
                     help="where to write the plan (default: <state dir>/reclaim/)")
    cmd.add_argument("--older-than", type=int, metavar="DAYS", dest="older_than",
                     help="keep items newer than this (default reclaim.older_than_days, 30)")
    cmd.add_argument("--limit", type=int, metavar="N", help="plan at most N items to trash")
    cmd.add_argument("--apply", nargs="?", const=LATEST, metavar="PLAN",
                     help="trash the plan's items (default: the latest plan)")
    cmd.add_argument("--list-trashed", action="store_true",
                     help="list what this tool trashed, with URLs and dates")
    common_options(cmd)
    cmd.set_defaults(handler=run_reclaim)


def add_login(commands: Any) -> None:
    cmd = commands.add_parser("login", help="sign the reclaim browser in to Google once")
    cmd.add_argument("service", choices=["google"], help="where to sign in")
    cmd.add_argument("--cookies", type=Path, metavar="FILE",
                     help="import a cookies.txt from your signed-in browser (headless)")
    cmd.add_argument("--to", metavar="TARGET",
                     help="the gallery you reclaim for (its state directory keeps the sign-in)")
    common_options(cmd)
    cmd.set_defaults(handler=run_login)


def run_reclaim(args: argparse.Namespace, out: Console) -> int:
    settings = settings_from(args)
    given = [flag for flag, on in (("--apply", args.apply is not None),
                                   ("--list-trashed", args.list_trashed)) if on]
    if len(given) > 1:
        raise ConfigError("give either --apply or --list-trashed, not both")
    if args.limit is not None and args.limit < 0:
        raise ConfigError("--limit: give 0 or more items")
    if args.older_than is not None and args.older_than < 0:
        raise ConfigError("--older-than: give 0 or more days")
    return _guarded(lambda: _dispatch(settings, args, out))


def _dispatch(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    if args.list_trashed:
        return list_trashed(settings, out)
    if args.apply is not None:
        from importer.reclaim.apply import apply_plan

        return apply_plan(settings, _plan_to_apply(settings, args.apply), out)
    from importer.reclaim.planning import PlanRequest, make_plan  # not on every start-up

    days = settings.reclaim.older_than_days if args.older_than is None else args.older_than
    make_plan(settings, PlanRequest(days, args.limit, args.plan), out)
    return 0


def _plan_to_apply(settings: Settings, given: str) -> Path:
    from importer.reclaim.planfile import latest_plan
    from importer.reclaim.planning import require_target

    if given != LATEST:
        return Path(given).expanduser()
    require_target(settings)
    found = latest_plan(state_path(settings))
    if found is None:
        raise ReclaimError(f"no plan in {state_path(settings).parent / 'reclaim'}; run "
                           "`gphotos-importer reclaim --to TARGET` first")
    return found


def run_login(args: argparse.Namespace, out: Console) -> int:
    settings = settings_from(args)
    from importer.reclaim.login import login_cookies, login_visible

    if args.cookies is not None:
        return _guarded(lambda: login_cookies(settings, args.cookies, out))
    return _guarded(lambda: login_visible(settings, out))


def _guarded(action: Any) -> int:
    """Our one-line errors to stderr with exit 2 (nothing was trashed because of them);
    the browser dying under us is a failed run (exit 1), still one line."""
    err = console(stderr=True)
    try:
        return int(action())
    except ReclaimError as exc:
        err.print(f"gphotos-importer: error: {exc}", markup=False, highlight=False)
        return 2
    except Exception as exc:
        failure = browser_failure(exc)
        if failure is None:
            raise
        err.print(f"gphotos-importer: error: {failure}", markup=False, highlight=False)
        return 1


def list_trashed(settings: Settings, out: Console, as_json: bool = False) -> int:
    path = state_path(settings)
    with State(path, readonly=True) as state:
        rows = sorted(state.all_trashed(), key=lambda r: str(r.get("when")))
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False, indent=1), markup=False)
        return 0
    if not rows:
        out.print(f"Nothing trashed with state {path}.", markup=False, highlight=False)
        return 0
    for row in rows:
        name = row.get("title") or row.get("file") or ""
        out.print(f"{row.get('when')}  {row.get('url')}  {name}  ({row.get('how')}, plan "
                  f"{row.get('plan_id')})", markup=False, highlight=False)
    out.print(f"{len(rows)} item(s) trashed. {RESTORE_HELP}", markup=False, highlight=False)
    return 0
