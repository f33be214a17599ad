"""Matching a timed challenge: each action right after its prompt, and no deliberate action outside the
turn of a prompt asking for it (events as the signal stage finds them)."""

from __future__ import annotations

from shiren.engine.liveness.actions import ActionEvent, PromptTiming, match_challenge

TIMING = PromptTiming((1000, 3500), early_ms=150, reaction_ms=1300)
ASKED = ["turn_left", "open_mouth"]


def ev(action: str, start: float, length: float = 600) -> ActionEvent:
    return ActionEvent(action, start, start + length / 2, start + length, 1.5)


def test_actions_right_after_their_prompts_match() -> None:
    m = match_challenge([ev("turn_left", 1400), ev("open_mouth", 3900)], ASKED, TIMING)
    assert not m.missing and not m.unexpected


def test_an_action_before_its_prompt_or_too_long_after_it_does_not_count() -> None:
    early = match_challenge([ev("turn_left", 400), ev("open_mouth", 3900)], ASKED, TIMING)
    assert early.missing == ["turn_left"]
    late = match_challenge([ev("turn_left", 1400), ev("open_mouth", 5000)], ASKED, TIMING)
    assert late.missing == ["open_mouth"]
    # Untimed, the same events pass: the order is right.
    assert not match_challenge([ev("turn_left", 400), ev("open_mouth", 5000)], ASKED).missing


def test_repeating_the_asked_action_while_its_prompt_shows_is_fine() -> None:
    m = match_challenge([ev("turn_left", 1400), ev("turn_left", 2500), ev("open_mouth", 3900)], ASKED, TIMING)
    assert not m.missing and not m.unexpected


def test_an_asked_action_out_of_its_turn_is_not_asked_for() -> None:
    # A clip that does every action over and over meets each prompt, but does them out of turn as well.
    events = [ev(a, t) for t in (200, 1400, 2600, 3900) for a in ("turn_left", "open_mouth")]
    m = match_challenge(sorted(events, key=lambda e: e.start_ms), ASKED, TIMING)
    assert not m.missing
    assert m.unexpected == ["open_mouth", "turn_left"]


def test_blinks_are_natural_at_any_moment() -> None:
    m = match_challenge(
        [ev("blink", 300, 200), ev("turn_left", 1400), ev("blink", 2800, 200), ev("open_mouth", 3900)],
        ASKED,
        TIMING,
    )
    assert not m.missing and not m.unexpected
