"""Drawing liveness challenges: the actions, the prompt moments a timed capture must follow, and the odds
that a clip recorded beforehand fits one."""

from __future__ import annotations

import pytest

from shiren.domain import challenge as ch


def test_timed_prompts_come_at_random_moments_in_steps_with_time_for_each_action() -> None:
    plans = [ch.draw_challenge(None, flash=False) for _ in range(300)]
    firsts = {p.prompts[0].at_ms for p in plans}
    assert len(firsts) > 10  # 25 possible moments; 300 draws see most of them
    for plan in plans:
        assert plan.timed and plan.prompt_ms == [p.at_ms for p in plan.prompts]
        times = plan.prompt_ms
        assert ch.LEAD_IN_MS <= times[0] <= ch.LEAD_IN_MS + ch.jitter_ms(2)
        for earlier, later in zip(times, times[1:], strict=False):
            assert ch.PER_ACTION_MS <= later - earlier <= ch.PER_ACTION_MS + ch.PROMPT_JITTER_MS
        assert all(t % ch.PROMPT_STEP_MS == 0 for t in times)
        assert plan.capture_ms >= times[-1] + ch.PER_ACTION_MS


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_longest_challenge_fits_the_decoders_cap(count: int) -> None:
    from shiren.settings import Settings

    longest = ch.LEAD_IN_MS + count * ch.PER_ACTION_MS + count * ch.jitter_ms(count) + ch.TAIL_MS
    assert longest <= ch.MAX_CAPTURE_MS < Settings().max_video_seconds * 1000
    for _ in range(200):
        assert ch.draw_challenge({"count": count}, flash=count == 1).capture_ms <= ch.MAX_CAPTURE_MS


def test_an_untimed_scene_keeps_fixed_moments_and_asks_for_no_timing() -> None:
    settings = ch.check_liveness_settings(None, 3, timed=False)
    plan = ch.draw_challenge(settings, flash=False)
    assert not plan.timed and plan.prompt_ms is None
    assert [p.at_ms for p in plan.prompts] == [ch.LEAD_IN_MS + i * ch.PER_ACTION_MS for i in range(3)]


def test_flash_challenges_are_long_enough_for_every_colour() -> None:
    plan = ch.draw_challenge({"count": 1}, flash=True)
    assert plan.flash is not None
    end = plan.flash["startMs"] + len(plan.flash["colors"]) * plan.flash["segmentMs"]
    assert plan.capture_ms >= end


def test_fit_chance_of_a_pre_recorded_clip() -> None:
    assert ch.fit_chance(5, 2, timed=False) == pytest.approx(1 / 20)
    assert ch.fit_chance(5, 3, timed=False) == pytest.approx(1 / 60)
    # 1.45 s of allowed moments (15 steps of 0.1 s) out of 2.4 s of jitter (25 moments); three actions get
    # 1.6 s each (17 moments), so that the capture fits the decoder's cap.
    assert ch.fit_chance(5, 2, timed=True) == pytest.approx((15 / 25) ** 2 / 20)
    assert ch.fit_chance(5, 3, timed=True) == pytest.approx((15 / 17) ** 3 / 60)


def test_scene_settings_are_checked() -> None:
    with pytest.raises(ch.ChallengeSettingError):
        ch.check_liveness_settings(["blink", "wink"], None)
    with pytest.raises(ch.ChallengeSettingError):
        ch.check_liveness_settings(["blink"], 2)
    assert ch.check_liveness_settings(None, None) == {}
    assert ch.check_liveness_settings(None, None, timed=False) == {"timed": False}
