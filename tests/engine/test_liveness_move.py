"""Server-side liveness for the MOVE actions: the phone moved nearer to the face or farther from it (the face
grows or shrinks in the picture), over generated captures as in test_liveness.py."""

from __future__ import annotations

import pytest

from shiren.engine.liveness import decode_video, verify_capture
from shiren.engine.models import Models
from tests.fixtures import liveness_video as lv

MOVES = ("nearer", "farther")


def run(models: Models, clip: lv.Clip, actions: list[str], fourcc: str = "mp4v"):
    frames = decode_video(clip.encode(fourcc), max_seconds=12)
    return verify_capture(frames, actions, models=models)


def failed(report) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if c.passed is False}


@pytest.mark.parametrize(
    ("subject", "actions"),
    [
        ("obama", ["nearer", "blink"]),
        ("s5_top", ["blink", "farther"]),
        ("biden", ["farther", "nearer"]),
    ],
)
def test_moving_the_phone_as_asked_passes(models: Models, subject: str, actions: list[str]) -> None:
    report = run(models, lv.bona_fide(lv.subject(subject), actions), actions)
    assert report.passed, failed(report)
    seen = [e.action for e in report.events]
    assert [a for a in seen if a in actions] == actions
    assert [a for a in seen if a in MOVES] == [a for a in actions if a in MOVES]  # and no other move


@pytest.mark.parametrize(("done", "asked"), [("nearer", "farther"), ("farther", "nearer")])
def test_moving_the_other_way_fails(models: Models, done: str, asked: str) -> None:
    report = run(models, lv.bona_fide(lv.subject("collins"), [done, "blink"]), [asked, "blink"])
    assert not report.passed
    detail = failed(report)["liveness_actions"]
    assert f"not performed in the asked order: {asked}" in detail
    assert done in [e.action for e in report.events]


def test_a_move_that_was_not_asked_for_fails(models: Models) -> None:
    clip = lv.bona_fide(lv.subject("obama"), ["blink", "nearer", "turn_left"])
    report = run(models, clip, ["blink", "turn_left"])
    assert "not asked for: nearer" in failed(report)["liveness_actions"]


@pytest.mark.parametrize(
    ("subject", "actions"),
    [
        ("obama", ["turn_left", "nod", "turn_right"]),
        ("s6_left", ["turn_left", "turn_right", "nod"]),  # turned at rest: its box width moves most
        ("s5_right", ["nod", "turn_right", "open_mouth"]),
        ("collins", ["turn_right", "blink", "nod"]),
    ],
)
def test_head_turns_nods_and_blinks_are_no_moves(models: Models, subject: str, actions: list[str]) -> None:
    report = run(models, lv.bona_fide(lv.subject(subject), actions), actions)
    assert report.passed, failed(report)
    assert not [e for e in report.events if e.action in MOVES]


def test_a_live_face_that_keeps_its_distance_shows_no_move(models: Models) -> None:
    report = run(models, lv.no_action(lv.subject("s5_top")), ["nearer"])
    assert "not performed in the asked order: nearer" in failed(report)["liveness_actions"]
    assert not [e for e in report.events if e.action in MOVES]
