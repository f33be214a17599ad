"""One function judges every scheme: the live face (a still or a capture), the identity, the card, the
retained photo and the authority, then one VerifyStatus. Pure computation: nothing is written here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np

from shiren.authority import Authorities
from shiren.domain.challenge import EARLY_MS, REACTION_MS
from shiren.domain.decision import NOT_VERIFIED, Check, decide, score_check
from shiren.domain.idnumber import IdNumber, InvalidIdNumber, parse_id_number
from shiren.domain.review import held_reasons
from shiren.engine import idcard
from shiren.engine.liveness import (
    LivenessReport,
    PromptTiming,
    VideoRejected,
    decode_video,
    verify_capture,
)
from shiren.engine.models import Models
from shiren.services.decision.checks import authority_checks, card_checks
from shiren.services.decision.inputs import Capture, DecisionInputs
from shiren.services.decision.replay import ReplayIndex, content_freshness
from shiren.services.faces import FaceAnalysis, analyse_face, compare
from shiren.settings import Settings

# A capture uploaded sooner after its challenge than this share of its length was not recorded for it.
MIN_RECORDING_SHARE = 0.7
DURATION_SLACK_MS = 2500


class CardReader(Protocol):
    def __call__(
        self, front_bgr: np.ndarray | None, back_bgr: np.ndarray | None, *, front: idcard.CardFront | None
    ) -> idcard.IdCardReading: ...


class LivenessJudge(Protocol):
    def __call__(
        self,
        video: bytes,
        actions: list[str],
        flash: dict[str, Any] | None,
        timing: PromptTiming | None = None,
    ) -> LivenessReport:
        """Decode and judge a capture; raises VideoRejected for an unreadable one."""
        ...


@dataclass(frozen=True)
class DecisionModels:
    """What a decision runs on, built from the runtime's models: the face models, the authorities, the
    limits images and videos are decoded under, and the two engine stages that need many models at once
    (card reading, liveness). Tests replace those stages to judge the pipeline's own rules quickly."""

    models: Models
    authorities: Authorities
    limits: Settings
    card_reader: CardReader | None = None
    liveness_judge: LivenessJudge | None = None
    # Earlier captures' content prints (check capture_content_fresh); None: no such check.
    replay_index: ReplayIndex | None = None

    def read_card(
        self, front_bgr: np.ndarray | None, back_bgr: np.ndarray | None, front: idcard.CardFront | None
    ) -> idcard.IdCardReading:
        if self.card_reader is not None:
            return self.card_reader(front_bgr, back_bgr, front=front)
        return idcard.read_card(front_bgr, back_bgr, ocr=self.models.ocr, front=front)

    def judge_liveness(
        self,
        video: bytes,
        actions: list[str],
        flash: dict[str, Any] | None,
        timing: PromptTiming | None = None,
    ) -> LivenessReport:
        if self.liveness_judge is not None:
            return self.liveness_judge(video, actions, flash, timing=timing)
        t0 = time.perf_counter()
        frames = decode_video(video, max_seconds=self.limits.max_video_seconds)
        decode_ms = round((time.perf_counter() - t0) * 1000, 1)
        report = verify_capture(frames, actions, models=self.models, flash=flash, timing=timing)
        report.timings_ms["decode"] = decode_ms
        return report


@dataclass
class Outcome:
    """The verdict and everything that led to it."""

    status: int
    checks: list[Check]
    name: str | None  # the identity that was checked (typed, confirmed or read from the card)
    id_number: str | None
    face: FaceAnalysis | None
    face_image: np.ndarray | None  # the image the live face was analysed in (the still, or the best frame)
    liveness: LivenessReport | None
    material: dict[str, Any]
    authority_score: float | None = None
    idcard_face_score: float | None = None
    face_score: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    content_tokens: list[str] = field(default_factory=list)  # the capture's print, recorded with the verdict
    # Why the verdict waits for a reviewer (the scene's review band); empty: ``status`` is final.
    held: list[str] = field(default_factory=list)

    @property
    def visible_status(self) -> int:
        """What the integrator and the device see now: -1 ("not yet") while a reviewer decides."""
        return NOT_VERIFIED if self.held else self.status

    @property
    def decision_ms(self) -> float:
        """The decision's own time: the live face, the card and the identity stages."""
        stages = ("face", "liveness", "card", "identity")
        return round(sum(self.timings_ms.get(k, 0.0) for k in stages), 1)


def capture_checks(capture: Capture, duration_ms: float) -> list[Check]:
    """Was this capture recorded for this challenge, now, and only once?"""
    longest = capture.capture_ms + DURATION_SLACK_MS
    elapsed_ms = (capture.uploaded_at - capture.issued_at).total_seconds() * 1000
    too_short = duration_ms < 0.6 * capture.capture_ms
    too_soon = elapsed_ms < MIN_RECORDING_SHARE * duration_ms
    too_late = capture.uploaded_at > capture.expires_at
    return [
        Check(
            "capture_fresh",
            9,
            not capture.replayed,
            detail="this capture was already uploaded for another attempt" if capture.replayed else "",
        ),
        Check(
            "capture_length",
            9,
            not too_short and duration_ms <= longest,
            round(duration_ms),
            capture.capture_ms,
            "the capture is shorter than the challenge"
            if too_short
            else ("the capture is longer than the challenge" if duration_ms > longest else ""),
        ),
        Check(
            "capture_after_challenge",
            9,
            not too_soon and not too_late,
            round(elapsed_ms),
            detail="uploaded too soon after the challenge to have been recorded for it"
            if too_soon
            else ("uploaded after the challenge expired" if too_late else ""),
        ),
    ]


def _timing(capture: Capture) -> PromptTiming | None:
    """The prompt moments a timed challenge's capture must follow (``domain.challenge``)."""
    if capture.prompt_ms is None:
        return None
    return PromptTiming(capture.prompt_ms, early_ms=EARLY_MS, reaction_ms=REACTION_MS)


def _live_face(
    deps: DecisionModels, inputs: DecisionInputs, checks: list[Check], timings: dict[str, float]
) -> tuple[FaceAnalysis | None, np.ndarray | None, LivenessReport | None]:
    """The face to compare: from the still, or from the best frame of a capture that passed through
    liveness (whose checks are added to ``checks``)."""
    if inputs.capture is None:
        if inputs.face is None:
            return None, None, None
        face = analyse_face(deps.models, inputs.face.bgr)
        timings.update({f"face_{k}": v for k, v in (face.timings_ms if face else {}).items()})
        return face, inputs.face.bgr, None
    capture = inputs.capture
    try:
        report = deps.judge_liveness(capture.video, list(capture.actions), capture.flash, _timing(capture))
    except VideoRejected as exc:
        checks.append(Check("capture_readable", 9, False, detail=exc.message))
        return None, None, None
    checks += capture_checks(capture, report.duration_ms)
    checks += report.checks
    timings.update(report.timings_ms)
    if report.best_frame is None:
        return None, None, report
    return analyse_face(deps.models, report.best_frame), report.best_frame, report


def _number(text: str | None, today: date) -> tuple[IdNumber | None, Check]:
    try:
        number = parse_id_number(text or "", today=today)
    except InvalidIdNumber as exc:
        return None, Check("id_number", 2, False, detail=exc.reason)
    return number, Check(
        "id_number", 2, True, data={"kind": number.kind, "region_known": number.region_known}
    )


def _identity_checks(
    deps: DecisionModels,
    inputs: DecisionInputs,
    reading: idcard.IdCardReading | None,
    outcome: Outcome,
    today: date,
) -> list[Check]:
    """The ID number, the authority (2, 12, 11, 7) and the card (8, 3, 4, 5, 6) of an identity scheme."""
    checks: list[Check] = []
    thresholds, face = inputs.thresholds, outcome.face
    card_front = reading.front if reading is not None else None
    from_card = inputs.scheme.confirm_step and not inputs.name
    if from_card and card_front is not None:
        outcome.name, outcome.id_number = card_front.name, card_front.number  # nothing confirmed: the card's
    name, number_text = outcome.name or "", outcome.id_number or ""
    # An identity read from a card that is not there is no identity: the card's check (8) says why.
    card_missing = from_card and not (card_front is not None and card_front.found and card_front.genuine)
    if not card_missing:
        number, number_check = _number(number_text, today)
        checks.append(number_check)
        auth, outcome.authority_score = authority_checks(
            deps.models,
            deps.authorities.for_scene(inputs.authority),
            inputs.tenant_id,
            name,
            number,
            face,
            thresholds["authority"],
            deps.limits,
        )
        checks += auth
        outcome.material.update({"IdCardName": outcome.name, "IdCardNumber": outcome.id_number})
    if reading is not None:
        card, card_info, outcome.idcard_face_score = card_checks(
            deps.models,
            reading,
            name,
            number_text,
            face,
            thresholds["idcard"],
            today,
            confirmed=inputs.confirmed,
        )
        checks += card
        if card_info:
            outcome.material["IdCardInfo"] = card_info
    return checks


def _retained_check(deps: DecisionModels, inputs: DecisionInputs, outcome: Outcome) -> Check:
    """Check 10: the live face against the integrator's retained photo."""
    assert inputs.retained is not None
    retained = analyse_face(deps.models, inputs.retained.bgr)
    face = outcome.face
    outcome.face_score = compare(face.embedding if face else None, retained.embedding if retained else None)
    return score_check(
        "face_vs_retained",
        10,
        outcome.face_score,
        inputs.thresholds["retained"],
        "" if retained else "no face in the retained photo",
    )


def _content_fresh(
    deps: DecisionModels, report: LivenessReport | None, checks: list[Check], timings: dict[str, float]
) -> list[str]:
    """Check ``capture_content_fresh`` when the decision has a replay index; returns the capture's tokens
    to record. A capture that failed is recorded too: a clip recorded beforehand, fishing for a challenge
    it fits, then gets one try, so ``domain.challenge.fit_chance`` is the chance of each clip an attacker
    holds, not of each challenge he asks for."""
    if deps.replay_index is None or report is None or report.content is None:
        return []
    t0 = time.perf_counter()
    found = content_freshness(deps.replay_index, report.content, record=True)
    checks.append(found.check)
    timings["content_index"] = (time.perf_counter() - t0) * 1000
    return found.tokens


def evaluate(deps: DecisionModels, inputs: DecisionInputs, today: date) -> Outcome:
    """Every check the scheme needs, then one verdict."""
    timings: dict[str, float] = {}
    checks: list[Check] = list(inputs.unavailable)
    t0 = time.perf_counter()
    face, face_image, report = _live_face(deps, inputs, checks, timings)
    tokens = _content_fresh(deps, report, checks, timings)
    t1 = time.perf_counter()
    reading = None
    if inputs.front is not None or inputs.back is not None or inputs.front_read is not None:
        reading = deps.read_card(
            inputs.front.bgr if inputs.front is not None and inputs.front_read is None else None,
            inputs.back.bgr if inputs.back is not None else None,
            inputs.front_read,
        )
    t2 = time.perf_counter()
    outcome = Outcome(0, checks, inputs.name, inputs.id_number, face, face_image, report, {})
    outcome.content_tokens = tokens
    if inputs.scheme.identity:
        checks += _identity_checks(deps, inputs, reading, outcome, today)
    if inputs.scheme.retained_photo and inputs.retained is not None:
        checks.append(_retained_check(deps, inputs, outcome))
    if inputs.scheme.face_only:
        usable = face is not None and face.quality.level != "UNQUALIFIED"
        checks.append(
            Check("face_usable", 11, usable, detail="" if usable else "no usable face in the photo")
        )
    t3 = time.perf_counter()
    outcome.status = decide(checks)
    outcome.held = held_reasons(checks, outcome.status, inputs.review)
    outcome.material.update(
        {"FaceQuality": face.quality.level, "FaceMask": bool(face.quality.mask)}
        if face is not None
        else {"FaceQuality": "UNQUALIFIED", "FaceMask": False}
    )
    timings.update(
        {
            "face" if inputs.capture is None else "liveness": (t1 - t0) * 1000,
            "card": (t2 - t1) * 1000,
            "identity": (t3 - t2) * 1000,
        }
    )
    outcome.timings_ms = {k: round(v, 1) for k, v in timings.items()}
    return outcome
