"""The front door: ``/`` is the signed RPC endpoint, but a person opening it in a browser gets a short page
saying what runs here and where to go, instead of a ``MissingAction`` error.

Only a plain ``GET /`` (no query string) whose Accept names ``text/html`` is a person; every other request,
the SDKs' included (POST, or GET with ``?Action=…``, or any Accept without HTML), goes to the RPC endpoint
untouched. The page links only to what shiren serves itself: there is no Swagger UI (``/docs``), whose
script and styles come from a public CDN that the strict CSP of our pages (and an offline deployment)
refuses; ``/openapi.json`` is the machine-readable document instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from starlette.requests import Request
from starlette.responses import Response

from shiren import __version__
from shiren.api.h5.assets import html_response
from shiren.runtime import Runtime

Endpoint = Callable[[Request], Awaitable[Response]]

TEXT = {
    "zh": {
        "lang": "zh-CN",
        "lead": "自托管的实人认证服务，与阿里云实人认证（Cloudauth 2019-03-07）接口兼容。",
        "console": "运营控制台",
        "console_note": "查看认证记录、审核与管理",
        "demo": "演示集成方",
        "demo_note": "用浏览器体验完整认证流程",
        "openapi": "OpenAPI 文档",
        "openapi_note": "设备协议（SDK 与 H5 页面使用）的机器可读说明",
        "health": "健康检查",
        "health_note": "服务是否在运行（另有 /readyz 与 /metrics）",
        "rpc": "本地址同时是签名 API 的入口：阿里云 SDK 将请求发送到此处（GET 或 POST，带 Action 参数）。",
        "docs": "设备协议与部署说明见源码中的 docs/device-protocol.md 与 docs/deployment.md。",
    },
    "en": {
        "lang": "en",
        "lead": "Self-hosted identity verification, wire-compatible with Alibaba Cloud Cloudauth 2019-03-07.",
        "console": "Operator console",
        "console_note": "verification records, review and administration",
        "demo": "Demo integrator",
        "demo_note": "try a whole verification in this browser",
        "openapi": "OpenAPI document",
        "openapi_note": "the device protocol (used by the SDKs and the H5 page), machine-readable",
        "health": "Health",
        "health_note": "whether the service is up (see also /readyz and /metrics)",
        "rpc": "This address is also the signed API: Alibaba's SDKs send their calls here (GET or POST with "
        "an Action parameter).",
        "docs": "The device protocol and deployment are described in docs/device-protocol.md and "
        "docs/deployment.md of the source.",
    },
}


def locale_of(accept_language: str) -> str:
    """``zh`` when the most preferred language is Chinese (any region or script), else ``en``."""
    best, best_q = "", -1.0
    for item in accept_language.split(","):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > best_q:
            best, best_q = tag.lower(), q
    return "zh" if best == "zh" or best.startswith("zh-") else "en"


def wants_page(request: Request) -> bool:
    """A browser's plain visit: GET, no query string, and an Accept that names HTML."""
    return (
        request.method == "GET"
        and not request.url.query
        and "text/html" in request.headers.get("accept", "").lower()
    )


def render(locale: str, *, demo: bool) -> str:
    t = TEXT[locale]
    links = [("/console/", t["console"], t["console_note"])]
    if demo:
        links.append(("/demo", t["demo"], t["demo_note"]))
    links += [
        ("/openapi.json", t["openapi"], t["openapi_note"]),
        ("/healthz", t["health"], t["health_note"]),
    ]
    items = "\n".join(
        f'<li><a href="{escape(href)}">{escape(label)}</a> · {escape(note)}</li>'
        for href, label, note in links
    )
    title = f"shiren {escape(__version__)}"
    return f"""<!doctype html>
<html lang="{t["lang"]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<link rel="icon" href="data:,">
<title>{title}</title>
<link rel="stylesheet" href="/sdk/v1/shiren.css">
</head>
<body class="shiren-page">
<main class="shiren">
<h1 class="shiren-title">{title}</h1>
<p>{escape(t["lead"])}</p>
<ul class="shiren-list">
{items}
</ul>
<p class="shiren-small">{escape(t["rpc"])}</p>
<p class="shiren-small">{escape(t["docs"])}</p>
</main>
</body>
</html>
"""


def make_front_door(runtime: Runtime, rpc: Endpoint) -> Endpoint:
    """``rpc`` for every API call; the landing page for a browser's plain visit."""
    demo = runtime.settings.demo

    async def front_door(request: Request) -> Response:
        if not wants_page(request):
            return await rpc(request)
        page = html_response(render(locale_of(request.headers.get("accept-language", "")), demo=demo))
        page.headers["Vary"] = "Accept, Accept-Language"
        return page

    return front_door
