"""A console user in tests: signs in over HTTP as a browser would (the sign-in form's CSRF cookie, the
forced first password change), then reads pages and posts forms with the session's CSRF token."""

from __future__ import annotations

import re

import httpx

from tests.support import ShirenServer

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
