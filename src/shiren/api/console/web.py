"""The console's HTTP plumbing: templates, the session cookie, CSRF, and the one place service errors
become pages.

Pages are rendered on the server (autoescaped Jinja2) and served under the H5 page's strict CSP: no
inline script or style, nothing from another origin, and never inside a frame (``frame-ancestors
'none'``). The session cookie is HttpOnly, SameSite=Strict, limited to ``/console`` and Secure whenever
the console is reached over https. Every state-changing request is a POST carrying the session's CSRF
token, and a POST whose Origin is another site's is refused before anything else.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shiren.api.console.i18n import LANG_COOKIE, LANGS, locale_of, translator
from shiren.api.h5.assets import CONTENT_TYPES, security_headers
from shiren.domain.roles import Actor, Forbidden, Permission
from shiren.runtime import Runtime
from shiren.services.console import accounts
from shiren.services.errors import Conflict, Invalid, NotFound, ServiceError, Throttled, Unauthenticated

PREFIX = "/console"
SESSION_COOKIE = "shiren_console"
LOGIN_COOKIE = "shiren_console_login"  # the sign-in form's CSRF token (there is no session yet)

_env = Environment(
    loader=PackageLoader("shiren.api.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


_env.filters["when"] = _when
_env.filters["age"] = _age


def remote_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def render(
    request: Request,
    template: str,
    *,
    actor: Actor | None = None,
    csrf: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    locale = locale_of(request)
    body = _env.get_template(template).render(
        t=translator(locale),
        lang=locale,
        langs=LANGS,
        actor=actor,
        csrf=csrf,
        can=(lambda p: actor.can(Permission(p))) if actor else (lambda p: False),
        path=request.url.path,
        prefix=PREFIX,
        **context,
    )
    response = Response(body, status_code=status_code, media_type=CONTENT_TYPES[".html"])
    response.headers.update(security_headers(html=True))
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(
            LANG_COOKIE, locale, path=PREFIX, samesite="strict", httponly=True, secure=secure(request)
        )
    return response


def redirect(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(security_headers(html=True))
    return response


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=secure(request)
    )


def login_token(request: Request) -> str:
    """The sign-in form's CSRF token: the cookie's when there is one, else a new one (double submit)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )


def same_origin(request: Request) -> bool:
    """A POST sent by a page of another site is refused. Browsers say where a request comes from in
    Sec-Fetch-Site; under ``Referrer-Policy: no-referrer`` their Origin is "null", so Origin decides only
    when it names a site (a client without either still needs the CSRF token)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def tokens_match(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and hmac.compare_digest(str(given), str(expected))


class Page:
    """A signed-in request: the actor, the session's CSRF token, and the form of a POST."""

    def __init__(self, request: Request, opened: accounts.OpenSession, form: dict[str, str]) -> None:
        self.request = request
        self.opened = opened
        self.actor = opened.actor
        self.csrf = opened.csrf
        self.form = form

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        return render(
            self.request, template, actor=self.actor, csrf=self.csrf, status_code=status_code, **context
        )


Handler = Callable[[Page], Awaitable[Response]]
# make_guard's result: guard(handler, allow_password_pending=False) -> a Starlette endpoint
Guard = Callable[..., Callable[[Request], Awaitable[Response]]]


def error_page(request: Request, exc: Exception, page: Page | None = None) -> Response:
    """Service errors as pages; anything else is a bug and propagates."""
    actor = page.actor if page else None
    csrf = page.csrf if page else None
    if isinstance(exc, Forbidden):
        return render(request, "error.html", actor=actor, csrf=csrf, status_code=403, title="Not allowed",
                      message=exc.message)  # fmt: skip
    if isinstance(exc, NotFound):
        return render(request, "error.html", actor=actor, csrf=csrf, status_code=404, title="Not found",
                      message=exc.message)  # fmt: skip
    if isinstance(exc, Throttled):
        return render(request, "error.html", actor=actor, csrf=csrf, status_code=429, title="Refused",
                      message=exc.message)  # fmt: skip
    if isinstance(exc, Invalid | Conflict):
        return render(request, "error.html", actor=actor, csrf=csrf,
                      status_code=409 if isinstance(exc, Conflict) else 400, title="Refused",
                      message=exc.message)  # fmt: skip
    raise exc


def make_guard(runtime: Runtime) -> Guard:
    """Wraps a handler: opens the session (else to the sign-in page), forces the first password change,
    checks Origin and CSRF on POST, and maps service errors."""

    def guard(
        handler: Handler, allow_password_pending: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                opened = await run_in_threadpool(
                    accounts.open_session, runtime, request.cookies.get(SESSION_COOKIE), remote_of(request)
                )
            except Unauthenticated as exc:
                target = f"{PREFIX}/login" + ("?expired=1" if exc.expired else "")
                response = redirect(target)
                clear_session_cookie(request, response)
                return response
            form: dict[str, str] = {}
            if request.method == "POST":
                if not same_origin(request):
                    return render(request, "error.html", status_code=403, title="Refused",
                                  message="cross-site request refused")  # fmt: skip
                raw = await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
                form = {k: v for k, v in raw.items() if isinstance(v, str)}
                if not tokens_match(form.get("csrf"), opened.csrf):
                    return render(request, "error.html", status_code=403, title="Refused",
                                  message="the form expired; open the page again")  # fmt: skip
            if opened.must_change_password and not allow_password_pending:
                return redirect(f"{PREFIX}/password")
            page = Page(request, opened, form)
            try:
                return await handler(page)
            except (ServiceError, Forbidden) as exc:
                return error_page(request, exc, page)

        return endpoint

    return guard
