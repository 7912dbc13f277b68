"""Command line: parse, build typed settings, run, map failures to exit codes.

Each command is one entry of `COMMANDS`: a function that adds its sub-parser and sets
`handler` (what runs it). A new command adds an entry instead of editing `main`.

Exit codes: 0 all done, 1 some items failed, 2 usage or configuration error (nothing was
imported and the state was not touched).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from adapters.base import AuthError, TargetUnavailable
from importer import __version__
from importer.admin import restore_state, show_status, verify
from importer.config import ConfigError, Settings, build_settings
from importer.run import run_import
from importer.sources.parts import SourceError
from importer.state import StateError
from importer.ui import console

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
USAGE_ERRORS = (ConfigError, SourceError, StateError, TargetUnavailable, AuthError)

Handler = Callable[[argparse.Namespace, Console], int]


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML settings; command-line flags override it")
    parser.add_argument("--state", metavar="FILE", help="state database (default: see README)")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from --config, overridden by the flags every command shares and `extra`."""
    flags: dict[str, Any] = {
        "to": getattr(args, "to", None),
        "state": args.state,
        "sources": getattr(args, "sources", None),
        "report": getattr(args, "report", None),
        "dry_run": getattr(args, "dry_run", None),
        "workers": getattr(args, "workers", None),
        **extra,
    }
    return build_settings(args.config, flags)


def _add_import(commands: Any) -> None:
    imp = commands.add_parser("import", help="import a Takeout export into a target")
    imp.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="Takeout part (.zip, .tgz), folder of parts, or extracted export")
    imp.add_argument("--to", metavar="TARGET", help="folder:DIR, immich:URL or photoprism:URL")
    imp.add_argument("--report", metavar="FILE", help="write the run report as JSON")
    imp.add_argument("--dry-run", action="store_true", default=None,
                     help="print the plan; change nothing")
    imp.add_argument("--workers", type=int, metavar="N", help="parallel uploads (default 4)")
    common_options(imp)
    imp.set_defaults(handler=lambda args, out: run_import(settings_from(args), out))


def _add_status(commands: Any) -> None:
    status = commands.add_parser("status", help="what the state holds")
    status.add_argument("--to", metavar="TARGET", help="target whose default state to read")
    status.add_argument("--json", action="store_true", help="print the counts as JSON")
    common_options(status)
    status.set_defaults(
        handler=lambda args, out: show_status(settings_from(args), out, as_json=args.json))


def _add_verify(commands: Any) -> None:
    ver = commands.add_parser("verify", help="check imported items are on the target")
    ver.add_argument("--to", metavar="TARGET", help="target to check")
    common_options(ver)
    ver.set_defaults(handler=lambda args, out: verify(settings_from(args), out))


def _add_restore_state(commands: Any) -> None:
    restore = commands.add_parser(
        "restore-state", help="put the newest intact backup of a damaged state in its place")
    restore.add_argument("--to", metavar="TARGET", help="target whose default state to restore")
    common_options(restore)
    restore.set_defaults(handler=lambda args, out: restore_state(settings_from(args), out))


COMMANDS: tuple[Callable[[Any], None], ...] = (_add_import, _add_status, _add_verify,
                                               _add_restore_state)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gphotos-importer",
        description="Move a Google Photos library (from Takeout) into Immich, PhotoPrism or a "
                    "folder, and keep it there.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = console()
    err = console(stderr=True)
    handler: Handler = args.handler
    try:
        return handler(args, out)
    except USAGE_ERRORS as exc:
        err.print(f"gphotos-importer: error: {exc}", markup=False, highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("gphotos-importer: interrupted; finished items are recorded", markup=False)
        return 130


if __name__ == "__main__":
    sys.exit(main())
