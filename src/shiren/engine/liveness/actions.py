"""Finding actions (blink, open mouth, head turns, nod, the phone moved nearer or farther) in per-frame
signals, relative to the face's own rest state, so that the same rules hold for narrow and wide eyes, smiles,
camera angles and distances.

Thresholds come from the FaceMesh measurements in engine/face/landmarks.py: open eyes 0.20-0.45 EAR and
closed 0.05-0.11; closed lips under 0.05 and an open mouth 0.3-0.45; yaw proxy within +-0.05 frontal and
beyond +-0.2 clearly turned. "Left" and "right" are the user's own: turning to one's left moves the nose
toward the right of an unmirrored camera image, which is a positive yaw proxy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .signals import FrameSignals

BLINK_CLOSED = 0.6  # eye opening below this share of the open-eye level counts as closed
BLINK_OPEN = 0.8  # ... and above this share as open again
MOUTH_OPEN = 0.25  # mouth ratio an open mouth reaches
MOUTH_RISE = 0.18  # ... and how far above the resting mouth it must rise
TURN = 0.13  # yaw proxy change for a head turn
NOD = 0.09  # pitch proxy change (bowing) for a nod
# Face size (face_size) over its size at rest, minus 1: the phone moved nearer / farther. Measured with the
# tracking FaceMesh on the eight generated test subjects (tests/fixtures/liveness_video.py, 15 and 6 fps,
# with and without head sway): holds stay within -4/+2 % of the clip's median, blinks -2/+2 %, an open mouth
# -1/+3 %, 30 deg turns and 28 deg nods -7/+4 % (45 deg turns down to -13 %), while "nearer" (the face
# zoomed to 1.35x) reaches +32..36 % and "farther" (0.75x) -25..-26 %. The landmark box's width, for
# comparison, moves -11/+8 % with the same turns and +6 % with an open mouth.
NEARER = 0.15
FARTHER = 0.12
# FaceMesh points on the skull, away from the lids, lips and jaw: forehead, nose ridge and tip, the eye
# corners and the cheek edges by the ears.
SIZE_POINTS = (10, 151, 9, 168, 6, 1, 33, 133, 362, 263, 234, 454)

MOTION_ACTIONS = ("open_mouth", "turn_left", "turn_right", "nod", "nearer", "farther")  # never by accident


@dataclass
class ActionEvent:
    action: str
    start_ms: float
    peak_ms: float
    end_ms: float
    strength: float  # how far past the threshold the signal went (1.0 = exactly at it)


@dataclass
class RestState:
    ear: float
    mouth: float
    yaw: float
    pitch: float
    size: float  # face_size at rest (pixels)


def face_size(landmarks: np.ndarray) -> float:
    """How large the face is in the picture: the RMS distance of SIZE_POINTS from their centroid, in 3-D
    (FaceMesh's z is in the scale of x), so that it follows the distance to the camera while head turns and
    nods, which only rotate those points, barely change it (FaceMesh's depth is approximate: see NEARER)."""
    pts = np.asarray(landmarks, dtype=float)[list(SIZE_POINTS), :3]
    return float(np.sqrt(((pts - pts.mean(axis=0)) ** 2).sum(axis=1).mean()))


def rest_state(signals: list[FrameSignals]) -> RestState | None:
    with_face = [s for s in signals if s.has_face]
    if not with_face:
        return None
    ear = np.array([s.ear for s in with_face], dtype=float)
    mouth = np.array([s.mouth for s in with_face], dtype=float)
    return RestState(
        ear=float(np.percentile(ear, 80)),
        mouth=float(np.percentile(mouth, 20)),
        yaw=float(np.median([s.yaw for s in with_face])),
        pitch=float(np.median([s.pitch for s in with_face])),
        size=float(np.median([face_size(s.landmarks) for s in with_face if s.landmarks is not None])),
    )


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Index ranges [start, end] of consecutive True values."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs


def _events(
    action: str,
    signals: list[FrameSignals],
    values: list[float | None],
    threshold: float,
    *,
    sign: float = 1.0,
) -> list[ActionEvent]:
    """Runs of frames where sign*value exceeds threshold."""
    flags = [v is not None and sign * v > threshold for v in values]
    events = []
    for a, b in _runs(flags):
        seg = [sign * (values[i] or 0.0) for i in range(a, b + 1)]
        peak = a + int(np.argmax(seg))
        events.append(
            ActionEvent(action, signals[a].t_ms, signals[peak].t_ms, signals[b].t_ms, max(seg) / threshold)
        )
    return events


def _blinks(signals: list[FrameSignals], rest: RestState) -> list[ActionEvent]:
    """Closed-eye runs with open eyes before and after: a closed-eye photo is not a blink."""
    ratio = [None if s.ear is None else s.ear / max(rest.ear, 1e-6) for s in signals]
    closed = [r is not None and r < BLINK_CLOSED for r in ratio]
    out = []
    for a, b in _runs(closed):
        before = any(r is not None and r > BLINK_OPEN for r in ratio[:a])
        after = any(r is not None and r > BLINK_OPEN for r in ratio[b + 1 :])
        if before and after:
            low = min(ratio[i] or 1.0 for i in range(a, b + 1))
            peak = min(range(a, b + 1), key=lambda i: ratio[i] or 1.0)
            out.append(
                ActionEvent(
                    "blink",
                    signals[a].t_ms,
                    signals[peak].t_ms,
                    signals[b].t_ms,
                    BLINK_CLOSED / max(low, 1e-3),
                )
            )
    return out


def find_actions(signals: list[FrameSignals], rest: RestState) -> list[ActionEvent]:
    """Every action performed in the clip, in time order."""
    mouth = [
        None if s.mouth is None else (s.mouth - rest.mouth if s.mouth > MOUTH_OPEN else 0.0) for s in signals
    ]
    yaw = [None if s.yaw is None else s.yaw - rest.yaw for s in signals]
    pitch = [None if s.pitch is None else s.pitch - rest.pitch for s in signals]
    rest_size = max(rest.size, 1e-6)
    size = [None if s.landmarks is None else face_size(s.landmarks) / rest_size - 1.0 for s in signals]
    events = (
        _blinks(signals, rest)
        + _events("open_mouth", signals, mouth, MOUTH_RISE)
        + _events("turn_left", signals, yaw, TURN)
        + _events("turn_right", signals, yaw, TURN, sign=-1.0)
        + _events("nod", signals, pitch, NOD)
        + _events("nearer", signals, size, NEARER)
        + _events("farther", signals, size, FARTHER, sign=-1.0)
    )
    return sorted(events, key=lambda e: e.start_ms)


@dataclass
class SequenceMatch:
    matched: list[ActionEvent]
    missing: list[str]  # challenged actions not found in order (for a timed challenge: not after its prompt)
    unexpected: list[str]  # deliberate actions that were not asked for (or, timed, not when asked)


@dataclass(frozen=True)
class PromptTiming:
    """When each action of a timed challenge was prompted, and how soon after it the action must start."""

    prompt_ms: tuple[int, ...]  # one per challenged action, ms after the recording started
    early_ms: int  # an action may start this much before its prompt (frame timing)
    reaction_ms: int  # ... and at most this long after it

    def allows(self, index: int, event: ActionEvent) -> bool:
        at = self.prompt_ms[index]
        return at - self.early_ms <= event.start_ms <= at + self.reaction_ms

    def in_turn(self, index: int, event: ActionEvent, end_ms: float) -> bool:
        """Whether ``event`` starts while prompt ``index`` is the one shown (a repeat of the asked action)."""
        at = self.prompt_ms[index]
        nxt = self.prompt_ms[index + 1] if index + 1 < len(self.prompt_ms) else end_ms
        return at - self.early_ms <= event.start_ms < nxt


def match_challenge(
    events: list[ActionEvent], challenge: list[str], timing: PromptTiming | None = None
) -> SequenceMatch:
    """The challenged actions must appear in the given order (extra blinks are natural and allowed; other
    actions that were not asked for mean the capture was not made for this challenge). With ``timing``,
    each action must also start right after its prompt, and a deliberate action seen outside the turn of a
    prompt asking for it counts as not asked for: a clip recorded beforehand rarely has its actions at the
    moments drawn, and repeating every action throughout does not help it."""
    matched: list[ActionEvent] = []
    missing: list[str] = []
    cursor = -1.0
    for i, action in enumerate(challenge):
        found = next(
            (
                e
                for e in events
                if e.action == action and e.peak_ms > cursor and (timing is None or timing.allows(i, e))
            ),
            None,
        )
        if found is None:
            missing.append(action)
            continue
        matched.append(found)
        cursor = found.peak_ms
    end_ms = max((e.end_ms for e in events), default=0.0) + 1.0

    def asked_now(e: ActionEvent) -> bool:
        if e.action not in challenge:
            return False
        if timing is None:
            return True
        return any(a == e.action and timing.in_turn(i, e, end_ms) for i, a in enumerate(challenge))

    # Head motions couple (a nod seen at an angle also moves the yaw proxy): a motion that overlaps an asked
    # action is part of it, not a separate action.
    unexpected = sorted(
        {
            e.action
            for e in events
            if e.action in MOTION_ACTIONS
            and not asked_now(e)
            and not any(m.start_ms <= e.end_ms and e.start_ms <= m.end_ms for m in matched)
        }
    )
    return SequenceMatch(matched, missing, unexpected)
