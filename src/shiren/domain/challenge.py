"""Liveness challenges: which actions the user is asked to perform, in which order, when, and for how long.

The server draws the challenge at random when the device asks for it, so a capture recorded earlier cannot
match it: the actions (an ordered draw from the pool) and, for a timed challenge, the moment of each prompt
(a random wait before it, in steps of ``PROMPT_STEP_MS``). A timed capture must start each action within
``REACTION_MS`` after its prompt (never before it), so a pre-recorded clip fits only when its actions fall
on the drawn moments too; ``fit_chance`` says how often. A scene may narrow the pool (e.g. for users who
cannot turn their head), ask for more actions, or switch timing off for cameras that cannot follow prompts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

# "left"/"right" are the user's own left and right. ACTIONS is the default pool; "nearer" and "farther"
# (the face grows or shrinks in the picture) are asked for by the face-verify family's MOVE models, and a
# scene may put them in its pool.
ACTIONS: tuple[str, ...] = ("blink", "open_mouth", "turn_left", "turn_right", "nod")
KNOWN_ACTIONS: tuple[str, ...] = (*ACTIONS, "nearer", "farther")
DEFAULT_COUNT = 2
FLASH_COLOURS: tuple[str, ...] = ("#ff0000", "#00ff00", "#0000ff", "#ffff00", "#ff00ff", "#00ffff")

LEAD_IN_MS = 600  # time to settle before the first prompt
PER_ACTION_MS = 1700  # time given for each action (an untimed challenge's prompts are this far apart)
# Timed challenges: before each prompt a random wait of 0..PROMPT_JITTER_MS (in PROMPT_STEP_MS steps), on
# top of the settle time (first prompt) or the previous action's time. The action must start between
# EARLY_MS before its prompt (frame timing) and REACTION_MS after it.
PROMPT_JITTER_MS = 2400
PROMPT_STEP_MS = 100
# The longest capture a challenge may ask for: under the decoder's 12 s cap (SHIREN_MAX_VIDEO_SECONDS) with
# room for a late stop. Three actions get less jitter each (1.6 s) so that they fit.
MAX_CAPTURE_MS = 11_000
TAIL_MS = 400
REACTION_MS = 1300
EARLY_MS = 150
FLASH_SEGMENTS = 6
FLASH_SEGMENT_MS = 400


class ChallengeSettingError(ValueError):
    """A scene's liveness settings are not usable."""


def check_liveness_settings(
    actions: list[str] | None, count: int | None, timed: bool | None = None
) -> dict[str, Any]:
    """Validate a scene's ``liveness`` settings: a pool of known actions, how many to draw from it, and
    whether prompts come at random moments the capture must follow (the default)."""
    out: dict[str, Any] = {}
    if timed is not None:
        out["timed"] = bool(timed)
    if actions:
        unknown = [a for a in actions if a not in KNOWN_ACTIONS]
        if unknown:
            raise ChallengeSettingError(
                f"unknown liveness action(s) {unknown}; known: {', '.join(KNOWN_ACTIONS)}"
            )
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
    timed: bool = True  # the capture must follow the prompts' moments (see module docstring)

    @property
    def prompt_ms(self) -> list[int] | None:
        """When each action is prompted (ms after the recording starts), for a timed challenge."""
        return [p.at_ms for p in self.prompts] if self.timed else None


def jitter_ms(count: int) -> int:
    """The random wait before each of ``count`` prompts may reach, so the whole capture fits
    MAX_CAPTURE_MS."""
    room = MAX_CAPTURE_MS - LEAD_IN_MS - count * PER_ACTION_MS - TAIL_MS
    per_prompt = room // max(count, 1) // PROMPT_STEP_MS * PROMPT_STEP_MS
    return max(0, min(PROMPT_JITTER_MS, per_prompt))


def _prompt_times(count: int, timed: bool, rng: secrets.SystemRandom) -> list[int]:
    times, at = [], LEAD_IN_MS
    steps = jitter_ms(count) // PROMPT_STEP_MS
    for i in range(count):
        if i:
            at += PER_ACTION_MS
        if timed:
            at += PROMPT_STEP_MS * rng.randint(0, steps)
        times.append(at)
    return times


def draw_challenge(liveness: dict[str, Any] | None, *, flash: bool) -> ChallengePlan:
    """A random ordered selection of distinct actions, at random moments unless the scene turned timing off
    (and a random colour sequence for flash liveness)."""
    settings = liveness or {}
    pool = list(settings.get("actions") or ACTIONS)
    count = min(int(settings.get("count") or DEFAULT_COUNT), len(pool))
    timed = bool(settings.get("timed", True))
    rng = secrets.SystemRandom()
    actions = rng.sample(pool, count)
    times = _prompt_times(count, timed, rng)
    prompts = [Prompt(a, at) for a, at in zip(actions, times, strict=True)]
    capture_ms = times[-1] + PER_ACTION_MS + TAIL_MS
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
    return ChallengePlan(actions, prompts, capture_ms, flash_plan, timed)


def fit_chance(pool: int, count: int, *, timed: bool) -> float:
    """The chance that one pre-recorded clip (its actions in one order, each at one moment) fits a random
    challenge: one ordered draw of ``count`` from ``pool``, times, for a timed challenge, the chance that
    each drawn prompt lands within the ``EARLY_MS + REACTION_MS`` span of moments its action allows. It
    assumes the clip's actions sit where the prompts can reach them (the attacker's best case);
    bench/challenge_odds.py measures it through the real matcher."""
    orders = 1.0
    for k in range(count):
        orders *= pool - k
    chance = 1.0 / orders
    if timed:
        slots = jitter_ms(count) // PROMPT_STEP_MS + 1
        span = (EARLY_MS + REACTION_MS) // PROMPT_STEP_MS + 1
        chance *= min(1.0, span / slots) ** count
    return chance
