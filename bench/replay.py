# ruff: noqa: I001
"""Replay fingerprint (shiren.engine.liveness.replay): misses and false matches over generated captures.

Captures are real photographs warped into the challenged actions (tests/fixtures/liveness_video.py),
uploaded as MP4. Each is replayed the way an attacker would: decoded and written again re-encoded (MJPG at
quality 40, XVID), resized (0.5x, 1.5x), cropped (10% off each side), trimmed (20% off each end), slowed
(every frame twice), sped up (every other frame dropped), mirrored, and all of those at once. Each
photograph also does one blink alone (a scene may ask for that): the smallest print.

- Misses: a replay whose print does not match the capture it replays.
- False matches, over ordered pairs of different genuine captures (the probe of one against the stored
  print of the other): the same photograph doing other actions (no action in common); another session of
  the same person (another photograph of them: obama, obama2, obama3), any actions; another person.
- The known limit, reported apart: the same photograph with an action in common, or the same actions (in
  any order, re-rendered with other timing, head sway and sensor noise). The generator renders an action
  of one photograph frame for frame the same: over that action it is the same footage, which a content
  fingerprint cannot tell from a replay. Real recordings of an action are not the same pictures twice.
- Cost: the print of one capture in ms (its landmarks are the verifier's, already computed), and keying its
  pairs (HMAC) for the index.

Usage: python bench/replay.py [--per-subject N] [--fast]"""

import _common  # noqa: F401  (puts the checkout on sys.path)

import argparse
import hashlib
import hmac
import itertools
import random
import time
from dataclasses import dataclass

import numpy as np
from _common import summary_ms, write_results

from shiren.domain.challenge import ACTIONS
from shiren.engine.liveness import decode_video
from shiren.engine.liveness.replay import (
    MATCH_SHARE,
    MIN_SHARED,
    ContentPrint,
    content_print,
    is_replay,
    replay_share,
)
from shiren.engine.liveness.signals import measure
from shiren.engine.models import Models
from shiren.runtime import models_from
from shiren.settings import get_settings
from tests.fixtures import liveness_video as lv
from tests.fixtures import replays

SUBJECTS = ["obama", "biden", "collins", "s5_top", "s5_right", "s6_left"]
SWEEP = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
GENUINE = ("same_photo_no_common_action", "same_person_other_session", "other_person")
LIMIT = "known_limit:"


@dataclass
class Captured:
    person: str
    session: str  # which photograph of the person
    actions: tuple[str, ...]
    print: ContentPrint
    replays: dict[str, ContentPrint]


def shared(query: ContentPrint, stored: ContentPrint) -> int:
    """Stored pairs the query's probe finds, the better of it as it is and mirrored (as the services do)."""
    return max(len(query.probe & stored.bands), len(query.probe_mirrored & stored.bands))


class Printer:
    def __init__(self, models: Models) -> None:
        self.models = models
        self.print_s: list[float] = []
        self.landmarks_s: list[float] = []

    def __call__(self, upload: bytes) -> ContentPrint:
        frames = decode_video(upload, max_seconds=12)
        t0 = time.perf_counter()
        signals = measure(frames, detector=self.models.detector)
        t1 = time.perf_counter()
        found = content_print(frames, signals)
        self.print_s.append(time.perf_counter() - t1)
        self.landmarks_s.append(t1 - t0)
        return found


def varied_script(actions: list[str], rng: random.Random) -> list[lv.Segment]:
    """The same actions with other timing and amplitude (a person doing them again)."""
    script = lv.script_for(
        actions, lead=rng.uniform(0.4, 0.9), gap=rng.uniform(0.3, 0.8), tail=rng.uniform(0.4, 0.8)
    )
    return [
        s
        if s.kind == "hold"
        else lv.Segment(s.kind, s.seconds * rng.uniform(0.85, 1.2), amplitude=rng.uniform(0.8, 1.0))
        for s in script
    ]


def capture(printer: Printer, photo: np.ndarray, who: str, session: str, actions: list[str], seed: int):
    clip = lv.bona_fide(photo, actions, seed=seed)
    upload = clip.encode("mp4v")
    frames = replays.decoded(upload)
    found = {name: printer(fn(frames, clip.fps)) for name, fn in replays.TRANSFORMS.items()}
    return Captured(who, session, tuple(actions), printer(upload), found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-subject", type=int, default=4, help="two-action captures per photograph")
    parser.add_argument("--fast", action="store_true", help="fewer subjects, two captures each")
    args = parser.parse_args()
    per = 2 if args.fast else args.per_subject
    subjects = SUBJECTS[:3] if args.fast else SUBJECTS
    models = models_from(get_settings())
    printer = Printer(models)
    rng = random.Random(11)
    photos = {(name, name): lv.subject(name) for name in subjects}
    for name, others in replays.SESSIONS.items():
        if name in subjects:
            for other in others:
                photos[(name, other)] = replays.session_photo(other)

    captures: list[Captured] = []
    for (who, session), photo in photos.items():
        # Each photograph gets challenges from all ten action pairs, so some share an action and some not.
        drawn = rng.sample([list(p) for p in itertools.combinations(ACTIONS, 2)], per)
        for k, actions in enumerate(drawn):
            rng.shuffle(actions)
            captures.append(capture(printer, photo, who, session, actions, seed=k))
        # A scene can ask for one blink only: the smallest print (the eyes alone move).
        captures.append(capture(printer, photo, who, session, ["blink"], seed=per))
        print(f"{who}/{session}: {per} captures", flush=True)
    # The known limit: the first capture's actions again (in both orders), other timing, sway and noise.
    again: list[Captured] = []
    for (who, session), photo in photos.items():
        if who != session:
            continue
        first = next(c for c in captures if c.session == session)
        for order, seed in ((list(first.actions), 100), (list(first.actions)[::-1], 101)):
            script = varied_script(order, rng)
            clip = lv.Clip(lv.render(photo, script, 15, seed=seed, sway=True), 15, script)
            again.append(Captured(who, session, tuple(order), printer(clip.encode("mp4v")), {}))

    def pair_kind(a: Captured, b: Captured) -> str:
        if a.person != b.person:
            return "other_person"
        if a.session != b.session:
            return "same_person_other_session"
        common = len(set(a.actions) & set(b.actions))
        if common == 0:
            return "same_photo_no_common_action"
        return f"{LIMIT}same_photo_{'same_actions' if common == 2 else 'one_common_action'}"

    shares: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    pairs: dict[str, dict[str, int]] = {}

    def score(kind: str, query: ContentPrint, stored: ContentPrint) -> None:
        n = shared(query, stored)
        shares.setdefault(kind, []).append(replay_share(n, len(query.bands)))
        counts.setdefault(kind, []).append(n)
        row = pairs.setdefault(kind, {"pairs": 0, "matched": 0})
        row["pairs"] += 1
        row["matched"] += int(is_replay(n, len(query.bands)))

    for c in captures:
        for name, replay in c.replays.items():
            score(f"replay{'_blink_only' if c.actions == ('blink',) else ''}:{name}", replay, c.print)
    for a in captures:
        for b in captures:
            if a is not b:
                score(pair_kind(a, b), a.print, b.print)
    for a in again:
        first = next(c for c in captures if c.session == a.session)
        score(f"{LIMIT}same_photo_same_actions_rerendered", a.print, first.print)

    replay_kinds = [k for k in pairs if k.startswith("replay")]
    genuine_kinds = [k for k in GENUINE if k in pairs]
    misses = {k: pairs[k]["pairs"] - pairs[k]["matched"] for k in replay_kinds}
    false = {k: pairs[k]["matched"] for k in genuine_kinds}
    distribution = {
        k: {
            "n": len(v),
            "share_min": round(min(v), 3),
            "share_p50": round(float(np.median(v)), 3),
            "share_max": round(max(v), 3),
            "shared_min": min(counts[k]),
            "shared_max": max(counts[k]),
        }
        for k, v in shares.items()
    }

    def sweep(threshold: float) -> dict[str, int]:
        def hit(k: str, i: int) -> bool:
            return counts[k][i] >= MIN_SHARED and shares[k][i] >= threshold

        return {
            "misses": sum(not hit(k, i) for k in replay_kinds for i in range(len(shares[k]))),
            "false_matches": sum(hit(k, i) for k in genuine_kinds for i in range(len(shares[k]))),
        }

    sizes = [len(c.print.bands) for c in captures]
    key = bytes(range(32))  # keying as Crypto.blind_index does it: HMAC-SHA256 under the index key
    t0 = time.perf_counter()
    for c in captures:
        for b, v in c.print.probe | c.print.probe_mirrored:
            hmac.new(key, f"capture-content\x00{b}:{v}".encode(), hashlib.sha256).hexdigest()
    keying_ms = (time.perf_counter() - t0) * 1000 / len(captures)

    result = {
        "rule": {"match_share": MATCH_SHARE, "min_shared": MIN_SHARED},
        "captures": len(captures),
        "replays": {k: pairs[k] | {"misses": misses[k]} for k in replay_kinds},
        "misses": sum(misses.values()),
        "replays_total": sum(pairs[k]["pairs"] for k in replay_kinds),
        "genuine_pairs": {k: pairs[k] for k in genuine_kinds},
        "false_matches": sum(false.values()),
        "genuine_pairs_total": sum(pairs[k]["pairs"] for k in genuine_kinds),
        "known_limit": {k: pairs[k] for k in pairs if k.startswith(LIMIT)},
        "share_distribution": distribution,
        "threshold_sweep": {str(t): sweep(t) for t in SWEEP},
        "pairs_per_capture": {"min": min(sizes), "p50": int(np.median(sizes)), "max": max(sizes)},
        "cost": {
            "print": summary_ms(printer.print_s),
            "landmarks_for_context": summary_ms(printer.landmarks_s),
            "keying_ms_per_capture": round(keying_ms, 2),
        },
    }
    print(f"misses: {result['misses']}/{result['replays_total']}  by transform {misses}")
    print(f"false matches: {result['false_matches']}/{result['genuine_pairs_total']}  by kind {false}")
    print(f"known limit: {result['known_limit']}")
    print("share distribution:", distribution)
    print("threshold sweep:", result["threshold_sweep"])
    print("cost:", result["cost"])
    write_results("replay", result)


if __name__ == "__main__":
    main()
