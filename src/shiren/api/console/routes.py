"""The console's pages under ``/console``: thin handlers over ``services.console`` and ``services.review``.

Each handler reads its form or query, calls one use case in the thread pool, and renders one template;
roles and tenants are checked by the use cases themselves (``domain.roles``), errors become pages in
``web.error_page``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shiren.api.console import web
from shiren.api.console.charts import stats_charts
from shiren.api.console.i18n import locale_of, translator
from shiren.api.console.manage_routes import add_manage_routes
from shiren.api.console.web import PREFIX, Page, redirect, render
from shiren.api.h5.assets import asset_response, load_asset, security_headers
from shiren.domain.decision import STATUS_MESSAGES
from shiren.domain.review import APPROVE_REASONS, OVERRIDE_REASONS, REJECT_REASONS
from shiren.domain.roles import Permission
from shiren.runtime import Runtime
from shiren.services import review
from shiren.services.console import accounts, cases, records, stats
from shiren.services.errors import Invalid, Throttled, Unauthenticated
from shiren.storage.repo.scenes import list_scenes

PACKAGE = "shiren.api.console"
SEARCH_FIELDS = (
    "biz_id",
    "token",
    "scene",
    "status",
    "sub_code",
    "review",
    "from",
    "to",
    "user_id",
    "tenant",
)


def _int(value: str | None, field: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid(field, "must be a number") from None


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(field, "a date is YYYY-MM-DD") from None


def _search(values: dict[str, str]) -> records.RecordSearch:
    return records.RecordSearch(
        tenant_id=_int(values.get("tenant"), "tenant"),
        biz_id=values.get("biz_id", ""),
        token=values.get("token", ""),
        scene_id=_int(values.get("scene"), "scene"),
        status=values.get("status", ""),
        sub_code=values.get("sub_code", ""),
        review=values.get("review", ""),
        date_from=_day(values.get("from"), "from"),
        date_to=_day(values.get("to"), "to"),
        user_id=values.get("user_id", ""),
    )


def make_console_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    guard = web.make_guard(runtime)

    def scenes_of(page: Page) -> list[dict[str, object]]:
        with runtime.sessions() as session:
            tenant = None if page.actor.can(Permission.ALL_TENANTS) else page.actor.tenant_id
            return [
                {"id": s.id, "biz_type": s.biz_type, "name": s.name, "tenant_id": s.tenant_id}
                for s in list_scenes(session, tenant)[:500]
            ]

    @router.get("/static/console.css")
    def console_css(request: Request) -> Response:
        return asset_response(request, load_asset(PACKAGE, "console.css"))

    # Sign-in, sign-out, password

    @router.get("/login")
    def login_form(request: Request) -> Response:
        token = web.login_token(request)
        page = render(request, "login.html", login_csrf=token, expired=request.query_params.get("expired"))
        web.set_login_cookie(request, page, token)
        return page

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not web.same_origin(request):
            return render(
                request, "error.html", status_code=403, title="Refused", message="cross-site request"
            )
        form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
        if not web.tokens_match(str(form.get("csrf", "")), request.cookies.get(web.LOGIN_COOKIE)):
            return render(request, "error.html", status_code=403, title="Refused",
                          message="the form expired; open the page again")  # fmt: skip
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        try:
            signed = await run_in_threadpool(
                accounts.sign_in, runtime, name, password, web.remote_of(request)
            )
        except (Unauthenticated, Throttled) as exc:
            status = 429 if isinstance(exc, Throttled) else 401
            error = "Wrong name or password." if isinstance(exc, Unauthenticated) else exc.message
            return render(request, "login.html", status_code=status, error=error,
                          login_csrf=request.cookies.get(web.LOGIN_COOKIE), name=name)  # fmt: skip
        target = f"{PREFIX}/password" if signed.must_change_password else f"{PREFIX}/"
        response = redirect(target)
        web.set_session_cookie(request, response, signed.token, runtime.settings.console_session_max_s)
        response.delete_cookie(web.LOGIN_COOKIE, path=PREFIX)
        return response

    async def logout(page: Page) -> Response:
        await run_in_threadpool(accounts.sign_out, runtime, page.opened)
        response = redirect(f"{PREFIX}/login")
        web.clear_session_cookie(page.request, response)
        return response

    router.add_api_route("/logout", guard(logout, True), methods=["POST"])

    async def password_form(page: Page) -> Response:
        return page.render("password.html", forced=page.opened.must_change_password)

    async def password_change(page: Page) -> Response:
        new = page.form.get("new_password", "")
        if new != page.form.get("repeat_password", ""):
            raise Invalid("repeat_password", "the two new passwords differ")
        await run_in_threadpool(
            accounts.change_password, runtime, page.opened, page.form.get("current_password", ""), new
        )
        return redirect(f"{PREFIX}/")

    router.add_api_route("/password", guard(password_form, True), methods=["GET"])
    router.add_api_route("/password", guard(password_change, True), methods=["POST"])

    async def home(page: Page) -> Response:
        if page.actor.can(Permission.REVIEW) and not page.actor.can(Permission.OVERRIDE):
            return redirect(f"{PREFIX}/queue")
        return redirect(f"{PREFIX}/records")

    router.add_api_route("/", guard(home), methods=["GET"])

    # Records

    async def records_page(page: Page) -> Response:
        values = {k: page.request.query_params.get(k, "") for k in SEARCH_FIELDS}
        search = _search(values)
        found = await run_in_threadpool(
            records.search_records,
            runtime,
            page.actor,
            search,
            after=page.request.query_params.get("after") or None,
            limit=runtime.settings.console_page_size,
        )
        kept = {k: v for k, v in values.items() if v}
        next_url = (
            f"{PREFIX}/records?{urlencode({**kept, 'after': found.next_cursor})}"
            if found.next_cursor
            else None
        )
        return page.render(
            "records.html",
            found=found,
            values=values,
            scenes=scenes_of(page),
            statuses=STATUS_MESSAGES,
            sub_codes=tuple(records.SUB_CODE_STATUSES),
            review_states=records.REVIEW_STATES,
            next_url=next_url,
            first_url=f"{PREFIX}/records?{urlencode(kept)}"
            if page.request.query_params.get("after")
            else None,
        )

    async def export(page: Page) -> Response:
        search = _search({k: page.form.get(k, "") for k in SEARCH_FIELDS})
        body, _count = await run_in_threadpool(records.export_records, runtime, page.actor, search)
        headers = security_headers(html=False)
        headers["Cache-Control"] = "no-store"
        headers["Content-Disposition"] = 'attachment; filename="shiren-records.csv"'
        return Response("\ufeff" + body, media_type="text/csv; charset=utf-8", headers=headers)

    router.add_api_route("/records", guard(records_page), methods=["GET"])
    router.add_api_route("/records/export", guard(export), methods=["POST"])

    # Cases

    async def case_page(page: Page) -> Response:
        token = page.request.path_params["token"]
        view = await run_in_threadpool(cases.view_case, runtime, page.actor, token)
        return page.render(
            "case.html",
            case=view,
            statuses=STATUS_MESSAGES,
            approve_reasons=APPROVE_REASONS,
            reject_reasons=REJECT_REASONS,
            override_reasons=OVERRIDE_REASONS,
            override_statuses=review.OVERRIDE_STATUSES,
        )

    async def case_media(page: Page) -> Response:
        params = page.request.path_params
        media = await run_in_threadpool(
            cases.read_case_media, runtime, page.actor, params["token"], params["blob"]
        )
        headers = security_headers(html=False)
        headers["Cache-Control"] = "no-store"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return Response(media.data, media_type=media.content_type, headers=headers)

    async def case_review(page: Page) -> Response:
        token = page.request.path_params["token"]
        await run_in_threadpool(
            review.decide_held,
            runtime,
            page.actor,
            token,
            page.form.get("decision", ""),
            page.form.get("reason", ""),
            page.form.get("comment", ""),
        )
        return redirect(f"{PREFIX}/cases/{token}")

    async def case_override(page: Page) -> Response:
        token = page.request.path_params["token"]
        status = _int(page.form.get("status"), "status")
        await run_in_threadpool(
            review.override,
            runtime,
            page.actor,
            token,
            status if status is not None else 0,
            page.form.get("reason", ""),
            page.form.get("comment", ""),
        )
        return redirect(f"{PREFIX}/cases/{token}")

    async def case_resend(page: Page) -> Response:
        params = page.request.path_params
        await run_in_threadpool(
            cases.resend_callback, runtime, page.actor, params["token"], int(params["outbox"])
        )
        return redirect(f"{PREFIX}/cases/{params['token']}")

    router.add_api_route("/cases/{token}", guard(case_page), methods=["GET"])
    router.add_api_route("/cases/{token}/media/{blob}", guard(case_media), methods=["GET"])
    router.add_api_route("/cases/{token}/review", guard(case_review), methods=["POST"])
    router.add_api_route("/cases/{token}/override", guard(case_override), methods=["POST"])
    router.add_api_route("/cases/{token}/callbacks/{outbox:int}/resend", guard(case_resend), methods=["POST"])

    # Review queue

    async def queue_page(page: Page) -> Response:
        items, total = await run_in_threadpool(review.review_queue, runtime, page.actor, limit=100)
        return page.render("queue.html", items=items, total=total)

    router.add_api_route("/queue", guard(queue_page), methods=["GET"])

    # Statistics

    async def stats_page(page: Page) -> Response:
        q = page.request.query_params
        today = datetime.now(UTC).date()
        end = _day(q.get("to"), "to") or today
        start = _day(q.get("from"), "from") or end - timedelta(days=29)
        figures = await run_in_threadpool(
            stats.statistics,
            runtime,
            page.actor,
            start=start,
            end=end,
            tenant_id=_int(q.get("tenant"), "tenant"),
            scene_id=_int(q.get("scene"), "scene"),
        )
        return page.render(
            "stats.html",
            figures=figures,
            charts=stats_charts(figures, translator(locale_of(page.request))),
            values={"from": start.isoformat(), "to": end.isoformat(), "scene": q.get("scene", ""),
                    "tenant": q.get("tenant", "")},
            scenes=scenes_of(page),
        )  # fmt: skip

    router.add_api_route("/stats", guard(stats_page), methods=["GET"])
    add_manage_routes(router, runtime, guard)
    return router
