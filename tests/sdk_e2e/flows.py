"""Both sides of a mode-A verification in a test: the integrator's server (Alibaba's official SDK) and the
device (shiren's Python SDK with a test frame source).

The integrator asks for a token, the device runs :class:`shiren.sdk.Verification` with it, and the
integrator then reads DescribeVerifyResult: that, never the SDK's answer, is what the tests trust.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from shiren.sdk import DeviceClient, FrameSource, SdkResult, StillSource, Verification
from tests.sdk import models, tea
from tests.sdk_e2e.conftest import Env


class RecordingUI:
    """A UI that agrees to the consent and remembers everything it was asked to show."""

    def __init__(self, agree: bool = True) -> None:
        self.agree = agree
        self.seen: list[tuple[str, Any]] = []

    def consent(self, text: str, version: str) -> bool:
        self.seen.append(("consent", version))
        return self.agree

    def status(self, message: str) -> None:
        self.seen.append(("status", message))

    def hint(self, hint: str) -> None:
        self.seen.append(("hint", hint))

    def prompt(self, action: str) -> None:
        self.seen.append(("prompt", action))

    def flash(self, color: str | None) -> None:
        self.seen.append(("flash", color))

    def ask_card(self, side: str) -> None:
        self.seen.append(("card", side))

    def manual_input(self) -> tuple[str, str] | None:
        self.seen.append(("manual_input", None))
        return None

    def confirm(self, fields: dict[str, str], low_confidence: list[str]) -> tuple[str, str] | None:
        self.seen.append(("confirm", (fields, low_confidence)))
        return fields["name"], fields["idNumber"]

    def result(self, result: SdkResult) -> None:
        self.seen.append(("result", result.state))

    def of(self, kind: str) -> list[Any]:
        return [v for k, v in self.seen if k == kind]


def verify_token(
    env: Env, biz_type: str, biz_id: str, key: dict[str, str] | None = None, **params: Any
) -> str:
    """DescribeVerifyToken through the current Tea SDK, as the integrator's server does."""
    body = (
        tea(env.server, key or env.key)
        .describe_verify_token(models.DescribeVerifyTokenRequest(biz_id=biz_id, biz_type=biz_type, **params))
        .body
    )
    return body.verify_token


def verify_result(env: Env, biz_type: str, biz_id: str, key: dict[str, str] | None = None) -> dict[str, Any]:
    """DescribeVerifyResult through the Tea SDK: the integrator's only trusted answer."""
    resp = tea(env.server, key or env.key).describe_verify_result(
        models.DescribeVerifyResultRequest(biz_id=biz_id, biz_type=biz_type)
    )
    return resp.body.to_map()


def device(env: Env, token: str, **kw: Any) -> DeviceClient:
    return DeviceClient(env.server.url, token, **kw)


def run_device(
    env: Env,
    token: str,
    frames: FrameSource,
    stills: StillSource | None = None,
    ui: RecordingUI | None = None,
    **run_kw: Any,
) -> tuple[SdkResult, RecordingUI]:
    """The app's side: one Verification with the token, the sources and a recording UI."""
    ui = ui or RecordingUI()
    with device(env, token) as client:
        outcome = Verification(client, frames, stills, ui).run(**run_kw)
    return outcome, ui


@dataclass
class Run:
    token: str
    outcome: SdkResult  # the device's hint
    result: dict[str, Any]  # DescribeVerifyResult: the integrator's answer
    ui: RecordingUI

    @property
    def status(self) -> int:
        return int(self.result["VerifyStatus"])


def full(
    env: Env,
    biz_type: str,
    biz_id: str,
    frames: FrameSource,
    stills: StillSource | None = None,
    token_params: dict[str, Any] | None = None,
    **run_kw: Any,
) -> Run:
    """Token → device → DescribeVerifyResult. Checks that the SDK's hint agrees with the server's answer."""
    token = verify_token(env, biz_type, biz_id, **(token_params or {}))
    outcome, ui = run_device(env, token, frames, stills, **run_kw)
    result = verify_result(env, biz_type, biz_id)
    assert outcome.state in (1, 2), outcome
    assert outcome.code == result["VerifyStatus"], (outcome, result)
    assert outcome.state == (1 if outcome.code == 1 else 2)
    assert outcome.result and outcome.result.startswith("v1."), outcome
    return Run(token, outcome, result, ui)


def failed_checks(env: Env, token: str) -> dict[str, dict[str, Any]]:
    """The checks that failed in an attempt's stored evidence, by name (to see WHY a status came out)."""
    with sqlite3.connect(env.server.data_dir / "shiren.db") as conn:
        row = conn.execute("select evidence from attempts where verify_token = ?", (token,)).fetchone()
    evidence = json.loads(row[0]) if row and row[0] else {}
    return {c["name"]: c for c in evidence.get("checks", []) if c.get("passed") is False}
