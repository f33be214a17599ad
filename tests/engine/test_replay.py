"""The content fingerprint (shiren.engine.liveness.replay) over generated captures: a capture written again
with other bytes (re-encoded, resized, cropped, trimmed, slowed, sped, mirrored) still matches it; another
capture of the same person (other actions, another session) or another person does not.

The rates over more captures are in bench/replay.py; here each case once."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from shiren.engine.liveness import decode_video, verify_capture
from shiren.engine.liveness.replay import (
    ContentPrint,
    aligned_face,
    content_print,
    frame_hash,
    is_replay,
    replay_share,
)
from shiren.engine.liveness.signals import measure
from shiren.engine.models import Models
from tests.fixtures import liveness_video as lv
from tests.fixtures import replays

ACTIONS = ["blink", "turn_left"]


def fingerprint(models: Models, upload: bytes) -> ContentPrint:
    frames = decode_video(upload, max_seconds=12)
    return content_print(frames, measure(frames, detector=models.detector))


def shared(query: ContentPrint, stored: ContentPrint) -> int:
    """As the services look it up: the probe, as it is and mirrored, against the stored print."""
    return max(len(query.probe & stored.bands), len(query.probe_mirrored & stored.bands))


def matches(query: ContentPrint, stored: ContentPrint) -> bool:
    return is_replay(shared(query, stored), len(query.bands))


@pytest.fixture(scope="module")
def earlier(models: Models) -> tuple[bytes, ContentPrint]:
    """The capture uploaded first: obama blinking then turning left, as an app uploads it (MP4)."""
    upload = lv.bona_fide(lv.subject("obama"), ACTIONS, seed=0).encode("mp4v")
    return upload, fingerprint(models, upload)


@pytest.mark.parametrize("transform", list(replays.TRANSFORMS))
def test_the_same_capture_written_again_matches(models: Models, earlier, transform: str) -> None:
    upload, stored = earlier
    replayed = replays.TRANSFORMS[transform](replays.decoded(upload), 15.0)
    assert replayed != upload
    found = fingerprint(models, replayed)
    share = replay_share(shared(found, stored), len(found.bands))
    assert matches(found, stored), f"{transform}: share {share:.2f}"


@pytest.mark.parametrize("transform", ["reencode_mjpg_q40", "trim_20pc"])
def test_a_single_blink_written_again_matches(models: Models, transform: str) -> None:
    """The smallest print (a scene may ask for one blink: only the eyes move, ~12 pairs). Re-encoded or
    trimmed it is found; mirrored it is mostly missed (bench/replay.py: blink_only)."""
    upload = lv.bona_fide(lv.subject("collins"), ["blink"], seed=4).encode("mp4v")
    stored = fingerprint(models, upload)
    found = fingerprint(models, replays.TRANSFORMS[transform](replays.decoded(upload), 15.0))
    assert matches(found, stored), f"{transform}: {shared(found, stored)} of {len(found.bands)}"


@pytest.mark.parametrize(
    ("case", "make"),
    [
        # The same photograph doing other actions: only the neutral frames are alike, and they are left out.
        (
            "same_photo_other_actions",
            lambda: lv.bona_fide(lv.subject("obama"), ["open_mouth", "nod"], seed=1),
        ),
        # Another session of the same person (another photograph: other light, framing, expression).
        (
            "same_person_other_session",
            lambda: lv.bona_fide(replays.session_photo("obama2.jpg"), ACTIONS, seed=2),
        ),
        ("other_person_same_actions", lambda: lv.bona_fide(lv.subject("biden"), ACTIONS, seed=0)),
    ],
)
def test_other_genuine_captures_do_not_match(models: Models, earlier, case: str, make) -> None:
    _, stored = earlier
    found = fingerprint(models, make().encode("mp4v"))
    assert found.bands, "nothing to compare"
    share = replay_share(shared(found, stored), len(found.bands))
    assert not matches(found, stored), f"{case}: share {share:.2f}"
    assert share < 0.1  # far from the bar, not just under it


def test_the_mirrored_crop_hashes_as_the_mirror_of_the_crop() -> None:
    """A mirrored frame with its mirrored landmarks gives exactly the mirrored pairs (no second DCT)."""
    rng = np.random.default_rng(3)
    grey = cv2.GaussianBlur(rng.integers(0, 255, (240, 320), dtype=np.uint8), (0, 0), 2)
    pts = np.zeros((478, 3), np.float32)
    pts[[33, 133], :2] = [(120, 100), (145, 102)]
    pts[[263, 362], :2] = [(205, 98), (180, 99)]
    flipped = pts.copy()
    flipped[:, 0] = grey.shape[1] - 1 - pts[:, 0]
    flipped[[33, 133, 263, 362]] = flipped[[263, 362, 33, 133]]  # the subject's right eye is now on the left
    plain, mirrored = frame_hash(aligned_face(grey, pts))
    other, other_mirrored = frame_hash(aligned_face(cv2.flip(grey, 1), flipped))
    assert (mirrored == other).all() and (plain == other_mirrored).all()
    assert (plain != other).any()  # the picture is not symmetric: the mirror does change the hash


def test_verify_capture_reports_the_content_print(models: Models, earlier) -> None:
    upload, stored = earlier
    report = verify_capture(decode_video(upload, max_seconds=12), ACTIONS, models=models)
    assert report.passed
    assert report.content is not None and matches(report.content, stored)  # FaceMesh varies a little
    assert report.content.bands <= report.content.probe  # the probe adds shifted crops to the print
    assert "content_print" in report.timings_ms
