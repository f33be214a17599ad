"""The review band: which verdicts a person decides, and what their decision gives."""

from __future__ import annotations

import pytest

from shiren.domain.decision import Check, decide
from shiren.domain.review import (
    ReviewBand,
    ReviewBandError,
    check_reason,
    check_review_settings,
    held_reasons,
    review_outcome,
)

BAND = ReviewBand(face_from=60, card_confidence_below=0.9)


def face(score: float, threshold: float = 80) -> Check:
    return Check("face_vs_authority", 7, score >= threshold, score, threshold)


def card_name(same: bool, confidence: float) -> Check:
    return Check("card_name", 3, same, data={"confidence": confidence})


def held(*checks: Check, band: ReviewBand = BAND) -> list[str]:
    return held_reasons(list(checks), decide(list(checks)), band)


def test_a_borderline_face_score_is_held() -> None:
    reasons = held(Check("id_number", 2, True), face(72))
    assert reasons == ["face_vs_authority: score 72 in the review band [60, 80)"]


def test_scores_under_the_band_and_passes_are_not_held() -> None:
    assert held(face(59.9)) == []
    assert held(face(85)) == []  # passed: nothing for a person to decide


def test_one_clear_failure_keeps_the_machine_verdict() -> None:
    liveness = Check("liveness_actions", 9, False)
    assert held(face(72), liveness) == []
    assert held(face(72), Check("authority_identity", 2, False)) == []


def test_a_card_field_read_with_low_confidence_is_held_only_under_the_bar() -> None:
    assert held(card_name(False, 0.62)) == ["card_name: differs, read with confidence 0.62 (under 0.9)"]
    assert held(card_name(False, 0.97)) == []  # read with confidence: it really differs
    assert len(held(card_name(False, 0.5), face(70))) == 2


def test_an_empty_band_holds_nothing() -> None:
    assert held(face(72), band=ReviewBand()) == []
    assert held(face(72), band=ReviewBand.of({})) == []
    assert held(card_name(False, 0.5), band=ReviewBand(face_from=60)) == []


def test_review_outcomes() -> None:
    assert review_outcome("approve", 7) == 1
    assert review_outcome("reject", 7) == 7
    with pytest.raises(ValueError, match="never held"):
        review_outcome("reject", 1)
    with pytest.raises(ValueError):
        review_outcome("maybe", 7)
    check_reason("approve", "same_person")
    with pytest.raises(ValueError, match="reason"):
        check_reason("reject", "same_person")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"face_from": 101}, "between 0 and 100"),
        ({"card_confidence_below": 1.5}, "between 0 and 1"),
        ({"face_from": "60"}, "number"),
        ({"face_from": True}, "number"),
        ({"threshold": 60}, "unknown review setting"),
    ],
)
def test_band_settings_are_checked(settings: dict, message: str) -> None:
    with pytest.raises(ReviewBandError, match=message):
        check_review_settings(settings)


def test_band_settings_stored_as_numbers() -> None:
    assert check_review_settings({"face_from": 60, "card_confidence_below": None}) == {"face_from": 60.0}
