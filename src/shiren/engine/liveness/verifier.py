"""The liveness verdict over one capture: the challenged actions in order, one and the same face all along,
and (RPBioOnlyPro) the screen's colour sequence reflected on it. Every failure is liveness failure
(VerifyStatus 9); each check is kept as evidence with its measures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from shiren.domain.decision import Check
from shiren.domain.scores import similarity_score
from shiren.engine.face.quality import blur_measure
from shiren.engine.models import Models

from .actions import (
    BLINK_OPEN,
    ActionEvent,
    PromptTiming,
    RestState,
    find_actions,
    match_challenge,
    rest_state,
)
from .flash import MIN_MATCHED, flash_response
from .replay import ContentPrint, content_print
from .signals import FrameSignals, measure
from .video import Frame

MIN_FACE_SHARE = 0.7  # frames in which the face must be found
MAX_MULTI_FACE_SHARE = 0.2  # frames that may show a second face
CONTINUITY_SAMPLES = 6  # frames compared with the best frame
MIN_CONTINUITY = 60.0  # calibrated similarity (FAR 1e-2) a sampled frame in the best frame's pose must reach
MIN_CONTINUITY_POSED = 20.0  # ... and one in a clearly different pose (impostors: p50 0.3, p99 27)
SAME_POSE_YAW, SAME_POSE_PITCH = 0.2, 0.12
MAX_JUMP = 0.6  # face-centre move between consecutive frames, in face widths (a cut in the video)
FRONTAL = 0.06  # pose distance from rest for a frame to count as frontal


@dataclass
class LivenessReport:
    checks: list[Check]
    events: list[ActionEvent]
    best_index: int | None
    best_frame: np.ndarray | None
    frames: int
    duration_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    content: ContentPrint | None = None  # the capture's content fingerprint, for replay detection

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    def evidence(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "duration_ms": round(self.duration_ms),
            "events": [
                {"action": e.action, "start_ms": round(e.start_ms), "end_ms": round(e.end_ms)}
                for e in self.events
            ],
            "best_frame": self.best_index,
            "timings_ms": self.timings_ms,
        }


def _frontal(s: FrameSignals, rest: RestState, tol: float = FRONTAL) -> bool:
    return (
        s.has_face
        and abs((s.yaw or 0) - rest.yaw) < tol
        and abs((s.pitch or 0) - rest.pitch) < tol
        and (s.ear or 0) > BLINK_OPEN * rest.ear
        and (s.mouth or 0) - rest.mouth < 0.08
    )


def _sharpness(image: np.ndarray, s: FrameSignals) -> float:
    b = s.box
    assert b is not None
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, int(b.x)), max(0, int(b.y)), min(w, int(b.x + b.w)), min(h, int(b.y + b.h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return blur_measure(grey) * min(1.0, b.w / 150.0)


def _best_frame(frames: list[Frame], signals: list[FrameSignals], rest: RestState) -> int | None:
    """The sharpest frontal frame with open eyes and a closed mouth (Material.FaceImageUrl)."""
    candidates = [i for i, s in enumerate(signals) if _frontal(s, rest)]
    if not candidates:
        candidates = [i for i, s in enumerate(signals) if s.has_face]
    if not candidates:
        return None
    return max(candidates, key=lambda i: _sharpness(frames[i].bgr, signals[i]))


def _embed(models: Models, image: np.ndarray) -> np.ndarray | None:
    faces = models.detector.detect(image)
    return models.embedder.embed(image, faces[0]) if faces else None


def _pose_gap(a: FrameSignals, b: FrameSignals) -> tuple[float, float]:
    return abs((a.yaw or 0.0) - (b.yaw or 0.0)), abs((a.pitch or 0.0) - (b.pitch or 0.0))


def _samples_over_time(signals: list[FrameSignals], bins: int, best: int) -> list[int]:
    """One frame from each stretch of the clip: the one posed most like the best frame, eyes open."""
    with_face = [i for i, s in enumerate(signals) if s.has_face and i != best]
    ref = signals[best]
    picks: list[int] = []
    for k in range(bins):
        chunk = with_face[k * len(with_face) // bins : (k + 1) * len(with_face) // bins]
        if not chunk:
            continue
        ear = max(signals[j].ear or 0.0 for j in chunk)

        def distance(i: int, ear: float = ear) -> float:
            closed = 1.0 if (signals[i].ear or 0.0) < BLINK_OPEN * ear else 0.0
            return sum(_pose_gap(signals[i], ref)) + closed

        picks.append(min(chunk, key=distance))
    return picks


def _continuity(models: Models, frames: list[Frame], signals: list[FrameSignals], best: int) -> Check:
    """The face of the best frame must be the face all along: compare it with one frame from each sixth of
    the clip, so a second person is sampled wherever they appear. The embedder loses accuracy across large
    pose differences (a same-person pair 0.4 yaw apart scores ~30), so such pairs only need to clear the
    weaker POSED bar; impostors score near 0 either way."""
    pool = _samples_over_time(signals, CONTINUITY_SAMPLES, best)
    reference = _embed(models, frames[best].bgr)
    scores: list[float] = []
    short: list[float] = []
    for i in pool:
        other = _embed(models, frames[i].bgr)
        if reference is None or other is None:
            continue
        score = round(similarity_score(float(np.linalg.norm(reference - other))), 1)
        yaw_gap, pitch_gap = _pose_gap(signals[i], signals[best])
        posed = yaw_gap > SAME_POSE_YAW or pitch_gap > SAME_POSE_PITCH
        scores.append(score)
        if score < (MIN_CONTINUITY_POSED if posed else MIN_CONTINUITY):
            short.append(score)
    jumps = 0
    previous: FrameSignals | None = None
    for s in signals:
        if s.has_face and previous is not None and s.box is not None and previous.box is not None:
            (cx, cy), (px, py) = s.box.center, previous.box.center
            if np.hypot(cx - px, cy - py) > MAX_JUMP * max(previous.box.w, 1.0):
                jumps += 1
        previous = s if s.has_face else previous
    lowest = min(scores) if scores else None
    ok = jumps == 0 and not short
    detail = (
        "" if ok else ("the face jumps between frames" if jumps else "the face changes during the capture")
    )
    data = {"samples": len(scores), "jumps": jumps, "scores": scores}
    return Check("liveness_same_face", 9, ok, lowest, MIN_CONTINUITY, detail, data)


def best_face_frame(frames: list[Frame], *, models: Models) -> np.ndarray | None:
    """The sharpest frontal open-eyed frame of a clip judged without a challenge (a face video sent for
    comparison only: nothing here says it is live)."""
    signals = measure(frames, detector=models.detector)
    rest = rest_state(signals)
    best = _best_frame(frames, signals, rest) if rest is not None else None
    return frames[best].bgr if best is not None else None


def verify_capture(
    frames: list[Frame],
    actions: list[str],
    *,
    models: Models,
    flash: dict[str, Any] | None = None,
    timing: PromptTiming | None = None,
) -> LivenessReport:
    """Run every liveness check over decoded frames for a challenge of ``actions`` (in order; with
    ``timing``, each right after its prompt)."""
    t0 = time.perf_counter()
    signals = measure(frames, detector=models.detector)
    t1 = time.perf_counter()
    duration = frames[-1].t_ms - frames[0].t_ms if frames else 0.0
    checks: list[Check] = []
    with_face = sum(1 for s in signals if s.has_face)
    share = with_face / max(len(signals), 1)
    checks.append(
        Check(
            "liveness_face_visible",
            9,
            share >= MIN_FACE_SHARE,
            round(share, 2),
            MIN_FACE_SHARE,
            "" if share >= MIN_FACE_SHARE else "no face in much of the capture",
        )
    )
    multi = sum(1 for s in signals if s.faces > 1) / max(len(signals), 1)
    checks.append(
        Check(
            "liveness_single_face",
            9,
            multi <= MAX_MULTI_FACE_SHARE,
            round(multi, 2),
            MAX_MULTI_FACE_SHARE,
            "" if multi <= MAX_MULTI_FACE_SHARE else "more than one face in the capture",
        )
    )
    rest = rest_state(signals)
    events: list[ActionEvent] = []
    best: int | None = None
    if rest is None or with_face < 3:
        checks.append(Check("liveness_actions", 9, False, detail="no face to follow"))
    else:
        events = find_actions(signals, rest)
        match = match_challenge(events, actions, timing)
        ok = not match.missing and not match.unexpected
        if match.missing:
            when = "right after its prompt" if timing else "in the asked order"
            detail = f"not performed {when}: {', '.join(match.missing)}"
        elif match.unexpected:
            detail = f"actions that were not asked for: {', '.join(match.unexpected)}"
        else:
            detail = ""
        checks.append(
            Check(
                "liveness_actions",
                9,
                ok,
                detail=detail,
                data={
                    "asked": actions,
                    "seen": [e.action for e in events],
                    "prompt_ms": list(timing.prompt_ms) if timing else None,
                    "seen_ms": [round(e.start_ms) for e in events],
                },
            )
        )
        best = _best_frame(frames, signals, rest)
        if best is not None:
            checks.append(_continuity(models, frames, signals, best))
        if flash:
            result = flash_response(signals, flash)
            checks.append(
                Check(
                    "liveness_flash_reflection",
                    9,
                    result.passed,
                    round(result.matched, 3),
                    round(MIN_MATCHED, 3),
                    "" if result.passed else "the screen's colours are not reflected on the face",
                    {
                        "amplitude": round(result.amplitude, 4),
                        "offset_ms": result.offset_ms,
                        "asked": list(flash["colors"]),
                        "seen": result.seen,
                    },
                )
            )
    t2 = time.perf_counter()
    content = content_print(frames, signals)
    t3 = time.perf_counter()
    report = LivenessReport(
        checks,
        events,
        best,
        frames[best].bgr if best is not None else None,
        len(frames),
        duration,
        {
            "landmarks": round((t1 - t0) * 1000, 1),
            "checks": round((t2 - t1) * 1000, 1),
            "content_print": round((t3 - t2) * 1000, 1),
        },
        content,
    )
    return report
