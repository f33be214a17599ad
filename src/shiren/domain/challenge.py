"""Liveness challenges: which actions the user is asked to perform, in which order, and for how long.

The server draws the challenge at random when the device asks for it, so a capture recorded earlier cannot
match it. A scene may narrow the pool of actions (e.g. for users who cannot turn their head).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

# "left"/"right" are the user's own left and right.
ACTIONS: tuple[str, ...] = ("blink", "open_mouth", "turn_left", "turn_right", "nod")
DEFAULT_COUNT = 2
FLASH_COLOURS: tuple[str, ...] = ("#ff0000", "#00ff00", "#0000ff", "#ffff00", "#ff00ff", "#00ffff")

LEAD_IN_MS = 600  # time to settle before the first prompt
PER_ACTION_MS = 1700  # time given for each action
FLASH_SEGMENTS = 6
FLASH_SEGMENT_MS = 400


class ChallengeSettingError(ValueError):
    """A scene's liveness settings are not usable."""


def check_liveness_settings(actions: list[str] | None, count: int | None) -> dict[str, Any]:
    """Validate a scene's ``liveness`` settings: a pool of known actions and how many to draw from it."""
    out: dict[str, Any] = {}
    if actions:
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise ChallengeSettingError(f"unknown liveness action(s) {unknown}; known: {', '.join(ACTIONS)}")
        out["actions"] = list(dict.fromkeys(actions))
    if count is not None:
        pool = out.get("actions", ACTIONS)
        if not 1 <= count <= min(3, len(pool)):
            raise ChallengeSettingError(f"liveness count must be 1..{min(3, len(pool))} for this pool")
        out["count"] = count
    return out


@dataclass(frozen=True)
class Prompt:
    action: str
    at_ms: int


@dataclass(frozen=True)
class ChallengePlan:
    actions: list[str]
    prompts: list[Prompt]
    capture_ms: int
    flash: dict[str, Any] | None  # {"colors": [...], "segmentMs": n, "startMs": n}


def draw_challenge(liveness: dict[str, Any] | None, *, flash: bool) -> ChallengePlan:
    """A random ordered selection of distinct actions (and a random colour sequence for flash liveness)."""
    settings = liveness or {}
    pool = list(settings.get("actions") or ACTIONS)
    count = min(int(settings.get("count") or DEFAULT_COUNT), len(pool))
    rng = secrets.SystemRandom()
    actions = rng.sample(pool, count)
    prompts = [Prompt(a, LEAD_IN_MS + i * PER_ACTION_MS) for i, a in enumerate(actions)]
    capture_ms = LEAD_IN_MS + count * PER_ACTION_MS + 400
    flash_plan = None
    if flash:
        colours: list[str] = []
        while len(colours) < FLASH_SEGMENTS:
            c = rng.choice(FLASH_COLOURS)
            if not colours or c != colours[-1]:
                colours.append(c)
        start = 300
        flash_plan = {"colors": colours, "segmentMs": FLASH_SEGMENT_MS, "startMs": start}
        capture_ms = max(capture_ms, start + FLASH_SEGMENTS * FLASH_SEGMENT_MS + 300)
    return ChallengePlan(actions, prompts, capture_ms, flash_plan)
