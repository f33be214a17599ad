"""The pieces the browser tests share: the demo server handle, browsers per fake camera, request
recording, screenshots. Fixtures wrapping them live in conftest.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

from tests.support import ShirenServer

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
ACTIONS = ("blink", "open_mouth")
# The demo's own scenes, created before it starts with the two-action pool; and two for SDK-only steps.
SCENES = (
    ("DemoH5", "RPH5BioOnly"),
    ("DemoBasic", "RPBasic"),
    ("DemoPro", "RPBioOnlyPro"),
    ("DemoManual", "RPManual"),
)
FACE = "obama"  # liveness subject; the ID card portrait is obama.jpg too (same person)
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-fake-device-for-media-stream",
]


@dataclass
class Demo:
    server: ShirenServer
    key: dict[str, str]  # an AccessKey of tenant "demo", for the official SDK on the integrator side

    @property
    def url(self) -> str:
        return self.server.url


@dataclass(frozen=True)
class Videos:
    bona_fide: Path
    static: Path


class Browsers:
    """One Chromium per fake-camera configuration (the video file is a launch flag), reused by tests."""

    def __init__(self, pw: Playwright) -> None:
        self.pw = pw
        self.cache: dict[tuple[str | None, bool], Browser] = {}

    def get(self, video: Path | None, *, grant_camera: bool = True) -> Browser:
        key = (str(video) if video else None, grant_camera)
        if key not in self.cache:
            args = list(BASE_ARGS)
            if grant_camera:
                args.append("--use-fake-ui-for-media-stream")
            if video:
                args.append(f"--use-file-for-fake-video-capture={video}")
            self.cache[key] = self.pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        return self.cache[key]

    def close(self) -> None:
        for b in self.cache.values():
            b.close()


@dataclass
class Recorder:
    """Every request of a page, and every CSP violation or uncaught error it reports."""

    requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))

        def console(msg: ConsoleMessage) -> None:
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
                self.csp_violations.append(msg.text)

        page.on("console", console)

    def foreign(self, origin: str) -> list[str]:
        """Requests to anywhere but ``origin`` (data: and blob: URLs are local)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if f"{parts.scheme}://{parts.netloc}" != origin:
                out.append(url)
        return out


class Shots:
    """Screenshots ``<test>-<nn>-<state>.png`` in pytest's tmp dir, copied to tests/browser/screenshots/."""

    def __init__(self, tmp: Path, prefix: str) -> None:
        self.tmp = tmp
        self.prefix = prefix
        self.n = 0
        SCREENSHOTS.mkdir(exist_ok=True)

    def __call__(self, page: Page, state: str, full_page: bool = False) -> Path:
        self.n += 1
        name = f"{self.prefix}-{self.n:02d}-{state}.png"
        path = self.tmp / name
        page.screenshot(path=str(path), full_page=full_page)
        shutil.copyfile(path, SCREENSHOTS / name)
        return path


OpenPage = Callable[..., tuple[Page, Recorder]]
