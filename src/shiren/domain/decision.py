"""Turning check outcomes into one VerifyStatus (SPEC section 3).

Every check keeps its own outcome as evidence; the verdict reports the first failure in a fixed order,
the most fundamental first: a liveness attack outranks a wrong name, a wrong name outranks a blurry card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASSED = 1
NOT_VERIFIED = -1

# The order in which failures are reported.
PRECEDENCE: tuple[int, ...] = (9, 2, 12, 11, 8, 3, 4, 5, 7, 6, 10)


@dataclass
class Check:
    """One check's outcome; ``passed=None`` means it did not apply (such a check never decides)."""

    name: str
    fails_with: int
    passed: bool | None
    score: float | None = None
    threshold: float | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_evidence(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", {})}


def decide(checks: list[Check]) -> int:
    """The highest-precedence failure, or 1 when at least one check passed and none failed."""
    failed = {c.fails_with for c in checks if c.passed is False}
    for status in PRECEDENCE:
        if status in failed:
            return status
    if any(c.passed for c in checks):
        return PASSED
    return NOT_VERIFIED


def score_check(name: str, fails_with: int, score: float | None, threshold: float, detail: str = "") -> Check:
    """A comparison check: passes when the calibrated score reaches the scene's threshold."""
    if score is None:
        return Check(name, fails_with, False, None, threshold, detail or "no comparable face")
    return Check(name, fails_with, score >= threshold, round(score, 2), threshold, detail)


# Default thresholds on the calibrated 0-100 scale (80 ↔ FAR 1e-3). A stricter 90 (1e-4) rejects too many
# genuine users against small, years-old card portraits with the CC0 dlib model; scenes can raise it.
DEFAULT_THRESHOLDS: dict[str, float] = {"authority": 80.0, "idcard": 80.0, "retained": 80.0}
# The comparisons a scene can set a threshold for: the authority photo, the card portrait, a retained photo.
THRESHOLD_NAMES: tuple[str, ...] = tuple(DEFAULT_THRESHOLDS)


def thresholds_for(scene_thresholds: dict[str, float] | None) -> dict[str, float]:
    return {**DEFAULT_THRESHOLDS, **(scene_thresholds or {})}


# What each VerifyStatus means, in words a device can show (the SDKs localise by code).
STATUS_MESSAGES: dict[int, str] = {
    -1: "not verified",
    1: "passed",
    2: "the name and ID number do not match",
    3: "the name on the ID card could not be read or differs",
    4: "the number on the ID card could not be read or differs",
    5: "the ID card has expired",
    6: "the face does not match the ID card portrait",
    7: "the face does not match the reference photo",
    8: "the photo is not of an original ID card",
    9: "liveness check failed",
    10: "the face does not match the retained photo",
    11: "the reference photo is missing or unusable",
    12: "the identity authority is unavailable; try again later",
}
