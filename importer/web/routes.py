"""URL -> handler table of the page. Handlers are plain functions (Starlette runs them in
its thread pool); `page` renders a template with the shared `web` context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from importer.reclaim.planfile import PlanError, plan_dir
from importer.web import app as core
from importer.web import data, plans, problems

Page = Callable[..., Response]


class _Handlers:
    """The page's handlers, each given the request only; `web` and `page` are shared."""

    def __init__(self, web: core.Web, page: Page) -> None:
        self.web = web
        self.page = page

    def overview(self, request: Request) -> Response:
        return self.page(request, "overview.html", data=data.overview(self.web.state_file),
                         imports=data.imports(self.web.state_file))

    def counts(self, request: Request) -> Response:
        return self.page(request, "_counts.html", data=data.overview(self.web.state_file))

    def live(self, request: Request) -> Response:
        return self.page(request, "_imports.html", imports=data.imports(self.web.state_file))

    def progress_json(self, request: Request) -> Response:
        return JSONResponse(data.imports(self.web.state_file))

    def problem_page(self, request: Request) -> Response:
        loaded, shown, filters = core.problems_view(self.web, request)
        return self.page(request, "problems.html", runs=loaded.runs,
                         total=len(loaded.problems), groups=problems.grouped(shown),
                         shown=len(shown), filters=filters,
                         outcomes=sorted({p.outcome for p in loaded.problems}))

    def problem_csv(self, request: Request) -> Response:
        _, shown, _ = core.problems_view(self.web, request)
        return Response(problems.as_csv(shown), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 'attachment; filename="gphotos-importer-problems.csv"'})

    def reclaim(self, request: Request) -> Response:
        return self.page(request, "reclaim.html", **_plan_context(self.web))

    def month(self, request: Request) -> Response:
        context = _plan_context(self.web)
        plan = context.get("plan")
        key = request.query_params.get("month", "")
        if plan is None or plan.get("id") != request.query_params.get("plan"):
            return Response("The plan changed; reload the page.", 409)
        found = [m for m in context["months"] if m.key == key]
        indices = found[0].indices if found else []
        return self.page(request, "_tiles.html", plan=plan,
                         tiles=[(i, plan["items"][i]) for i in indices])

    def apply_status(self, request: Request) -> Response:
        return self.page(request, "_apply.html", **_plan_context(self.web))

    async def approve(self, request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return core.error("send a JSON object")
        answer: Response = await _in_thread(core.approve, self.web, body)
        return answer

    async def apply(self, request: Request) -> Response:
        body = await _json(request)
        found = self.web.plan()
        if body is None or found is None:
            return core.error("there is no reclaim plan to apply", 404)
        try:
            await _in_thread(self.web.runner.start, found[0], str(body.get("plan")))
        except PlanError as exc:
            return core.error(str(exc), 409)
        return JSONResponse({"started": True})

    def thumb(self, request: Request) -> Response:
        return core.thumb(self.web, request.path_params["plan"], request.path_params["index"])


def build(web: core.Web, page: Page) -> list[Route]:
    h = _Handlers(web, page)
    return [
        Route("/", h.overview), Route("/fragments/counts", h.counts),
        Route("/fragments/imports", h.live), Route("/api/progress", h.progress_json),
        Route("/problems", h.problem_page), Route("/problems.csv", h.problem_csv),
        Route("/reclaim", h.reclaim), Route("/fragments/month", h.month),
        Route("/fragments/apply", h.apply_status),
        Route("/reclaim/approve", h.approve, methods=["POST"]),
        Route("/reclaim/apply", h.apply, methods=["POST"]),
        Route("/thumbs/{plan}/{index:int}", h.thumb),
    ]


def _plan_context(web: core.Web) -> dict[str, Any]:
    try:
        found = web.plan()
    except PlanError as exc:
        return {"plan": None, "plan_error": str(exc), "months": []}
    if found is None:
        return {"plan": None, "plan_error": None, "months": [],
                "plans_dir": plan_dir(web.state_file)}
    path, plan = found
    groups = web.months(plan)
    return {"plan": plan, "plan_path": path, "plan_error": None, "months": groups,
            "summary": plans.summary(plan, groups), "apply": web.runner.status(path),
            "running": web.runner.running(path),
            "preview_problem": web.previews.problem(str(plan.get("target", "")))}


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
