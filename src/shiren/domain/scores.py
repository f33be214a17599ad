"""Comparison scores on the 0-100 scale of SPEC 3, where a threshold means a false-accept rate:
95 <-> 1e-5, 90 <-> 1e-4, 80 <-> 1e-3, 60 <-> 1e-2.

The score is piecewise linear in log10(FAR) between those anchors, extended to 100 at 1e-6 and to 0 at
FAR = 1, and clamped to 0..100. The FAR of a distance comes from a normal model of impostor distances
(Euclidean distance between L2-normalised embeddings, 0..2): FAR(d) = P(impostor distance <= d).

How the model was fitted (bench/calibrate_scores.py; figures in bench/results/calibrate_scores.json):
dlib ResNet v1 embeddings of 34 faces of 31 people in the test photographs (face_recognition sdist:
obama.jpg, obama2.jpg, obama3.jpg, biden.jpg; insightface wheel: the 6 faces of t1.jpg and Tom Hanks;
face-api npm: 21 faces of 20 women in demo/sample1-6.jpg; scikit-image astronaut.png; matplotlib
grace_hopper.jpg), all 557 pairs of different people. Normal fits of their distances:
all pairs mean 0.556 sd 0.070; same-sex pairs 0.524 / 0.061; the 21 pairs among the 7 East / South-East
Asian-looking faces 0.451 / 0.055 (10 of them across photos: 0.444, so not a same-photo artefact).
dlib's published operating point (raw distance 0.6 at 99.38 % LFW accuracy, so at most 0.62 % false
accepts; 0.411 normalised with the median descriptor norm 1.459) implies a normal with mean 0.587 at the
all-pairs spread: more optimistic than every fit above, so it only bounds them. Kept: the location of the
East-Asian pairs, because a Chinese service meets Chinese impostors and dlib's model separates East-Asian
faces least well (see github.com/ageitgey/face_recognition/issues/612), with the spread pooled over all
pairs inside demographically homogeneous groups (East-Asian women 0.055, other women 0.056, men 0.045;
pooled 0.0549 over 216 pairs): mixed groups (all, same-sex) have a spread inflated by the differences
between groups, and the East-Asian subset alone is small. This model is more conservative than the
all-pairs, same-sex and LFW ones at every anchor. Resulting distances: score 95 <-> 0.217, 90 <-> 0.247,
80 <-> 0.281, 60 <-> 0.323. Genuine pairs: obama/obama2 0.255 (87), obama/obama3 0.235 (92),
obama2/obama3 0.316 (63), the face-api woman seen twice 0.274 (82); the closest impostor pair 0.358 (40).
Uncertainty: the East-Asian mean rests on 7 faces (standard error ~0.02, i.e. a factor ~3 in FAR at the
80 threshold) and rates under 1e-3 are extrapolated from a normal tail. Recalibrate on a real
same-population dataset before relying on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Calibration:
    """Normal model of impostor distances for one embedder."""

    mean: float
    std: float


# Fitted by bench/calibrate_scores.py (see module docstring). dlib-onnx runs the same network (cosine >= 0.999
# to dlib's own output), so it shares the constants.
DLIB = Calibration(mean=0.4507, std=0.0549)
CALIBRATIONS: dict[str, Calibration] = {"dlib": DLIB, "dlib-onnx": DLIB}

# (log10 FAR, score) knots, FAR decreasing; the SPEC anchors plus the two ends.
KNOTS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (-2.0, 60.0),
    (-3.0, 80.0),
    (-4.0, 90.0),
    (-5.0, 95.0),
    (-6.0, 100.0),
)
MIN_LOG_FAR = KNOTS[-1][0]


def far_at_distance(distance: float, calibration: Calibration = DLIB) -> float:
    """Estimated share of impostor pairs at or below this distance."""
    z = (distance - calibration.mean) / calibration.std
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def score_from_far(far: float) -> float:
    """The 0..100 score whose threshold accepts impostors at rate `far`."""
    if far <= 0.0:
        return 100.0
    lf = math.log10(min(far, 1.0))
    if lf <= MIN_LOG_FAR:
        return 100.0
    for (f0, s0), (f1, s1) in zip(KNOTS, KNOTS[1:], strict=False):
        if f1 <= lf <= f0:
            return s0 + (s1 - s0) * (lf - f0) / (f1 - f0)
    return 0.0


def far_at_score(score: float) -> float:
    """False-accept rate meant by a score threshold (inverse of score_from_far)."""
    s = min(max(float(score), 0.0), 100.0)
    for (f0, s0), (f1, s1) in zip(KNOTS, KNOTS[1:], strict=False):
        if s0 <= s <= s1:
            return 10.0 ** (f0 + (f1 - f0) * (s - s0) / (s1 - s0))
    return 10.0**MIN_LOG_FAR


def similarity_score(distance: float, calibration: Calibration | str = DLIB) -> float:
    """Calibrated 0..100 score of an embedding distance (smaller distance, higher score)."""
    cal = CALIBRATIONS[calibration] if isinstance(calibration, str) else calibration
    return score_from_far(far_at_distance(float(distance), cal))


def distance_at_score(score: float, calibration: Calibration | str = DLIB) -> float:
    """The distance that scores exactly `score`: a scene threshold expressed for the embedder."""
    cal = CALIBRATIONS[calibration] if isinstance(calibration, str) else calibration
    far = min(max(far_at_score(score), 1e-300), 1.0 - 1e-12)
    return NormalDist(cal.mean, cal.std).inv_cdf(far)
