"""Human review: which verdicts a person decides instead of the checks, and what a person may decide.

A scene's review band names borderline failures: a face comparison that scored between ``face_from`` and
its threshold, or a card's name or number that differs from the claimed identity but was read with an OCR
confidence under ``card_confidence_below``. A verdict is held for review only when every failed check is
in the band: one failure outside it (a liveness attack, a wrong name at the authority) is a verdict the
machine gives by itself, and a person cannot turn it into a pass by accident of the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiren.domain.decision import PASSED, Check

# The comparisons whose score a band can cover (checks 6, 7, 10) and the card fields (3, 4).
FACE_CHECKS = ("face_vs_card_portrait", "face_vs_authority", "face_vs_retained")
CARD_FIELD_CHECKS = ("card_name", "card_number")

HELD = "held"  # waiting for a reviewer; the integrator sees VerifyStatus -1
REVIEWED = "reviewed"  # a reviewer decided it
OVERRIDDEN = "overridden"  # an admin changed a decided verdict

APPROVE = "approve"
REJECT = "reject"

# Why a reviewer decides as they do: the codes a console offers (and the API of the console accepts).
APPROVE_REASONS = ("same_person", "card_readable", "other")
REJECT_REASONS = ("different_person", "document_mismatch", "suspected_fraud", "poor_quality", "other")
# Overrides name the verdict they set: 1 (passed) or a failure status.
OVERRIDE_REASONS = ("customer_dispute", "reviewer_error", "fraud_found_later", "other")
MAX_COMMENT = 2000


class ReviewBandError(ValueError):
    """A review band that cannot be set as asked."""


@dataclass(frozen=True)
class ReviewBand:
    """A scene's band; an empty band holds nothing."""

    face_from: float | None = None
    card_confidence_below: float | None = None

    @classmethod
    def of(cls, settings: dict[str, Any] | None) -> ReviewBand:
        settings = settings or {}
        return cls(settings.get("face_from"), settings.get("card_confidence_below"))

    @property
    def empty(self) -> bool:
        return self.face_from is None and self.card_confidence_below is None


def check_review_settings(settings: dict[str, Any] | None) -> dict[str, float]:
    """The band's settings as stored: ``face_from`` on the 0-100 scale, ``card_confidence_below`` 0-1."""
    out: dict[str, float] = {}
    for key, value in (settings or {}).items():
        if value is None:
            continue
        if key not in ("face_from", "card_confidence_below"):
            raise ReviewBandError(f"unknown review setting {key!r}; face_from or card_confidence_below")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ReviewBandError(f"review setting {key} must be a number")
        high = 100.0 if key == "face_from" else 1.0
        if not 0 <= value <= high:
            raise ReviewBandError(f"review setting {key} must be between 0 and {high:g}")
        out[key] = float(value)
    return out


def _in_band(check: Check, band: ReviewBand) -> str | None:
    """Why this failed check is borderline, or None when it is a clear failure."""
    if check.name in FACE_CHECKS and band.face_from is not None:
        if check.score is not None and check.threshold is not None and band.face_from <= check.score:
            return (
                f"{check.name}: score {check.score:g} in the review band [{band.face_from:g}, "
                f"{check.threshold:g})"
            )
        return None
    if check.name in CARD_FIELD_CHECKS and band.card_confidence_below is not None:
        confidence = check.data.get("confidence")
        if confidence is not None and confidence < band.card_confidence_below:
            return (
                f"{check.name}: differs, read with confidence {confidence:.2f} "
                f"(under {band.card_confidence_below:g})"
            )
    return None


def held_reasons(checks: list[Check], status: int, band: ReviewBand) -> list[str]:
    """Why a verdict goes to a reviewer; empty when the machine's verdict stands."""
    if band.empty or status == PASSED:
        return []
    failed = [c for c in checks if c.passed is False]
    reasons = [_in_band(c, band) for c in failed]
    if not failed or any(r is None for r in reasons):
        return []
    return [r for r in reasons if r]


def review_outcome(decision: str, machine_status: int) -> int:
    """The verdict a reviewer's decision gives: approve passes, reject keeps the machine's failure."""
    if decision == APPROVE:
        return PASSED
    if decision == REJECT:
        if machine_status == PASSED:  # only failures are held (held_reasons)
            raise ValueError("a passed verdict is never held for review")
        return machine_status
    raise ValueError(f"decision must be {APPROVE} or {REJECT}")


def check_reason(decision: str, reason_code: str) -> None:
    """A reason code of the decision's list (the console shows only those)."""
    allowed = {APPROVE: APPROVE_REASONS, REJECT: REJECT_REASONS, "override": OVERRIDE_REASONS}[decision]
    if reason_code not in allowed:
        raise ValueError(f"reason must be one of {', '.join(allowed)}")
