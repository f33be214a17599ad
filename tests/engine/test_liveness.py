"""Server-side liveness over generated captures: real photographs warped by their own landmarks into the
challenged actions (tests/fixtures/liveness_video.py), encoded and decoded like an upload."""

from __future__ import annotations

import numpy as np
import pytest

from shiren.engine.face.types import DetectedFace
from shiren.engine.liveness import VideoRejected, decode_video, verify_capture
from shiren.engine.liveness.signals import measure
from shiren.engine.models import Models
from tests.fixtures import liveness_video as lv


def run(models: Models, clip: lv.Clip, actions: list[str], fourcc: str = "mp4v"):
    frames = decode_video(clip.encode(fourcc), max_seconds=12)
    return verify_capture(frames, actions, models=models)


def failed(report) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if c.passed is False}


@pytest.fixture(scope="module")
def obama():
    return lv.subject("obama")


@pytest.mark.parametrize(
    ("subject", "actions"),
    [
        ("obama", ["blink", "turn_left"]),
        ("biden", ["open_mouth", "nod"]),
        ("s5_top", ["turn_right", "open_mouth"]),
        ("collins", ["turn_right", "blink"]),
        ("s6_left", ["nod", "open_mouth"]),
    ],
)
def test_bona_fide_capture_passes_and_finds_the_actions_in_order(
    models: Models, subject: str, actions: list[str]
) -> None:
    report = run(models, lv.bona_fide(lv.subject(subject), actions), actions)
    assert report.passed, failed(report)
    seen = [e.action for e in report.events if e.action != "blink" or "blink" in actions]
    assert [a for a in seen if a in actions] == actions
    assert report.best_frame is not None


def test_capture_at_headless_browser_frame_rate_passes(models: Models, obama) -> None:
    report = run(models, lv.bona_fide(obama, ["blink", "open_mouth"], fps=6), ["blink", "open_mouth"], "MJPG")
    assert report.passed, failed(report)


def test_still_photo_held_to_the_camera_fails(models: Models, obama) -> None:
    report = run(models, lv.static_photo(obama), ["blink", "turn_left"])
    assert not report.passed
    assert "liveness_actions" in failed(report)
    assert report.events == []


def test_live_face_without_the_actions_fails(models: Models, obama) -> None:
    report = run(models, lv.no_action(obama), ["nod", "turn_right"])
    assert "liveness_actions" in failed(report)


def test_right_actions_in_the_wrong_order_fail(models: Models, obama) -> None:
    report = run(models, lv.wrong_order(obama, ["blink", "open_mouth"]), ["blink", "open_mouth"])
    assert "not performed in the asked order" in failed(report)["liveness_actions"]


def test_actions_that_were_not_asked_for_fail(models: Models, obama) -> None:
    clip = lv.bona_fide(obama, ["blink", "turn_left", "nod"])
    report = run(models, clip, ["blink", "nod"])
    assert "not asked for: turn_left" in failed(report)["liveness_actions"]


def test_timed_capture_follows_its_prompts_and_fails_against_other_moments(models: Models, obama) -> None:
    from shiren.domain.challenge import EARLY_MS, REACTION_MS
    from shiren.engine.liveness import PromptTiming

    actions = ["turn_left", "open_mouth"]
    prompts = [("turn_left", 2300), ("open_mouth", 4500)]
    clip = lv._clip(obama, lv.script_for_prompts(prompts, 6600), 15)
    frames = decode_video(clip.encode(), max_seconds=12)

    def judged(prompt_ms: tuple[int, ...]):
        timing = PromptTiming(prompt_ms, early_ms=EARLY_MS, reaction_ms=REACTION_MS)
        return verify_capture(frames, actions, models=models, timing=timing)

    assert judged((2300, 4500)).passed, failed(judged((2300, 4500)))
    # The same actions in the same order, prompted at other moments: the clip was not made for them.
    assert "right after its prompt" in failed(judged((600, 2300)))["liveness_actions"]
    assert "right after its prompt" in failed(judged((2300, 6400)))["liveness_actions"]


def test_face_that_changes_mid_capture_fails(models: Models) -> None:
    clip = lv.face_swap(lv.subject("obama"), lv.subject("s5_top"), ["blink", "open_mouth"])
    report = run(models, clip, ["blink", "open_mouth"])
    assert "liveness_same_face" in failed(report)


def test_undecodable_uploads_are_refused_with_a_reason(obama) -> None:
    with pytest.raises(VideoRejected) as exc:
        decode_video(b"GIF89a" + b"\0" * 100, max_seconds=12)
    assert exc.value.code == "UnsupportedMediaType"
    data = lv.bona_fide(obama, ["blink"]).encode("mp4v")
    with pytest.raises(VideoRejected) as exc:
        decode_video(data[: len(data) // 20], max_seconds=12)
    assert exc.value.code == "InvalidVideo"
    with pytest.raises(VideoRejected) as exc:
        decode_video(data, max_seconds=1)
    assert exc.value.code == "VideoTooLong"


def test_flash_reflection_of_the_drawn_colours_passes_and_its_absence_fails(models: Models, obama) -> None:
    from shiren.domain.challenge import FLASH_COLOURS, draw_challenge

    plan = draw_challenge(None, flash=True)
    lit = lv.bona_fide(obama, plan.actions, flash=plan.flash)
    report = verify_capture(
        decode_video(lit.encode(), max_seconds=12), plan.actions, models=models, flash=plan.flash
    )
    assert report.passed, failed(report)
    dark = lv.bona_fide(obama, plan.actions)
    report = verify_capture(
        decode_video(dark.encode(), max_seconds=12), plan.actions, models=models, flash=plan.flash
    )
    assert "liveness_flash_reflection" in failed(report)
    # Another sequence, every segment different (each colour rotated to its complement), on a fixed
    # challenge: about 1 in 12 random pairs of such sequences still passes today (see the closing note),
    # so this asserts one fixed pair rather than a random draw.
    asked = {**plan.flash, "colors": ["#ff0000", "#00ff00", "#0000ff", "#ffff00", "#ff00ff", "#00ffff"]}
    colours = list(FLASH_COLOURS)
    rotated = [colours[(colours.index(c) + 3) % len(colours)] for c in asked["colors"]]
    actions = ["blink", "turn_left"]
    wrong = lv.bona_fide(obama, actions, flash={**asked, "colors": rotated})
    report = verify_capture(decode_video(wrong.encode(), max_seconds=12), actions, models=models, flash=asked)
    assert "liveness_flash_reflection" in failed(report)


class CountingDetector:
    """Wraps the real detector and records the frame of each call, to see which detector the code runs."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.version = "counting", inner.version
        self.frames: list[np.ndarray] = []

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        self.frames.append(image_bgr)
        return self.inner.detect(image_bgr)


def test_signals_count_faces_with_the_detector_they_are_given(models: Models, obama) -> None:
    frames = decode_video(lv.bona_fide(obama, ["blink"], fps=6).encode("MJPG"), max_seconds=12)
    counting = CountingDetector(models.detector)
    signals = measure(frames, detector=counting, detect_every=3)
    assert len(signals) == len(frames)
    assert [id(f) for f in counting.frames] == [id(f.bgr) for f in frames[::3]]
    assert all(s.faces == 1 for s in signals if s.has_face)


def test_verify_capture_runs_the_models_it_is_given(models: Models, obama) -> None:
    """Every detection of a decision (face count per frame, continuity samples) goes through the bundle."""
    actions = ["blink", "open_mouth"]
    frames = decode_video(lv.bona_fide(obama, actions, fps=6).encode("MJPG"), max_seconds=12)
    counting = CountingDetector(models.detector)
    bundle = Models.of(detector=counting, embedder=models.embedder, landmarker=models.landmarker)
    report = verify_capture(frames, actions, models=bundle)
    assert report.passed, failed(report)
    counted = [id(f.bgr) for f in frames[::2]]  # the face count, on every 2nd frame
    assert [id(f) for f in counting.frames[: len(counted)]] == counted
    assert len(counting.frames) > len(counted)  # then the same-face check on the best frame and samples
