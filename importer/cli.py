"""Command line: parse, build typed settings, run, map failures to exit codes.

Each command is one entry of `COMMANDS`: a function that adds its sub-parser and sets
`handler` (what runs it). A new command adds an entry instead of editing `main`.

Exit codes (README, "Exit codes"; constants in `faults`):
  0    all done
  1    some items failed (the others were imported and recorded; run again to retry)
  2    usage or configuration error, found before anything was touched
  3    the target stopped the run (unreachable, gone, credentials refused)
  4    no space left (on the target, for the state, or for temporary files)
  5    internal error: a bug (`--debug` or GPHOTOS_IMPORTER_DEBUG=1 shows the traceback)
  6    the state could not be read or written mid-run (damaged, held by another program)
  130  interrupted by Ctrl-C; 143 stopped by SIGTERM
A run that stops early still prints its summary, writes its report and names the cause in
one line; whatever happens, no traceback is printed unless asked for.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from adapters.base import AuthError, GalleryError, TargetUnavailable
from importer import __version__, faults
from importer.admin import restore_state, show_status, verify
from importer.cliargs import DEBUG_ENV, common_options, debug_option, settings_from
from importer.config import ConfigError, merge_section
from importer.faults import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from importer.google_errors import GoogleAuthError, PickerError
from importer.reclaim.command import add_login, add_reclaim
from importer.run import run_import
from importer.safetext import shown
from importer.sources.parts import SourceError
from importer.state import StateError
from importer.ui import console

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]
USAGE_ERRORS = (ConfigError, SourceError, StateError, TargetUnavailable, AuthError,
                GoogleAuthError, PickerError)
Handler = Callable[[argparse.Namespace, Console], int]


def _add_import(commands: Any) -> None:
    imp = commands.add_parser("import", help="import a Takeout export into a target")
    imp.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="Takeout part (.zip, .tgz), folder of parts, or extracted export")
    imp.add_argument("--to", metavar="TARGET", help="folder:DIR, immich:URL or photoprism:URL")
    imp.add_argument("--report", metavar="FILE", help="write the run report as JSON")
    imp.add_argument("--dry-run", action="store_true", default=None,
                     help="print the plan; change nothing")
    imp.add_argument("--workers", type=int, metavar="N", help="parallel uploads (default 4)")
    imp.add_argument("--from", dest="source", choices=("takeout", "picker"),
                     help="takeout (default: the SOURCE parts) or picker (pick items in "
                          "Google Photos; run `auth google` first)")
    imp.add_argument("--album", metavar="TITLE", help="with --from picker: album to put the "
                                                      "picked items in")
    common_options(imp)
    imp.set_defaults(
        handler=lambda args, out: run_import(settings_from(args), out, console(stderr=True)))


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


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="the local web page: progress, problems, "
                                              "reclaim review")
    serve.add_argument("--to", metavar="TARGET", help="target whose default state to show")
    serve.add_argument("--bind", metavar="ADDRESS",
                       help="address to listen on (default 127.0.0.1; any other needs a token)")
    serve.add_argument("--port", type=int, metavar="PORT", help="port (default 8765)")
    common_options(serve)

    def run(args: argparse.Namespace, out: Console) -> int:
        from importer.web.server import serve as serve_page

        return serve_page(settings_from(args), out, bind=args.bind, port=args.port,
                          config_file=args.config)

    serve.set_defaults(handler=run)


def _add_auth(commands: Any) -> None:
    auth = commands.add_parser("auth", help="let gphotos-importer read what you pick in "
                                            "Google Photos (for import --from picker)")
    auth.add_argument("provider", choices=("google",))
    auth.add_argument("--client-secrets", type=Path, metavar="FILE", required=True,
                      help="the OAuth client JSON (a Desktop app client) from Google Cloud")
    auth.add_argument("--console", action="store_true",
                      help="no browser here (SSH): print the link, paste back the address")
    auth.add_argument("--port", type=int, metavar="N",
                      help="loopback port for Google's redirect (default: any free one)")
    auth.add_argument("--no-browser", action="store_true",
                      help="print the link instead of opening a browser")
    common_options(auth)
    auth.set_defaults(handler=_auth)


def _auth(args: argparse.Namespace, out: Console) -> int:
    from importer.google_auth import run_auth  # loads Google's OAuth libraries

    return run_auth(settings_from(args), args.client_secrets, out, console=args.console,
                    port=args.port, open_browser=not args.no_browser)


def _add_watch(commands: Any) -> None:
    watch = commands.add_parser("watch", help="import every complete export that lands in a "
                                "folder, for as long as it runs")
    watch.add_argument("--inbox", metavar="DIR", help="folder the exports are delivered to")
    watch.add_argument("--to", metavar="TARGET", help="folder:DIR, immich:URL or photoprism:URL")
    watch.add_argument("--interval", metavar="TIME", help="time between looks (default 10m; "
                       "s, m, h units)")
    watch.add_argument("--settle", metavar="TIME", help="quiet time before an export counts "
                       "as complete (default 5m)")
    watch.add_argument("--log-format", choices=("text", "json"), help="log lines as text "
                       "(default) or JSON")
    watch.add_argument("--once", action="store_true", help="one cycle, then exit (for a "
                       "systemd timer); exit 1 if it failed")
    watch.add_argument("--web", nargs="?", const="", metavar="ADDRESS",
                       help="also serve the web page (default: web.bind and web.port, "
                            "127.0.0.1:8765)")
    watch.add_argument("--workers", type=int, metavar="N", help="parallel uploads (default 4)")
    common_options(watch)

    def handle(args: argparse.Namespace, out: Console) -> int:
        flags = {"inbox": args.inbox, "interval": args.interval, "settle": args.settle,
                 "log_format": args.log_format}
        settings = merge_section(settings_from(args), "watch", flags)
        from importer.watch import run_watch  # only for this command (start-up, issue 14)

        return run_watch(settings, once=args.once, web=args.web, config_file=args.config)

    watch.set_defaults(handler=handle)


def _add_health(commands: Any) -> None:
    check = commands.add_parser("health", help="is watch working? exit 0 if its last cycle "
                                "went well within twice the interval")
    check.add_argument("--to", metavar="TARGET", help="target whose default state to read")
    common_options(check)

    def handle(args: argparse.Namespace, out: Console) -> int:
        try:
            settings = settings_from(args)
        except USAGE_ERRORS as exc:  # exit 2 is reserved in Docker health checks
            out.print(f"unhealthy: {exc}", markup=False)
            return EXIT_FAILED
        from importer.watch import health

        return health(settings, out)

    check.set_defaults(handler=handle)



def _add_restore_state(commands: Any) -> None:
    restore = commands.add_parser(
        "restore-state", help="put the newest intact backup of a damaged state in its place")
    restore.add_argument("--to", metavar="TARGET", help="target whose default state to restore")
    common_options(restore)
    restore.set_defaults(handler=lambda args, out: restore_state(settings_from(args), out))


COMMANDS: tuple[Callable[[Any], None], ...] = (
    _add_import, _add_status, _add_verify, _add_restore_state, _add_serve, _add_auth,
    _add_watch, _add_health, add_reclaim, add_login)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gphotos-importer",
        description="Move a Google Photos library (from Takeout) into Immich, PhotoPrism or a "
                    "folder, and keep it there.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    debug_option(parser)
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
        stop = faults.fatal(exc) if faults.disk_full(exc) else None
        if stop is not None:  # e.g. no space to create the state: nothing was touched
            _error(err, f"stopped: {stop.cause}")
            return stop.code
        _error(err, f"error: {exc}")
        return EXIT_USAGE
    except GalleryError as exc:  # the target failed a command outside an import's items
        _error(err, f"error: {exc}")
        return faults.EXIT_TARGET
    except KeyboardInterrupt:
        _error(err, "interrupted; items finished so far are recorded")
        return faults.EXIT_INTERRUPTED
    except BrokenPipeError:  # `| head` closed the output: nothing more to say to anyone
        _silence_stdout()
        return EXIT_FAILED
    except Exception as exc:
        return _unexpected(exc, err, _debugging(args))


def _error(err: Console, text: str) -> None:
    err.print(shown(f"gphotos-importer: {text}"), markup=False, highlight=False)


def _debugging(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _unexpected(exc: Exception, err: Console, debug: bool) -> int:
    """One line (and the exit code of its kind); the traceback only when asked for."""
    stop = faults.fatal(exc)
    if stop is not None:
        _error(err, f"stopped: {stop.cause}")
        return stop.code
    if debug:
        for block in traceback.format_exception(exc):
            for line in block.splitlines():
                sys.stderr.write(shown(line) + "\n")
    hint = "" if debug else f" (run with --debug or {DEBUG_ENV}=1 for details)"
    _error(err, f"internal error: {faults.describe(exc)}; please report this bug{hint}")
    return faults.EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
