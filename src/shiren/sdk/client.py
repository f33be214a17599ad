"""The device protocol (``/device/v1``, docs/device-protocol.md) as one Python method per call.

The client is deliberately thin: it speaks JSON, turns every error answer into a :class:`DeviceError`, and
retries only where the protocol makes a retry harmless (see :class:`DeviceClient`). It never decides
anything; the server does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "NETWORK_ERROR",
    "UPLOAD_KINDS",
    "Challenge",
    "DeviceClient",
    "DeviceError",
    "Flash",
    "Prompt",
]

UPLOAD_KINDS = ("video", "id_front", "id_back")
NETWORK_ERROR = "NetworkError"
"""``DeviceError.code`` (with ``status`` 0) when the server could not be reached, after the retries."""

# Calls the protocol defines as safe to repeat: reads and idempotent writes (consent, PUT uploads). Not
# challenge (each one counts) and not submit: a submit repeated while the first one is still deciding is
# refused (its challenge is in use), so after a lost answer the caller asks ``session`` instead.
_IDEMPOTENT = frozenset({"session", "consent", "guide", "upload", "ocr", "cancel"})
_MAX_RETRY_AFTER_S = 10.0


class DeviceError(Exception):
    """An error answer of the device protocol, or a network failure (``status`` 0, ``code`` NetworkError).

    ``code`` is the protocol's error code (``TokenInvalid``, ``TokenExpired``, ``ConsentRequired``,
    ``ChallengeInvalid``, ``TooLarge``, ``UnsupportedMediaType``, …); ``message`` is the server's plain-words
    explanation. ``retry_after`` is set for ``Throttled`` (seconds).
    """

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Prompt:
    """Show ``action`` to the user from ``at_ms`` after the recording started."""

    action: str
    at_ms: int


@dataclass(frozen=True)
class Flash:
    """RPBioOnlyPro's screen flash: from ``start_ms`` fill the screen with each colour for ``segment_ms``."""

    colors: tuple[str, ...]
    segment_ms: int
    start_ms: int

    def color_at(self, t_ms: float) -> str | None:
        """The colour the screen shows ``t_ms`` after the recording started (``None`` outside the flash)."""
        if t_ms < self.start_ms or self.segment_ms <= 0:
            return None
        i = int((t_ms - self.start_ms) // self.segment_ms)
        return self.colors[i] if i < len(self.colors) else None

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.segment_ms * len(self.colors)


@dataclass(frozen=True)
class Challenge:
    """A liveness challenge drawn by the server: the capture plan a frame source records against.

    The recording starts right away and lasts ``capture_ms``; each prompt is shown from its ``at_ms`` on;
    ``flash`` (RPBioOnlyPro only) is the colour sequence to fill the screen with. ``raw`` keeps the JSON as
    received, for fields a newer server may add.
    """

    challenge_id: str
    actions: tuple[str, ...]
    capture_ms: int
    prompts: tuple[Prompt, ...]
    flash: Flash | None = None
    expires_at: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Challenge:
        fl = data.get("flash")
        return cls(
            challenge_id=str(data["challengeId"]),
            actions=tuple(data.get("actions") or ()),
            capture_ms=int(data["captureMs"]),
            prompts=tuple(Prompt(str(p["action"]), int(p["atMs"])) for p in data.get("prompts") or ()),
            flash=(Flash(tuple(fl["colors"]), int(fl["segmentMs"]), int(fl["startMs"])) if fl else None),
            expires_at=data.get("expiresAt"),
            raw=dict(data),
        )

    def prompt_at(self, t_ms: float) -> str | None:
        """The action prompted at ``t_ms`` (the latest prompt already due), or ``None`` before the first."""
        current = None
        for p in sorted(self.prompts, key=lambda p: p.at_ms):
            if p.at_ms <= t_ms:
                current = p.action
        return current


class DeviceClient:
    """One attempt's device-side calls, authenticated by the VerifyToken from DescribeVerifyToken.

    ``retries`` applies to network errors (connection refused or reset, timeouts) on the calls the protocol
    makes safe to repeat: ``session``, ``consent``, ``guide``, ``upload`` (an idempotent PUT: the same bytes
    give the same answer), ``ocr`` and ``cancel``. ``challenge`` and ``submit`` are retried only when the
    connection could not be made at all: each challenge drawn counts against ``challengesLeft``, and a
    submit whose answer was lost may still be deciding (:class:`~shiren.sdk.Verification` then reads the
    decision from ``session``). A ``429 Throttled`` answer is waited out (``Retry-After``, at most 10 s) and
    retried as well. ``timeout`` must cover a whole decision: ``submit`` answers only once the server has
    decided (0.5–1.5 s on a CPU, see bench/schemes.py).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url + "/device/v1",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ the protocol's calls

    def session(self) -> dict[str, Any]:
        """What this attempt needs: ``scheme``, ``steps``, ``state``, ``consent``, ``needs``, ``limits``, …"""
        return self._call("session", "GET", "/session")

    def consent(self, version: str, locale: str = "zh") -> dict[str, Any]:
        """Record the user's consent to biometric processing (the text ``version`` shown, in ``locale``)."""
        return self._call("consent", "POST", "/consent", json={"version": version, "locale": locale})

    def guide(self, jpeg: bytes) -> dict[str, Any]:
        """Live framing hint for one small JPEG preview (≤ 200 KB, ≤ 640 px): ``{"hint", "face"}``."""
        return self._call("guide", "POST", "/guide", content=jpeg, headers={"Content-Type": "image/jpeg"})

    def challenge(self) -> Challenge:
        """Draw a liveness challenge (supersedes the previous one; counts against ``challengesLeft``)."""
        return Challenge.from_json(self._call("challenge", "POST", "/challenge"))

    def upload(
        self, kind: str, data: bytes, content_type: str, challenge_id: str | None = None
    ) -> dict[str, Any]:
        """PUT the raw bytes of ``video`` (with ``challenge_id``), ``id_front`` or ``id_back``."""
        if kind not in UPLOAD_KINDS:
            raise ValueError(f"kind must be one of {', '.join(UPLOAD_KINDS)}")
        params = {"challengeId": challenge_id} if challenge_id else None
        return self._call(
            "upload",
            "PUT",
            f"/uploads/{kind}",
            content=data,
            params=params,
            headers={"Content-Type": content_type},
        )

    def ocr(self) -> dict[str, Any]:
        """Read the uploaded ``id_front`` (RPBasic): ``{"found", "name", "idNumber", "lowConfidence"}``."""
        return self._call("ocr", "POST", "/ocr")

    def submit(
        self,
        challenge_id: str | None = None,
        *,
        name: str | None = None,
        id_number: str | None = None,
        success_redirect: str | None = None,
        fail_redirect: str | None = None,
    ) -> dict[str, Any]:
        """Ask for the decision: ``{"state", "code", "message", "bizId", "result", "redirectUrl"}``.

        ``name``/``id_number`` are what the user typed (RPManual) or confirmed (RPBasic); other schemes
        ignore them. Repeating a submit returns the stored answer.
        """
        body: dict[str, Any] = {}
        for key, value in (
            ("challengeId", challenge_id),
            ("name", name),
            ("idNumber", id_number),
            ("successRedirect", success_redirect),
            ("failRedirect", fail_redirect),
        ):
            if value is not None:
                body[key] = value
        return self._call("submit", "POST", "/submit", json=body)

    def cancel(self) -> dict[str, Any]:
        """The user gave up: ``{"state": -1, "code": -1, "message": "cancelled"}``."""
        return self._call("cancel", "POST", "/cancel")

    # ------------------------------------------------------------------ plumbing

    def _call(self, name: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                resp = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                # Otherwise only safe to repeat when the request never left (nothing was drawn or decided).
                repeatable = name in _IDEMPOTENT or isinstance(exc, httpx.ConnectError)
                if not repeatable or attempt >= self.retries:
                    raise DeviceError(0, NETWORK_ERROR, f"{name}: {type(exc).__name__}: {exc}") from exc
                attempt += 1
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            if resp.status_code == 429 and attempt < self.retries:
                attempt += 1
                self._sleep(min(_retry_after(resp) or self.backoff_s, _MAX_RETRY_AFTER_S))
                continue
            if resp.is_success:
                try:
                    data = resp.json()
                except ValueError as exc:
                    raise DeviceError(resp.status_code, "BadResponse", f"{name}: not JSON") from exc
                if not isinstance(data, dict):
                    raise DeviceError(resp.status_code, "BadResponse", f"{name}: not a JSON object")
                return data
            raise _error(resp)


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _error(resp: httpx.Response) -> DeviceError:
    code, message = f"HTTP{resp.status_code}", resp.reason_phrase or ""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # The protocol's own {"code", "message"}; FastAPI's {"detail": …} for routes outside it.
        code = str(body.get("code") or code)
        message = str(body.get("message") or body.get("detail") or message)
    return DeviceError(resp.status_code, code, message, _retry_after(resp))
