"""The options and settings every command shares (`importer.cli` and the reclaim commands
both build sub-commands from them)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from importer.config import Settings, build_settings

DEBUG_ENV = "GPHOTOS_IMPORTER_DEBUG"


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML settings; command-line flags override it")
    parser.add_argument("--state", metavar="FILE", help="state database (default: see README)")
    debug_option(parser)


def debug_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=f"show the traceback of an internal error (or set {DEBUG_ENV}=1)")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from --config, overridden by the flags every command shares and `extra`."""
    flags: dict[str, Any] = {
        "to": getattr(args, "to", None),
        "state": args.state,
        "sources": getattr(args, "sources", None),
        "report": getattr(args, "report", None),
        "dry_run": getattr(args, "dry_run", None),
        "workers": getattr(args, "workers", None),
        "source": getattr(args, "source", None),
        "album": getattr(args, "album", None),
        **extra,
    }
    return build_settings(args.config, flags)
