"""The console's management pages on a real server: scenes, AccessKeys and users made through the forms,
each secret shown once (and never in a URL), the audit trail finding it all, CSRF and Origin refused."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from shiren.api.console.i18n import ZH
from tests.console_support import ConsoleClient, create_user
from tests.support import ShirenServer, signed_v1

TEMPLATES = Path(__file__).parents[2] / "src" / "shiren" / "api" / "console" / "templates"
PAGES = ("scenes", "scene", "keys", "users", "secret", "audit")


def secret_of(page: str) -> str:
    found = re.search(r"data-secret>([^<]+)</p>", page)
    assert found, page[:3000]
    return html.unescape(found.group(1)).strip()


def fact(page: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd[^>]*>([^<]*)</dd>", page)
    assert found, page[:3000]
    return html.unescape(found.group(1))


def posted_from(client: ConsoleClient, path: str, headers: dict[str, str], **data: str) -> httpx.Response:
    """A form posted with the session's CSRF token and the browser headers given."""
    return client.http.post(path, data={"csrf": client.csrf, **data}, headers=headers)


@pytest.fixture(scope="module")
def tenant(server: ShirenServer) -> str:
    name = f"console-{uuid.uuid4().hex[:8]}"
    server.cli_json("accesskey", "create", "--tenant", name)
    return name


def signed_in(server: ShirenServer, role: str, tenant: str | None) -> ConsoleClient:
    """A new console user of ``role``, signed in (first password set)."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    client = ConsoleClient(server)
    answer = client.sign_in(name, create_user(server, name, role, tenant))
    assert answer.status_code == 303 and answer.headers["location"] == "/console/password", answer.text
    return client


@pytest.fixture(scope="module")
def admin(server: ShirenServer, tenant: str) -> Iterator[ConsoleClient]:
    client = signed_in(server, "admin", tenant)
    yield client
    client.close()


def test_an_admin_creates_a_scene_and_sees_its_callback_secret_once(admin: ConsoleClient) -> None:
    page = admin.get("/console/scenes")
    assert page.status_code == 200 and "Create a scene" in page.text
    assert page.headers["cache-control"] == "no-store"
    resp = admin.post(
        "/console/scenes",
        **{
            "biz_type": "ConsoleKyc",
            "scheme": "RPBioOnly",
            "name": "KYC from the console",
            "authority": "none",
            "callback_url": "https://hooks.example.com/shiren?token=integrator-token",
            "redirect_origins": "https://app.example.com\nhttps://m.example.com",
            "retention_days": "14",
            "media_retention_days": "3",
            "threshold_authority": "85",
            "action_blink": "1",
            "action_nod": "1",
            "liveness_count": "1",
            "review_face_from": "60",
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store" and "location" not in resp.headers
    secret = secret_of(resp.text)
    assert len(secret) >= 32 and secret not in str(resp.url)
    assert fact(resp.text, "BizType") == "ConsoleKyc"
    link = re.search(r'href="/console/scenes/(\d+)"', resp.text)
    assert link
    scene_url = f"/console/scenes/{link.group(1)}"

    # Listed and editable, its secret never again.
    listing = admin.get("/console/scenes")
    assert 'data-scene="ConsoleKyc"' in listing.text and secret not in listing.text
    edit = admin.get(scene_url)
    assert edit.status_code == 200 and secret not in edit.text
    assert 'value="85"' in edit.text and 'value="14"' in edit.text and "https://m.example.com" in edit.text
    assert re.search(r'id="s-action_blink" name="action_blink" value="1" checked', edit.text)
    assert 'id="s-action_turn_left" name="action_turn_left" value="1">' in edit.text

    form = {
        "name": "KYC",
        "authority": "none",
        "callback_url": "https://hooks.example.com/shiren",
        "redirect_origins": "https://app.example.com",
        "retention_days": "10",
        "media_retention_days": "",
        "threshold_authority": "85",
        "action_blink": "1",
        "action_nod": "1",
        "liveness_count": "1",
        "untimed": "1",
        "review_face_from": "",
    }
    resp = admin.post(scene_url, **form)
    assert resp.status_code == 303 and resp.headers["location"] == f"{scene_url}?saved=1", resp.text
    edit = admin.get(scene_url, saved="1")
    assert "Saved." in edit.text and 'value="10"' in edit.text
    assert re.search(
        r'id="s-untimed" name="untimed" value="1" aria-describedby="h-untimed" checked', edit.text
    )
    assert "https://m.example.com" not in edit.text

    # A refused setting: the form again, with what was typed and the error next to its field.
    resp = admin.post(scene_url, **{**form, "redirect_origins": "ftp://nope", "retention_days": "11"})
    assert resp.status_code == 400
    assert 'role="alert"' in resp.text and 'href="#s-redirect_origins"' in resp.text
    assert re.search(r'id="s-redirect_origins" name="redirect_origins" aria-invalid="true"', resp.text)
    assert "ftp://nope" in resp.text and 'value="11"' in resp.text
    assert 'value="10"' in admin.get(scene_url).text  # nothing was changed

    resp = admin.post(f"{scene_url}/enabled", enabled="0")
    assert resp.status_code == 303
    edit = admin.get(scene_url)
    assert 'data-enabled="false"' in edit.text and "Enable the scene" in edit.text
    resp = admin.post(f"{scene_url}/enabled", enabled="1")
    assert 'data-enabled="true"' in admin.get(scene_url).text

    # A scene that exists already is refused on the create form.
    admin.get("/console/scenes")
    resp = admin.post("/console/scenes", biz_type="ConsoleKyc", scheme="RPBioOnly", retention_days="5")
    assert resp.status_code == 400 and "already exists" in resp.text and 'href="#s-biz_type"' in resp.text


def test_an_access_key_is_shown_once_works_and_is_disabled(
    admin: ConsoleClient, server: ShirenServer
) -> None:
    admin.get("/console/keys")
    resp = admin.post("/console/keys")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store", resp.text
    key_id, secret = fact(resp.text, "AccessKeyId"), secret_of(resp.text)
    assert key_id.startswith("LTAI") and len(secret) == 30 and secret not in str(resp.url)

    # The new key signs calls.
    admin.get("/console/scenes")
    admin.post("/console/scenes", biz_type="KeyCheck", scheme="RPBasic", retention_days="5")
    key = {"AccessKeyId": key_id, "AccessKeySecret": secret}
    params = signed_v1(key, "DescribeVerifyResult", BizId="console-1", BizType="KeyCheck")
    answer = httpx.post(server.url + "/?" + urlencode(params), timeout=30)
    assert answer.status_code == 200 and answer.json()["VerifyStatus"] == -1, answer.text

    listing = admin.get("/console/keys")
    assert f'data-key="{key_id}" data-enabled="true"' in listing.text and secret not in listing.text
    resp = admin.post(f"/console/keys/{key_id}/disable")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/keys"
    assert f'data-key="{key_id}" data-enabled="false"' in admin.get("/console/keys").text
    params = signed_v1(key, "DescribeVerifyResult", BizId="console-2", BizType="KeyCheck")
    answer = httpx.post(server.url + "/?" + urlencode(params), timeout=30)
    assert answer.json()["Code"] == "InvalidAccessKeyId.Inactive", answer.text


def test_an_admin_creates_a_reviewer_who_signs_in_with_the_one_time_password(
    admin: ConsoleClient, server: ShirenServer, tenant: str
) -> None:
    admin.get("/console/users")
    name = f"rev-{uuid.uuid4().hex[:6]}"
    resp = admin.post("/console/users", name=name, role="reviewer")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store", resp.text
    password = secret_of(resp.text)
    assert fact(resp.text, "Name") == name and fact(resp.text, "Tenant") == tenant
    listing = admin.get("/console/users")
    assert f'data-user="{name}" data-enabled="true"' in listing.text and password not in listing.text

    reviewer = ConsoleClient(server)
    assert reviewer.sign_in(name, password).headers["location"] == "/console/password"
    page = reviewer.get("/console/queue")
    assert page.status_code == 200 and 'href="/console/scenes"' not in page.text
    assert reviewer.get("/console/scenes").status_code == 403
    assert reviewer.get("/console/audit").status_code == 403
    reviewer.get("/console/queue")
    assert reviewer.post("/console/keys").status_code == 403

    # The admin changes the reviewer's role, then disables them: their session ends.
    user_id = re.search(rf'data-user="{name}".*?action="/console/users/(\d+)"', listing.text, re.S)
    assert user_id
    resp = admin.post(f"/console/users/{user_id.group(1)}", role="auditor")
    assert resp.status_code == 303
    assert reviewer.get("/console/audit").status_code == 200
    admin.get("/console/users")
    resp = admin.post(f"/console/users/{user_id.group(1)}", enabled="0")
    assert resp.status_code == 303
    assert f'data-user="{name}" data-enabled="false"' in admin.get("/console/users").text
    gone = reviewer.get("/console/audit")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")

    # A password reset shows a new one-time password once.
    admin.get("/console/users")
    resp = admin.post(f"/console/users/{user_id.group(1)}/password")
    assert resp.status_code == 200 and secret_of(resp.text) != password
    reviewer.close()

    # A refused user: the form again.
    admin.get("/console/users")
    resp = admin.post("/console/users", name="x", role="reviewer")
    assert resp.status_code == 400 and 'href="#u-name"' in resp.text and 'aria-invalid="true"' in resp.text


def test_the_audit_trail_finds_the_changes_made_in_the_console(admin: ConsoleClient) -> None:
    admin.get("/console/scenes")
    admin.post("/console/scenes", biz_type="AuditMe", scheme="RPBasic", retention_days="5")
    admin.get("/console/keys")
    made = admin.post("/console/keys")
    key_id, secret = fact(made.text, "AccessKeyId"), secret_of(made.text)
    admin.post(f"/console/keys/{key_id}/disable")

    page = admin.get("/console/audit", action="scene.", object="AuditMe")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'data-action="scene.create"' in page.text and "console:admin-" in page.text
    assert "127.0.0.1" in page.text
    page = admin.get("/console/audit", object=key_id)
    assert 'data-action="accesskey.create"' in page.text and 'data-action="accesskey.disable"' in page.text
    assert secret not in page.text
    page = admin.get("/console/audit", action="console.login")
    assert 'data-action="console.login"' in page.text and 'data-action="scene.create"' not in page.text
    page = admin.get("/console/audit", action="user.")
    assert 'data-action="user.create"' in page.text
    everything = admin.get("/console/audit")
    assert secret not in everything.text

    # Paged: a next page link, then the rest.
    first = admin.get("/console/audit", action="scene.")
    rows = re.findall(r'data-event="(\d+)"', first.text)
    assert rows == sorted(rows, key=int, reverse=True)
    assert admin.get("/console/audit", before=rows[-1], action="scene.").status_code == 200
    refused = admin.get("/console/audit", to="2020-01-01", **{"from": "2021-01-01"})
    assert refused.status_code == 400


def test_a_post_without_the_csrf_field_or_from_another_site_is_refused(admin: ConsoleClient) -> None:
    before = admin.get("/console/keys").text.count("data-key=")
    resp = admin.http.post("/console/keys", data={})
    assert resp.status_code == 403
    resp = admin.http.post("/console/keys", data={"csrf": "forged"})
    assert resp.status_code == 403
    resp = posted_from(admin, "/console/keys", {"Origin": "https://evil.example"})
    assert resp.status_code == 403
    evil = {"biz_type": "Evil", "scheme": "RPBasic", "retention_days": "5"}
    resp = posted_from(admin, "/console/scenes", {"Origin": "https://evil.example"}, **evil)
    assert resp.status_code == 403
    resp = posted_from(admin, "/console/scenes", {"Sec-Fetch-Site": "cross-site"}, **evil)
    assert resp.status_code == 403
    assert admin.get("/console/keys").text.count("data-key=") == before
    assert 'data-scene="Evil"' not in admin.get("/console/scenes").text
    # The page's own origin is fine.
    resp = posted_from(admin, "/console/keys", {"Origin": admin.srv.url, "Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 200 and secret_of(resp.text)


def test_another_tenants_admin_finds_nothing_and_an_operator_names_the_tenant(
    admin: ConsoleClient, server: ShirenServer, tenant: str
) -> None:
    admin.get("/console/scenes")
    made = admin.post("/console/scenes", biz_type="Private", scheme="RPBasic", retention_days="5")
    link = re.search(r'href="(/console/scenes/\d+)"', made.text)
    assert link
    other_tenant = f"other-{uuid.uuid4().hex[:8]}"
    other = signed_in(server, "admin", other_tenant)
    assert other.get(link.group(1)).status_code == 404
    assert 'data-scene="Private"' not in other.get("/console/scenes").text
    other.get("/console/scenes")
    assert other.post(link.group(1) + "/enabled", enabled="0").status_code == 404
    assert "Private" not in other.get("/console/audit", action="scene.").text

    operator = signed_in(server, "operator", None)
    listing = operator.get("/console/scenes")
    assert 'data-scene="Private"' in listing.text and tenant in listing.text and other_tenant in listing.text
    keys = operator.get("/console/keys")
    assert "Create a tenant" in keys.text
    new_tenant = f"made-{uuid.uuid4().hex[:8]}"
    resp = operator.post("/console/tenants", name=new_tenant)
    assert resp.status_code == 303
    keys = operator.http.get(resp.headers["location"])
    tenant_id = re.search(rf'<option value="(\d+)" selected>{new_tenant}</option>', keys.text)
    assert tenant_id
    resp = operator.post("/console/keys")
    assert resp.status_code == 400  # an operator names the tenant
    operator.get("/console/keys")
    resp = operator.post("/console/keys", tenant=tenant_id.group(1))
    assert resp.status_code == 200 and fact(resp.text, "Tenant") == new_tenant
    page = operator.get("/console/audit", action="tenant.create", object=new_tenant)
    assert 'data-action="tenant.create"' in page.text
    other.close()
    operator.close()


def test_the_pages_speak_chinese(admin: ConsoleClient) -> None:
    page = admin.http.get("/console/scenes", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "创建场景" in page.text and "Create a scene" not in page.text


def test_every_string_of_the_management_pages_has_a_chinese_translation() -> None:
    strings: set[str] = set()
    for name in PAGES:
        text = (TEMPLATES / f"{name}.html").read_text()
        strings |= {m.group(2) for m in re.finditer(r'\bt\((["\'])(.+?)\1\)', text)}
    routes = (TEMPLATES.parent / "manage_routes.py").read_text()
    strings |= set(re.findall(r'(?:heading|what|hint)="([^"]+)"', routes))
    strings |= set(re.findall(r'\(f"\{PREFIX\}[^"]*", "([^"]+)"\)', routes))
    assert len(strings) > 60
    assert sorted(s for s in strings if s not in ZH) == []
