# ruff: noqa: I001
"""How often one pre-recorded clip fits a fresh liveness challenge, measured through the real matcher
(shiren.engine.liveness.actions.match_challenge) and next to the formula (domain.challenge.fit_chance).

A clip is the recording of one earlier challenge: its actions, each started REACT_MS after that challenge's
prompt. It is then offered to N fresh challenges drawn as the server draws them (draw_challenge), and it
fits one when the matcher finds every action in order, in time, and nothing out of turn. Two clips:
- "recorded": a real earlier challenge's recording (random order and moments);
- "centred": the attacker's best single clip: the actions at the moments the prompts are likeliest to
  allow (the middle of the jitter range).
Untimed challenges (a scene with --untimed-liveness) are measured the same way, for comparison.

The per-day figure: each clip gets one try (its content print is recorded whether it passed or not, see
services/decision/evaluation.py), and one identity or BizId is shown at most MAX_CHALLENGES_PER_* a day, so
an attacker holding that many distinct clips of the victim fits at least one challenge with 1 - (1 - p)^k.

Usage: python bench/challenge_odds.py [--draws N]"""

import _common  # noqa: F401  (puts the checkout on sys.path)

import argparse
import random

from _common import write_results

from shiren.domain import challenge as ch
from shiren.domain.limits import MAX_CHALLENGES_PER_BIZID, MAX_CHALLENGES_PER_IDENTITY
from shiren.engine.liveness.actions import ActionEvent, PromptTiming, match_challenge

REACT_MS = 450  # when the recorded person's action crosses the detector's threshold after the prompt
ACTION_MS = 700


def clip_events(actions: list[str], starts: list[int]) -> list[ActionEvent]:
    return [
        ActionEvent(a, s, s + ACTION_MS / 2, s + ACTION_MS, 1.5) for a, s in zip(actions, starts, strict=True)
    ]


def fits(events: list[ActionEvent], plan: ch.ChallengePlan) -> bool:
    timing = None
    if plan.timed:
        timing = PromptTiming(tuple(plan.prompt_ms or ()), early_ms=ch.EARLY_MS, reaction_ms=ch.REACTION_MS)
    match = match_challenge(events, plan.actions, timing)
    return not match.missing and not match.unexpected


def measure(count: int, timed: bool, draws: int, rng: random.Random) -> dict[str, float]:
    settings = {"count": count, "timed": timed}
    recorded = ch.draw_challenge(settings, flash=False)
    clip = clip_events(recorded.actions, [p.at_ms + REACT_MS for p in recorded.prompts])
    mid = ch.jitter_ms(count) // 2 if timed else 0
    centred_starts = [ch.LEAD_IN_MS + mid + REACT_MS + i * (ch.PER_ACTION_MS + mid) for i in range(count)]
    centred = clip_events(recorded.actions, centred_starts)
    hits = {"recorded": 0, "centred": 0}
    for _ in range(draws):
        plan = ch.draw_challenge(settings, flash=False)
        hits["recorded"] += fits(clip, plan)
        hits["centred"] += fits(centred, plan)
    return {
        "formula": ch.fit_chance(len(ch.ACTIONS), count, timed=timed),
        "recorded": hits["recorded"] / draws,
        "centred": hits["centred"] / draws,
        "draws": draws,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(7)
    daily = min(MAX_CHALLENGES_PER_IDENTITY, MAX_CHALLENGES_PER_BIZID)
    rows = {}
    print(f"pool {len(ch.ACTIONS)} actions; {args.draws} fresh challenges per row; {daily} challenges a day")
    print(f"{'count':>5} {'timed':>6} {'formula':>10} {'recorded':>10} {'centred':>10} {'day, k clips':>13}")
    for count in (1, 2, 3):
        for timed in (False, True):
            row = measure(count, timed, args.draws, rng)
            worst = max(row["recorded"], row["centred"], row["formula"])
            row["per_day_with_k_clips"] = 1 - (1 - worst) ** daily
            rows[f"{count}-{'timed' if timed else 'untimed'}"] = row
            print(
                f"{count:>5} {str(timed):>6} {row['formula']:>10.4f} {row['recorded']:>10.4f} "
                f"{row['centred']:>10.4f} {row['per_day_with_k_clips']:>13.3f}"
            )
    write_results("challenge_odds", {"daily_challenges": daily, "rows": rows})


if __name__ == "__main__":
    main()
