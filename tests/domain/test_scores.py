"""The calibrated score scale of SPEC 3: thresholds mean false-accept rates."""

from __future__ import annotations

import math

import pytest

from shiren.domain import scores
from shiren.domain.scores import distance_at_score, far_at_distance, far_at_score, similarity_score

ANCHORS = {95: 1e-5, 90: 1e-4, 80: 1e-3, 60: 1e-2}


@pytest.mark.parametrize(("score", "far"), sorted(ANCHORS.items()))
def test_anchors(score: float, far: float) -> None:
    assert far_at_score(score) == pytest.approx(far, rel=1e-9)
    assert scores.score_from_far(far) == pytest.approx(score, abs=1e-9)
    d = distance_at_score(score)
    assert far_at_distance(d) == pytest.approx(far, rel=1e-6)
    assert similarity_score(d) == pytest.approx(score, abs=1e-6)


def test_piecewise_linear_in_log_far_between_anchors() -> None:
    # halfway (in log10) between 1e-3 and 1e-4 is halfway between 80 and 90
    assert scores.score_from_far(10**-3.5) == pytest.approx(85.0)
    assert scores.score_from_far(10**-2.5) == pytest.approx(70.0)
    assert far_at_score(85.0) == pytest.approx(10**-3.5)


def test_monotone_and_clamped() -> None:
    ds = [i / 1000 for i in range(0, 2001)]
    ss = [similarity_score(d) for d in ds]
    assert all(a >= b for a, b in zip(ss, ss[1:], strict=False))
    assert ss[0] == 100.0 and ss[-1] == 0.0
    assert all(0.0 <= s <= 100.0 for s in ss)
    fars = [far_at_score(s / 10) for s in range(0, 1001)]
    assert all(a >= b for a, b in zip(fars, fars[1:], strict=False))
    assert far_at_score(-5) == 1.0 and far_at_score(150) == pytest.approx(1e-6)
    assert scores.score_from_far(0.0) == 100.0 and scores.score_from_far(2.0) == 0.0


def test_distance_thresholds_increase_as_the_score_falls() -> None:
    ds = [distance_at_score(s) for s in (95, 90, 80, 60)]
    assert ds == sorted(ds)
    # dlib's own default threshold (0.6 unnormalised, ~0.41 normalised) is far looser than a 1 % FAR here
    assert similarity_score(0.41) < 60


def test_named_calibrations() -> None:
    assert similarity_score(0.25, "dlib") == similarity_score(0.25, "dlib-onnx") == similarity_score(0.25)
    with pytest.raises(KeyError):
        similarity_score(0.25, "unknown")
    assert not math.isnan(similarity_score(float("inf")))
