"""One verification on the device side: follow the session's steps, capture, upload, submit.

The server's ``session`` answer says which steps this scene uses (``PRIVACY``, ``MANUAL_INPUT``,
``FACE_LIVENESS``, ``TAKE_ID_PHOTO``, ``ID_CONFIRM``, …); :class:`Verification` walks them in that order,
so the same code serves every scheme and a scene's settings (for example a hidden guide step) need no
change on the device. The user interface is pluggable (:class:`UI`); :class:`ConsoleUI` prints.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from shiren.sdk.capture import (
    CaptureError,
    FrameSource,
    PreviewSource,
    StillSource,
    encode_video,
    image_content_type,
    preview_jpeg,
)
from shiren.sdk.client import Challenge, DeviceClient, DeviceError

__all__ = ["Cancelled", "ConfirmFn", "ConsoleUI", "SdkResult", "UI", "Verification"]

ConfirmFn = Callable[[dict[str, str], list[str]], tuple[str, str] | None]
"""``confirm(fields, low_confidence) -> (name, id_number)``; ``None`` means the user gave up.

``fields`` has ``name`` and ``idNumber`` as read from the card (empty strings when nothing was read);
``low_confidence`` lists the fields the user must check (``"name"``, ``"idNumber"``).
"""

_ACTIONS_ZH = {
    "blink": "请眨眨眼",
    "open_mouth": "请张张嘴",
    "turn_left": "请向左转头",
    "turn_right": "请向右转头",
    "nod": "请点点头",
    "nearer": "请将手机靠近",
    "farther": "请将手机拿远",
}
_ACTIONS_EN = {
    "blink": "Blink",
    "open_mouth": "Open your mouth",
    "turn_left": "Turn your head to your left",
    "turn_right": "Turn your head to your right",
    "nod": "Nod",
    "nearer": "Move the phone closer",
    "farther": "Move the phone away",
}


class Cancelled(Exception):
    """Raise from a UI method or callback to abort: the SDK tells the server the user gave up."""


@dataclass
class SdkResult:
    """What the SDK tells the app. Only a hint: the integrator's server asks DescribeVerifyResult.

    ``state`` is 1 passed, 2 not passed, -1 cancelled or not completed; ``code`` is the VerifyStatus (or
    -1); ``result`` is the short-lived signed token the app may pass to its server. ``error`` is the
    :class:`DeviceError` behind a -1, if any; ``answer`` the server's full submit answer.
    """

    state: int
    code: int
    message: str
    result: str | None = None
    error: DeviceError | None = None
    answer: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.state == 1

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> SdkResult:
        return cls(
            state=int(answer.get("state", -1)),
            code=int(answer.get("code", -1)),
            message=str(answer.get("message", "")),
            result=answer.get("result"),
            answer=answer,
        )


class UI(Protocol):
    """What the user sees. Every method may raise :class:`Cancelled`.

    Methods called during a recording (``prompt``, ``flash``) run in the capture loop and must return at
    once (update the screen, nothing else).
    """

    def consent(self, text: str, version: str) -> bool:
        """Show the consent text; ``True`` when the user agrees."""
        ...

    def status(self, message: str) -> None:
        """A progress line (``"uploading"``, ``"deciding"``, …)."""
        ...

    def hint(self, hint: str) -> None:
        """A framing hint from ``guide`` (``ok``, ``no_face``, ``too_far``, …)."""
        ...

    def prompt(self, action: str) -> None:
        """Show the action to do now: ``blink``, ``open_mouth``, ``turn_left``, ``turn_right``, ``nod``,
        ``nearer``, ``farther``."""
        ...

    def flash(self, color: str | None) -> None:
        """Fill the screen with ``#rrggbb`` (RPBioOnlyPro), or restore it (``None``)."""
        ...

    def ask_card(self, side: str) -> None:
        """Ask the user to present the card's ``front`` or ``back``."""
        ...

    def manual_input(self) -> tuple[str, str] | None:
        """Ask for name and ID number (RPManual) when the app did not give them."""
        ...

    def confirm(self, fields: dict[str, str], low_confidence: list[str]) -> tuple[str, str] | None:
        """Let the user check (and correct) what was read from the card."""
        ...

    def result(self, result: SdkResult) -> None:
        """The outcome (a hint; the integrator's server has the real one)."""
        ...


class ConsoleUI:
    """A ``print``-based UI for terminals, demos and tests.

    ``assume_yes=True`` accepts the consent and the OCR fields without asking: only for unattended runs
    where the person has agreed through some other channel (the consent text is still printed).
    """

    def __init__(
        self,
        *,
        locale: str = "zh",
        assume_yes: bool = False,
        out: TextIO | None = None,
        ask: Callable[[str], str] = input,
    ) -> None:
        self.locale = locale
        self.assume_yes = assume_yes
        self.out = out or sys.stdout
        self.ask = ask

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def consent(self, text: str, version: str) -> bool:
        self._say(f"[consent {version}] {text}")
        if self.assume_yes:
            return True
        return self.ask("agree? [y/N] ").strip().lower() in ("y", "yes", "是", "同意")

    def status(self, message: str) -> None:
        self._say(f"... {message}")

    def hint(self, hint: str) -> None:
        self._say(f"[guide] {hint}")

    def prompt(self, action: str) -> None:
        names = _ACTIONS_ZH if self.locale == "zh" else _ACTIONS_EN
        self._say(f">>> {names.get(action, action)}")

    def flash(self, color: str | None) -> None:
        self._say(f"[screen] {color or 'normal'}")

    def ask_card(self, side: str) -> None:
        self._say(f"[card] show the {side} of the ID card")

    def manual_input(self) -> tuple[str, str] | None:
        if self.assume_yes:
            return None
        name = self.ask("name: ").strip()
        number = self.ask("ID number: ").strip()
        return (name, number) if name and number else None

    def confirm(self, fields: dict[str, str], low_confidence: list[str]) -> tuple[str, str] | None:
        name, number = fields.get("name", ""), fields.get("idNumber", "")
        self._say(f"[card] name={name} idNumber={number} check={','.join(low_confidence) or '-'}")
        if self.assume_yes:
            return name, number
        name = self.ask(f"name [{name}]: ").strip() or name
        number = self.ask(f"ID number [{number}]: ").strip() or number
        return name, number

    def result(self, result: SdkResult) -> None:
        self._say(f"[result] state={result.state} code={result.code} {result.message}")


class Verification:
    """Runs one attempt end to end with a :class:`DeviceClient`.

    ``frames`` records the liveness video; ``stills`` supplies the ID card photos (needed by schemes with
    a ``TAKE_ID_PHOTO`` step: RPBasic, RPBioID); ``ui`` shows what the user must do (default:
    :class:`ConsoleUI`). ``guide_tries`` previews sent to ``guide`` before the challenge when ``frames``
    can preview (0 turns the hints off; they never block the capture). ``capture_tries`` is how often a
    capture is redone when its challenge expired or was superseded before the upload. When the answer to
    ``submit`` is lost (network) or a concurrent submit is deciding, the decision is read from ``session``
    for up to ``decision_wait_s`` seconds.
    """

    def __init__(
        self,
        client: DeviceClient,
        frames: FrameSource,
        stills: StillSource | None = None,
        ui: UI | None = None,
        *,
        locale: str = "zh",
        guide_tries: int = 3,
        capture_tries: int = 2,
        success_redirect: str | None = None,
        fail_redirect: str | None = None,
        decision_wait_s: float = 30.0,
        poll_s: float = 0.5,
    ) -> None:
        self.client = client
        self.frames = frames
        self.stills = stills
        self.ui: UI = ui or ConsoleUI(locale=locale)
        self.locale = locale
        self.guide_tries = guide_tries
        self.capture_tries = max(1, capture_tries)
        self.success_redirect = success_redirect
        self.fail_redirect = fail_redirect
        self.decision_wait_s = decision_wait_s
        self.poll_s = poll_s
        self.challenge: Challenge | None = None  # the last challenge recorded (handy for tests and logs)

    def run(
        self,
        *,
        name: str | None = None,
        id_number: str | None = None,
        confirm: ConfirmFn | None = None,
    ) -> SdkResult:
        """Walk the session's steps, submit, and return the outcome (state -1 on cancel or error).

        ``name``/``id_number`` are the user's typed identity for RPManual (asked from the UI when absent).
        ``confirm(fields, low_confidence)`` checks the card reading for RPBasic (default: the UI's
        ``confirm`` when some field is low-confidence, else the reading as is).
        """
        try:
            result = self._run(name, id_number, confirm)
        except Cancelled:
            result = self._cancel()
        except DeviceError as err:
            result = SdkResult(-1, -1, f"{err.code}: {err.message}", error=err)
        except CaptureError as err:
            result = SdkResult(-1, -1, f"capture failed: {err}")
        self.ui.result(result)
        return result

    # ------------------------------------------------------------------ steps

    def _run(self, name: str | None, id_number: str | None, confirm: ConfirmFn | None) -> SdkResult:
        session = self.client.session()
        if session.get("state") == "decided" and session.get("result"):
            return SdkResult.from_answer(session["result"])
        steps = list(session.get("steps") or [])
        consent = session.get("consent") or {}
        consent_given = bool(consent.get("given"))
        challenge_id: str | None = None
        for step in steps:
            if step == "PRIVACY" and not consent_given:
                self._consent(consent)
                consent_given = True
            elif step == "MANUAL_INPUT":
                if not (name and id_number):
                    typed = self.ui.manual_input()
                    if typed is None:
                        raise Cancelled
                    name, id_number = typed
            elif step in ("FACE_LIVENESS", "TAKE_ID_PHOTO"):
                if not consent_given:  # the law wants it before any capture, even if the scene hides it
                    self._consent(consent)
                    consent_given = True
                if step == "FACE_LIVENESS":
                    challenge_id = self._liveness()
                else:
                    self._card_photos()
            elif step == "ID_CONFIRM":
                name, id_number = self._confirm(confirm)
        self.ui.status("deciding")
        # Only the typed (RPManual) or confirmed (RPBasic) identity is the user's to send.
        user_identity = "MANUAL_INPUT" in steps or "ID_CONFIRM" in steps
        try:
            answer = self.client.submit(
                challenge_id,
                name=name if user_identity else None,
                id_number=id_number if user_identity else None,
                success_redirect=self.success_redirect,
                fail_redirect=self.fail_redirect,
            )
        except DeviceError as err:
            # The answer was lost (network) or another submit got there first: the decision, if any, is
            # in the session. Anything else (a missing upload, an expired challenge) is the error itself.
            if err.status != 0 and err.code not in ("AlreadySubmitted", "ChallengeInvalid"):
                raise
            answer = self._await_decision(err)
        return SdkResult.from_answer(answer)

    def _await_decision(self, err: DeviceError) -> dict[str, Any]:
        """The stored decision after a failed submit; waits only when the answer was lost on the way."""
        deadline = time.monotonic() + (self.decision_wait_s if err.status == 0 else 0.0)
        while True:
            session = self.client.session()
            if session.get("state") == "decided" and session.get("result"):
                return dict(session["result"])
            if time.monotonic() >= deadline:
                raise err
            time.sleep(self.poll_s)

    def _consent(self, consent: dict[str, Any]) -> None:
        texts = consent.get("text") or {}
        text = texts.get(self.locale) or next(iter(texts.values()), "")
        version = str(consent.get("version", ""))
        if not self.ui.consent(text, version):
            raise Cancelled
        self.client.consent(version, self.locale)

    def _guide(self) -> None:
        if self.guide_tries <= 0 or not isinstance(self.frames, PreviewSource):
            return
        for _ in range(self.guide_tries):
            frame = self.frames.preview()
            if frame is None:
                return
            hint = str(self.client.guide(preview_jpeg(frame)).get("hint", ""))
            self.ui.hint(hint)
            if hint == "ok":
                return

    def _liveness(self) -> str:
        self._guide()
        for attempt in range(self.capture_tries):
            plan = self.client.challenge()
            self.challenge = plan
            recording = self.frames.record(plan, self.ui.prompt, self.ui.flash)
            self.ui.status("uploading video")
            video = encode_video(recording.frames, recording.timestamps_ms)
            try:
                self.client.upload("video", video.data, video.content_type, plan.challenge_id)
            except DeviceError as err:
                # The challenge expired or was superseded while recording: draw a new one and redo it.
                if err.code != "ChallengeInvalid" or attempt + 1 >= self.capture_tries:
                    raise
                continue
            return plan.challenge_id
        raise AssertionError("unreachable")

    def _card_photos(self) -> None:
        if self.stills is None:
            raise CaptureError("this scene needs ID card photos: give Verification a StillSource")
        for side in ("front", "back"):
            self.ui.ask_card(side)
            data = self.stills.capture_still(side)
            self.ui.status(f"uploading card {side}")
            self.client.upload(f"id_{side}", data, image_content_type(data))

    def _confirm(self, confirm: ConfirmFn | None) -> tuple[str, str]:
        read = self.client.ocr()
        fields = {"name": str(read.get("name") or ""), "idNumber": str(read.get("idNumber") or "")}
        low = list(read.get("lowConfidence") or [])
        if not read.get("found", True):
            low = ["name", "idNumber"]
        if confirm is not None:
            answer = confirm(fields, low)
        elif low:
            answer = self.ui.confirm(fields, low)
        else:
            answer = (fields["name"], fields["idNumber"])
        if answer is None:
            raise Cancelled
        return answer

    def _cancel(self) -> SdkResult:
        try:
            answer = self.client.cancel()
        except DeviceError as err:
            return SdkResult(-1, -1, "cancelled", error=err)
        return SdkResult(-1, -1, str(answer.get("message") or "cancelled"), answer=answer)
