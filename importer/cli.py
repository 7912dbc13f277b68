"""Command line: parse, build typed settings, run, map failures to exit codes.

Exit codes: 0 all done, 1 some items failed, 2 usage or configuration error (nothing was
imported and the state was not touched).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.base import AuthError, TargetUnavailable
from importer import __version__
from importer.admin import show_status, verify
from importer.config import ConfigError, Settings, build_settings
from importer.run import run_import
from importer.sources.parts import SourceError
from importer.state import StateError
from importer.ui import console

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
USAGE_ERRORS = (ConfigError, SourceError, StateError, TargetUnavailable, AuthError)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML settings; command-line flags override it")
    parser.add_argument("--state", metavar="FILE", help="state database (default: see README)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gphotos-importer",
        description="Move a Google Photos library (from Takeout) into Immich, PhotoPrism or a "
                    "folder, and keep it there.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = commands.add_parser("import", help="import a Takeout export into a target")
    imp.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="Takeout part (.zip, .tgz), folder of parts, or extracted export")
    imp.add_argument("--to", metavar="TARGET", help="folder:DIR, immich:URL or photoprism:URL")
    imp.add_argument("--report", metavar="FILE", help="write the run report as JSON")
    imp.add_argument("--dry-run", action="store_true", default=None,
                     help="print the plan; change nothing")
    imp.add_argument("--workers", type=int, metavar="N", help="parallel uploads (default 4)")
    _common(imp)

    status = commands.add_parser("status", help="what the state holds")
    status.add_argument("--to", metavar="TARGET", help="target whose default state to read")
    status.add_argument("--json", action="store_true", help="print the counts as JSON")
    _common(status)

    ver = commands.add_parser("verify", help="check imported items are on the target")
    ver.add_argument("--to", metavar="TARGET", help="target to check")
    _common(ver)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags: dict[str, Any] = {
        "to": args.to,
        "state": args.state,
        "sources": getattr(args, "sources", None),
        "report": getattr(args, "report", None),
        "dry_run": getattr(args, "dry_run", None),
        "workers": getattr(args, "workers", None),
    }
    return build_settings(args.config, flags)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = console()
    err = console(stderr=True)
    try:
        settings = _settings(args)
        if args.command == "import":
            return run_import(settings, out)
        if args.command == "status":
            return show_status(settings, out, as_json=args.json)
        return verify(settings, out)
    except USAGE_ERRORS as exc:
        err.print(f"gphotos-importer: error: {exc}", markup=False, highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("gphotos-importer: interrupted; finished items are recorded", markup=False)
        return 130


if __name__ == "__main__":
    sys.exit(main())
