"""The demo's HTML, rendered on the server with every value escaped; scripts and styles are files.

The pages follow the hosted page's CSP (no inline script or style), so they also show integrators that a
strict policy is practical.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

STATUS_MEANINGS = {
    -1: "not verified yet (nothing submitted, or the user gave up)",
    1: "passed",
    2: "name and ID number do not match (or the number is malformed)",
    3: "ID card photo unreadable, or the name on it differs",
    4: "ID card photo unreadable, or the number on it differs",
    5: "ID card expired",
    6: "face does not match the ID card portrait",
    7: "face does not match the authority's reference photo",
    8: "not an original ID card photo",
    9: "liveness failed: not the account holder's own operation",
    10: "not the same person as the retained photo",
    11: "authority reference photo missing or unusable",
    12: "authority system error",
}
SCORES = ("AuthorityComparisionScore", "FaceComparisonScore", "IdCardFaceComparisonScore")
CARD_FIELDS = (
    "Name",
    "Number",
    "Sex",
    "Nationality",
    "Birth",
    "Address",
    "Authority",
    "StartDate",
    "EndDate",
)


def e(value: object) -> str:
    """Escaped text; booleans as JSON writes them (the API's ``true``/``false``)."""
    return escape(json.dumps(value) if isinstance(value, bool) else str(value), quote=True)


def layout(title: str, body: str, scripts: Iterable[str] = (), sdk: bool = False) -> str:
    links = ['<link rel="stylesheet" href="/demo/static/demo.css">']
    tags = []
    if sdk:
        links.insert(0, '<link rel="stylesheet" href="/sdk/v1/shiren.css">')
        tags.append('<script src="/sdk/v1/shiren.js" defer></script>')
    tags += [f'<script src="/demo/static/{e(s)}" defer></script>' for s in scripts]
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{e(title)} · shiren demo</title>
{"".join(links)}
{"".join(tags)}
</head>
<body>
<header class="demo-header"><a href="/demo">shiren demo integrator</a></header>
<main class="demo-main">
<h1>{e(title)}</h1>
{body}
</main>
</body>
</html>
"""


def _field(name: str, label: str, value: str, **attrs: str) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{e(v)}"' for k, v in attrs.items())
    return (
        f'<div class="demo-field"><label for="{name}">{e(label)}</label>'
        f'<input id="{name}" name="{name}" value="{e(value)}" required {extra}></div>'
    )


def index_page(name: str, id_number: str, error: str | None = None) -> str:
    err = f'<p class="demo-error" role="alert">{e(error)}</p>' if error else ""
    body = f"""
<p>A tiny integrator app. Its server side holds an AccessKey and calls shiren's signed API over HTTP,
exactly like yours would. Client-side results are hints; the result page always asks the server
(DescribeVerifyResult).</p>
{err}
<section class="demo-card" aria-labelledby="h5-title">
<h2 id="h5-title">(a) Hosted H5 page — RPH5BioOnly</h2>
<p>DescribeVerifyToken with your name and ID number, then your browser goes to the VerifyPageUrl and
comes back to this demo when done.</p>
<form method="post" action="/demo/h5" class="demo-form">
{_field("name", "Name", name, autocomplete="name", maxlength="64")}
{_field("idNumber", "ID number", id_number, autocomplete="off", maxlength="18")}
<button type="submit" class="demo-btn">Verify with the hosted page</button>
</form>
</section>
<section class="demo-card" aria-labelledby="min-title">
<h2 id="min-title">(b) Server only — RPMin</h2>
<p>Upload a face photo (and optionally ID card photos); the demo server calls VerifyMaterial.</p>
<p><a class="demo-btn demo-btn-link" href="/demo/min">Open the RPMin form</a></p>
</section>
<section class="demo-card" aria-labelledby="sdk-title">
<h2 id="sdk-title">(c) JavaScript SDK in a page — RPBasic</h2>
<p>The page gets a token from the demo server and runs <code>Shiren.start</code> in place: liveness,
both sides of the ID card, confirmation of what was read.</p>
<p><a class="demo-btn demo-btn-link" href="/demo/sdk">Open the SDK page</a></p>
</section>
"""
    return layout("Try shiren", body)


def min_page(name: str, id_number: str, fetch_note: str | None) -> str:
    note = f'<p class="demo-error" role="alert">{e(fetch_note)}</p>' if fetch_note else ""
    body = f"""
<p>The files go to the demo server, which keeps them for two minutes under unguessable URLs and passes
those URLs to VerifyMaterial; shiren fetches them from there.</p>
{note}
<form id="min-form" class="demo-form" action="/demo/min" method="post">
{_field("name", "Name", name, autocomplete="name", maxlength="64")}
{_field("idNumber", "ID number", id_number, autocomplete="off", maxlength="18")}
<div class="demo-field"><label for="face">Face photo (required)</label>
<input id="face" name="face" type="file" accept="image/jpeg,image/png,image/webp" required></div>
<div class="demo-field"><label for="front">ID card front (optional)</label>
<input id="front" name="front" type="file" accept="image/jpeg,image/png,image/webp"></div>
<div class="demo-field"><label for="back">ID card back (optional)</label>
<input id="back" name="back" type="file" accept="image/jpeg,image/png,image/webp"></div>
<button type="submit" class="demo-btn">Verify (VerifyMaterial)</button>
<p id="min-status" class="demo-status" role="status" aria-live="polite"></p>
</form>
"""
    return layout("Server only (RPMin)", body, scripts=["demo-min.js"])


def sdk_page() -> str:
    body = """
<p>This page asks the demo server for a VerifyToken (DescribeVerifyToken, scene DemoBasic) and then runs
the JavaScript SDK inside the box below.</p>
<p><button type="button" id="sdk-start" class="demo-btn">Start verification</button></p>
<div id="sdk-container" class="demo-sdk"></div>
<section id="sdk-outcome" class="demo-card" hidden aria-labelledby="sdk-outcome-title">
<h2 id="sdk-outcome-title" tabindex="-1">What the SDK told this page (a hint)</h2>
<pre id="sdk-outcome-json"></pre>
<p><a id="sdk-server-link" class="demo-btn demo-btn-link" href="/demo">Ask the server
(DescribeVerifyResult)</a></p>
</section>
<p id="sdk-status" class="demo-status" role="status" aria-live="polite"></p>
"""
    return layout("JavaScript SDK (RPBasic)", body, scripts=["demo-sdk.js"], sdk=True)


def _image(url: Any, alt: str) -> str:
    if not isinstance(url, str) or not url:
        return ""
    return f'<figure><img src="{e(url)}" alt="{e(alt)}"><figcaption>{e(alt)}</figcaption></figure>'


def done_page(biz_id: str, result: dict[str, Any], hint: str | None) -> str:
    status = int(result.get("VerifyStatus", -1))
    verdict = "demo-pass" if status == 1 else "demo-fail"
    rows = "".join(
        f"<tr><th scope='row'>{e(name)}</th><td>{e(result[name])}</td></tr>"
        for name in SCORES
        if name in result
    )
    material: dict[str, Any] = result.get("Material") or {}
    for name in ("FaceQuality", "FaceMask", "IdCardName", "IdCardNumber"):
        if name in material:
            rows += f"<tr><th scope='row'>Material.{e(name)}</th><td>{e(material[name])}</td></tr>"
    card: dict[str, Any] = material.get("IdCardInfo") or {}
    rows += "".join(
        f"<tr><th scope='row'>IdCardInfo.{e(name)}</th><td>{e(card[name])}</td></tr>"
        for name in CARD_FIELDS
        if card.get(name)
    )
    media = _image(material.get("FaceImageUrl"), "FaceImageUrl") + _image(
        material.get("FaceGlobalUrl"), "FaceGlobalUrl"
    )
    media += _image(card.get("FrontImageUrl"), "IdCardInfo.FrontImageUrl")
    media += _image(card.get("BackImageUrl"), "IdCardInfo.BackImageUrl")
    for i, url in enumerate(material.get("VideoUrls") or []):
        media += (
            f'<figure><video src="{e(url)}" controls muted playsinline preload="metadata"></video>'
            f"<figcaption>VideoUrls[{i}]</figcaption></figure>"
        )
    hint_html = (
        f"<p class='demo-note'>The redirect also carried a signed <code>result</code> token ({len(hint)} "
        "characters): a hint only; this page trusts the server's answer below.</p>"
        if hint
        else ""
    )
    raw = json.dumps(result, ensure_ascii=False, indent=2)
    body = f"""
<p>BizId <code id="biz-id">{e(biz_id)}</code></p>
{hint_html}
<p class="demo-verdict {verdict}">VerifyStatus <strong id="verify-status">{status}</strong>:
{e(STATUS_MEANINGS.get(status, "unknown"))}</p>
<table class="demo-table"><caption>DescribeVerifyResult</caption><tbody>{rows}</tbody></table>
<div class="demo-media">{media}</div>
<details><summary>Raw response</summary><pre>{e(raw)}</pre></details>
<p><a class="demo-btn demo-btn-link" href="/demo">Start again</a></p>
"""
    return layout("Verification result", body)


def error_page(message: str) -> str:
    body = f'<p class="demo-error" role="alert">{e(message)}</p><p><a href="/demo">Back to the demo</a></p>'
    return layout("Something went wrong", body)
