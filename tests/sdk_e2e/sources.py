"""Frame and still sources for the SDK end-to-end tests: a real face that performs the challenge it is given.

:class:`RenderedFace` is a :class:`shiren.sdk.FrameSource` that renders the video only when ``record`` is
called, i.e. AFTER the server drew the challenge, from a real photo warped by its landmarks
(tests/fixtures/liveness_video.py): the actions at the prompt times, and for RPBioOnlyPro the screen's
colours reflected on the face. Its ``mode`` turns the same source into an attack or a mistake (a photo held
to the camera, the actions in the wrong order, no reflection of the flash).
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from shiren.sdk import Challenge, Recording
from shiren.sdk.capture import OnFlash, OnPrompt
from tests.fixtures import liveness_video as lv
from tests.fixtures.idcards import CardTruth, photograph, render_back, render_front
from tests.fixtures.photos import photo

_SEEDS = itertools.count(1)  # every source films a little differently: no two uploads share their bytes
MODES = ("follow", "static", "reverse", "no_flash")
TINT_STRENGTH = 45.0  # grey levels of screen light added to the skin at full albedo


def script_for_plan(plan: Challenge, *, reverse: bool = False) -> list[lv.Segment]:
    """Hold until each prompt, then do its action (``reverse``: the actions in the other order, each at the
    moment of the prompt its place in the order has)."""
    prompts = sorted(plan.prompts, key=lambda p: p.at_ms)
    actions = [p.action for p in prompts][:: -1 if reverse else 1]
    return lv.script_for_prompts(
        [(a, p.at_ms) for a, p in zip(actions, prompts, strict=True)], plan.capture_ms
    )


def render_plan(
    face: np.ndarray, plan: Challenge, *, mode: str = "follow", fps: float = 15, seed: int = 0
) -> list[np.ndarray]:
    """The frames a camera would record of ``face`` answering ``plan`` (see :class:`RenderedFace`)."""
    script = script_for_plan(plan, reverse=mode == "reverse")
    static = mode == "static"
    if plan.flash is None or mode == "no_flash":
        return lv.render(face, script, fps, seed=seed, static=static)
    flash = {
        "colors": list(plan.flash.colors),
        "segmentMs": plan.flash.segment_ms,
        "startMs": plan.flash.start_ms,
    }
    return lv.render(face, script, fps, seed=seed, static=static, flash=flash, flash_strength=TINT_STRENGTH)


@dataclass
class RenderedFace:
    """A FrameSource whose person does whatever the drawn challenge asks (or, by ``mode``, does not).

    ``follow``: the actions at the prompt times (and the flash reflected, when there is one); ``static``: a
    photo held to the camera; ``reverse``: the actions in the wrong order; ``no_flash``: the actions but no
    reflection of the screen. ``plans``/``prompts`` record what the SDK handed over, for the assertions.
    ``realtime``: ``record`` lasts ``captureMs`` like a camera does (the server refuses a video uploaded
    sooner after its challenge than it can have been recorded).
    """

    face: np.ndarray
    mode: str = "follow"
    fps: float = 15
    seed: int = field(default_factory=lambda: next(_SEEDS))
    realtime: bool = True
    plans: list[Challenge] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    flashes: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(self.mode)

    @classmethod
    def of(cls, photo_name: str, mode: str = "follow", **kw: object) -> RenderedFace:
        img = cv2.imread(str(photo(photo_name)), cv2.IMREAD_COLOR)
        return cls(img, mode, **kw)  # type: ignore[arg-type]

    def preview(self) -> np.ndarray:
        """The person facing the camera, for the SDK's ``guide`` hints."""
        return lv.rig_for(self.face, (640, 480)).base.copy()

    def record(
        self, plan: Challenge, on_prompt: OnPrompt | None = None, on_flash: OnFlash | None = None
    ) -> Recording:
        started = time.monotonic()
        self.plans.append(plan)
        for p in sorted(plan.prompts, key=lambda p: p.at_ms):
            self.prompts.append(p.action)
            if on_prompt:
                on_prompt(p.action)
        if plan.flash is not None:
            for c in (*plan.flash.colors, None):
                self.flashes.append(c)
                if on_flash:
                    on_flash(c)
        frames = render_plan(self.face, plan, mode=self.mode, fps=self.fps, seed=self.seed)
        if self.realtime:
            time.sleep(max(0.0, plan.capture_ms / 1000 - (time.monotonic() - started)))
        return Recording(frames, [i * 1000 / self.fps for i in range(len(frames))])


# ---------------------------------------------------------------------------- ID cards


# Lamp reflections on the name (flat-card pixels, radius, strength): they wash out parts of the 2nd and 3rd
# characters, so that the OCR is unsure of the name (王建国 → "王建团", confidence ~0.75 < 0.85).
_NAME_GLARE = (((250, 108), 10, 0.95), ((310, 108), 14, 0.9))


def _glare(card: np.ndarray) -> np.ndarray:
    out = card.astype(np.float32)
    for center, radius, strength in _NAME_GLARE:
        spot = np.zeros(card.shape[:2], np.float32)
        cv2.ellipse(spot, center, (radius, radius + 4), 0, 0, 360, 1.0, -1)
        spot = cv2.GaussianBlur(spot, (0, 0), 3)[..., None] * strength
        out = out * (1 - spot) + 250 * spot
    return out.astype(np.uint8)


@dataclass
class CardPhotos:
    """A StillSource: both sides of a generated card whose portrait is a real photo, photographed on a desk.

    ``glare_on_name`` puts lamp reflections on the name, so that the OCR is unsure of it and the user has
    something to correct.
    """

    truth: CardTruth
    portrait: str
    seed: int = 1
    hard: bool = False
    glare_on_name: bool = False
    front: bytes = b""
    back: bytes = b""
    asked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        flat = render_front(self.truth, rng, self.portrait)
        if self.glare_on_name:
            flat = _glare(flat)
        self.front, _ = photograph(flat, rng, hard=self.hard, roll=0.0, tilt=0.0)
        self.back, _ = photograph(render_back(self.truth, rng), rng, hard=self.hard, roll=0.0, tilt=0.0)

    def capture_still(self, side: str) -> bytes:
        self.asked.append(side)
        return self.front if side == "front" else self.back
