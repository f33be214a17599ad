"""The device protocol's wire shapes (camelCase JSON) of what the device services return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shiren.domain.challenge import ChallengePlan
from shiren.services.device import CardConfirmation, GuideHint, SessionState, UploadReceipt
from shiren.services.device_submit import DeviceAnswer
from shiren.storage.models import Challenge

_FIELD = {"name": "name", "number": "idNumber"}


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def answer_body(answer: DeviceAnswer) -> dict[str, Any]:
    state = -1 if answer.status == -1 else (1 if answer.status == 1 else 2)
    body: dict[str, Any] = {
        "state": state,
        "code": answer.status,
        "message": answer.message,
        "bizId": answer.biz_id,
        "result": answer.result,
    }
    if answer.redirect_url:
        body["redirectUrl"] = answer.redirect_url
    if answer.held:  # decided by the checks, waiting for a person: the final answer comes later
        body["review"] = True
    return body


def session_body(view: SessionState, answer: DeviceAnswer | None) -> dict[str, Any]:
    scheme = view.scheme
    return {
        "scheme": scheme.name,
        "bizType": view.biz_type,
        "steps": view.steps,
        "state": view.state,
        "expiresAt": ms(view.expires_at),
        "consent": {"version": view.consent_version, "given": view.consent_given, "text": view.consent_text},
        "needs": {
            "idCard": scheme.captures_card,
            "manualInput": scheme.manual_input,
            "confirm": scheme.confirm_step,
            "flash": scheme.flash,
        },
        "limits": {
            "maxVideoBytes": view.max_video_bytes,
            "maxImageBytes": view.max_image_bytes,
            "challengesLeft": view.challenges_left,
        },
        "uploads": view.uploads,
        "result": answer_body(answer) if answer is not None else None,
    }


def consent_body(accepted_at: datetime) -> dict[str, Any]:
    return {"accepted": True, "at": ms(accepted_at)}


def challenge_body(challenge: Challenge, plan: ChallengePlan) -> dict[str, Any]:
    return {
        "challengeId": challenge.id,
        "actions": plan.actions,
        "captureMs": plan.capture_ms,
        "prompts": [{"action": p.action, "atMs": p.at_ms} for p in plan.prompts],
        "flash": plan.flash,
        "expiresAt": ms(challenge.expires_at),
    }


def upload_body(receipt: UploadReceipt) -> dict[str, Any]:
    return {"kind": receipt.kind, "sha256": receipt.sha256, "size": receipt.size}


def guide_body(hint: GuideHint) -> dict[str, Any]:
    face = dict(zip(("x", "y", "w", "h"), hint.face, strict=True)) if hint.face else None
    return {"hint": hint.hint, "face": face}


def card_body(card: CardConfirmation) -> dict[str, Any]:
    if not card.found:
        return {"found": False, "name": "", "idNumber": "", "lowConfidence": ["name", "idNumber"]}
    return {
        "found": True,
        "name": card.name,
        "idNumber": card.number,
        "lowConfidence": [_FIELD[f] for f in card.unsure],
    }
