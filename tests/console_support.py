"""A console user in tests: signs in over HTTP as a browser would (the sign-in form's CSRF cookie, the
forced first password change), then reads pages and posts forms with the session's CSRF token."""

from __future__ import annotations

import csv
import random
import re
from datetime import date
from pathlib import Path

import cv2
import httpx

from shiren.domain.idnumber import random_id_number
from tests.fixtures.photos import photo
from tests.peers import ImageHost, Receiver
from tests.sdk import models, tea
from tests.support import ShirenServer

HOLDER = "王建国"
HOLDER_ID = random_id_number(random.Random(20261202), birth=date(1970, 3, 15), sex="男")

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
NEW_PASSWORD = "a-long-enough-passphrase-42"


def create_user(srv: ShirenServer, name: str, role: str, tenant: str | None) -> str:
    """A console user made with the CLI; returns its one-time password."""
    args = ["user", "create", name, "--role", role] + (["--tenant", tenant] if tenant else [])
    return srv.cli_json(*args)["OneTimePassword"]


class ConsoleClient:
    def __init__(self, srv: ShirenServer) -> None:
        self.srv = srv
        self.http = httpx.Client(base_url=srv.url, timeout=30, follow_redirects=False)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def csrf_of(self, html: str) -> str:
        found = CSRF_RE.search(html)
        assert found, html[:500]
        return found.group(1)

    def sign_in(self, name: str, password: str, *, new_password: str | None = NEW_PASSWORD) -> httpx.Response:
        form = self.http.get("/console/login")
        answer = self.http.post(
            "/console/login", data={"csrf": self.csrf_of(form.text), "name": name, "password": password}
        )
        if answer.status_code == 303 and answer.headers["location"].endswith("/password") and new_password:
            page = self.http.get("/console/password")
            self.csrf = self.csrf_of(page.text)
            changed = self.http.post(
                "/console/password",
                data={
                    "csrf": self.csrf,
                    "current_password": password,
                    "new_password": new_password,
                    "repeat_password": new_password,
                },
            )
            assert changed.status_code == 303, changed.text
        if answer.status_code == 303:
            self.csrf = self.csrf_of(self.http.get("/console/records").text)
        return answer

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(self, path: str, **data: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf, **data})


def review_server(data: Path, roster: Path, host: ImageHost, receiver: Receiver) -> tuple[ShirenServer, dict]:
    """A started server whose tenant "acme" has two RPMin scenes on the registry at threshold 95, "Held"
    (holding face scores from 60 up) and "Plain", both calling ``receiver`` back; the registry knows
    HOLDER with obama.jpg, so obama2.jpg scores about 87 (borderline) and biden.jpg far under 60. Tenant
    "globex" has a scene of its own. Returns the server and acme's AccessKey."""
    allowed = f"{host.authority},{receiver.authority}"  # both are on loopback, refused otherwise
    srv = ShirenServer(data, env={"SHIREN_FETCH_ALLOW_HOSTS": allowed})
    srv.start()
    key = srv.new_tenant("acme")
    common = ["--scheme", "RPMin", "--tenant", "acme", "--authority", "registry"]
    common += ["--threshold", "authority=95", "--callback-url", receiver.url()]
    held = srv.cli_json("scene", "create", "Held", *common, "--review-face-from", "60")
    assert held["Review"] == {"face_from": 60.0}
    srv.cli_json("scene", "create", "Plain", *common)
    cv2.imwrite(str(roster / "holder.jpg"), cv2.imread(str(photo("obama.jpg"))))
    with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["name", "id_number", "photo"], [HOLDER, HOLDER_ID, "holder.jpg"]])
    assert srv.cli_json("registry", "import", str(roster / "roster.csv"), "--tenant", "acme")["Imported"] == 1
    srv.new_tenant("globex")
    srv.cli_json("scene", "create", "Other", "--scheme", "RPMin", "--tenant", "globex")
    return srv, key


def verify_material(srv: ShirenServer, key: dict, host: ImageHost, biz_type: str, biz_id: str, face: str):
    """VerifyMaterial of HOLDER with the photograph ``face``, through the official SDK."""
    url = host.put(f"{biz_id}.jpg", photo(face).read_bytes())
    request = models.VerifyMaterialRequest(
        biz_id=biz_id, biz_type=biz_type, name=HOLDER, id_card_number=HOLDER_ID, face_image_url=url
    )
    return tea(srv, key).verify_material(request).body
