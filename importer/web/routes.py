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


def build(web: core.Web, page: Page) -> list[Route]:
    def overview(request: Request) -> Response:
        return page(request, "overview.html", data=data.overview(web.state_file),
                    imports=data.imports(web.state_file))

    def counts(request: Request) -> Response:
        return page(request, "_counts.html", data=data.overview(web.state_file))

    def live(request: Request) -> Response:
        return page(request, "_imports.html", imports=data.imports(web.state_file))

    def progress_json(request: Request) -> Response:
        return JSONResponse(data.imports(web.state_file))

    def problem_page(request: Request) -> Response:
        loaded, shown, filters = core.problems_view(web, request)
        return page(request, "problems.html", runs=loaded.runs, total=len(loaded.problems),
                    groups=problems.grouped(shown), shown=len(shown), filters=filters,
                    outcomes=sorted({p.outcome for p in loaded.problems}))

    def problem_csv(request: Request) -> Response:
        _, shown, _ = core.problems_view(web, request)
        return Response(problems.as_csv(shown), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 'attachment; filename="gphotos-importer-problems.csv"'})

    def reclaim(request: Request) -> Response:
        return page(request, "reclaim.html", **_plan_context(web))

    def month(request: Request) -> Response:
        context = _plan_context(web)
        plan = context.get("plan")
        key = request.query_params.get("month", "")
        if plan is None or plan.get("id") != request.query_params.get("plan"):
            return Response("The plan changed; reload the page.", 409)
        found = [m for m in context["months"] if m.key == key]
        indices = found[0].indices if found else []
        return page(request, "_tiles.html", plan=plan,
                    tiles=[(i, plan["items"][i]) for i in indices])

    def apply_status(request: Request) -> Response:
        return page(request, "_apply.html", **_plan_context(web))

    async def approve(request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return core.error("send a JSON object")
        answer: Response = await _in_thread(core.approve, web, body)
        return answer

    async def apply(request: Request) -> Response:
        body = await _json(request)
        found = web.plan()
        if body is None or found is None:
            return core.error("there is no reclaim plan to apply", 404)
        try:
            await _in_thread(web.runner.start, found[0], str(body.get("plan")))
        except PlanError as exc:
            return core.error(str(exc), 409)
        return JSONResponse({"started": True})

    def thumb(request: Request) -> Response:
        return core.thumb(web, request.path_params["plan"], request.path_params["index"])

    return [
        Route("/", overview), Route("/fragments/counts", counts),
        Route("/fragments/imports", live), Route("/api/progress", progress_json),
        Route("/problems", problem_page), Route("/problems.csv", problem_csv),
        Route("/reclaim", reclaim), Route("/fragments/month", month),
        Route("/fragments/apply", apply_status),
        Route("/reclaim/approve", approve, methods=["POST"]),
        Route("/reclaim/apply", apply, methods=["POST"]),
        Route("/thumbs/{plan}/{index:int}", thumb),
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
    return {"plan": plan, "plan_path": path, "plan_error": None, "months": plans.months(plan),
            "summary": plans.summary(plan), "apply": web.runner.status(path),
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
