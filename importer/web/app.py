"""The Starlette app: pages, the fragments the page's own JavaScript swaps in, and actions.

Starlette + Jinja2 (under uvicorn): small, well kept, sync handlers run in a thread pool
(the state and plan files are read with blocking I/O), templates escape by default.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from importer.config import Settings
from importer.reclaim.planfile import PlanError, latest_plan, read_raw
from importer.units import readable_bytes
from importer.web import data, plans, problems
from importer.web.apply import ApplyRunner
from importer.web.security import Access, Guard

HERE = Path(__file__).parent
THUMB_HEADERS = {"Cache-Control": "private, max-age=3600",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                            "sandbox"}


@dataclass
class Web:
    """Everything the handlers share."""

    state_file: Path
    settings: Settings
    access: Access
    runner: ApplyRunner
    previews: data.Previews
    _plans: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = field(default_factory=dict)
    _months: tuple[dict[str, Any], list[plans.Month]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self) -> tuple[Path, dict[str, Any]] | None:
        """The latest plan, parsed once per version of the file (a plan of 100k items is
        tens of MB; thumbnails ask for it once per tile)."""
        path = latest_plan(self.state_file)
        if path is None:
            return None
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._plans.get(path)
            if cached is not None and cached[0] == version:
                return path, cached[1]
        plan = read_raw(path)
        with self._lock:
            self._plans = {path: (version, plan)}
        return path, plan

    def months(self, plan: dict[str, Any]) -> list[plans.Month]:
        """The plan's months, grouped once per version of the plan (the apply fragment is
        refreshed every second while the page is open)."""
        with self._lock:
            if self._months is not None and self._months[0] is plan:
                return self._months[1]
        groups = plans.months(plan)
        with self._lock:
            self._months = (plan, groups)
        return groups


def create_app(state_file: Path, settings: Settings, access: Access, *,
               config_file: Path | None = None) -> Starlette:
    web = Web(state_file, settings, access, ApplyRunner(state_file, config_file),
              data.Previews(settings))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters["bytes"] = readable_bytes
    env.filters["duration"] = data.readable_seconds
    env.globals["csrf_token"] = access.csrf

    def page(request: Request, name: str, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"web": web, **context})

    from importer.web import routes  # the handlers, bound to this app's `web` and `page`

    app = Starlette(
        routes=[*routes.build(web, page),
                Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")],
        middleware=[Middleware(Guard, access=access)],
        lifespan=_closing(web),
    )
    app.state.web = web
    return app


def _closing(web: Web) -> Any:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        web.previews.close()

    return lifespan


def error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def thumb(web: Web, plan_id: str, index: int) -> Response:
    found = web.plan()
    if found is None or found[1].get("id") != plan_id:
        return Response(status_code=404)
    items = found[1]["items"]
    if not 0 <= index < len(items):
        return Response(status_code=404)
    item = items[index]
    ref, target = item.get("gallery_ref"), found[1].get("target")
    if not isinstance(ref, str) or not isinstance(target, str):
        return Response(status_code=404)
    body, mime = web.previews.get(target, ref)
    return Response(body, media_type=mime, headers=THUMB_HEADERS)


def approve(web: Web, body: dict[str, Any]) -> JSONResponse:
    found = web.plan()
    if found is None:
        return error("there is no reclaim plan", 404)
    path = found[0]
    scope = body.get("scope")
    if scope not in ("item", "month", "all") or not isinstance(body.get("approved"), bool):
        return error("scope must be item, month or all, and approved true or false")
    if web.runner.running(path):
        return error("the plan is being applied; approvals can change after it ends", 409)
    try:
        changed, summary = plans.set_approval(
            path, str(body.get("plan")), scope, str(body.get("key", "")), body["approved"],
            body.get("url") if isinstance(body.get("url"), str) else None)
    except PlanError as exc:
        return error(str(exc), 409)
    return JSONResponse({"changed": changed, "approved": body["approved"], "summary": summary})


def problems_view(web: Web, request: Request) -> tuple[problems.Runs, list[problems.Problem],
                                                          dict[str, str]]:
    filters = {key: request.query_params.get(key, "") for key in ("outcome", "run", "text",
                                                                   "group")}
    loaded = problems.load(web.state_file)
    return loaded, problems.matching(loaded.problems, **filters), filters
