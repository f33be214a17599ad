"""The model libraries' start-up chatter stays out of stderr (the server log); real errors do not.

Each check runs in a fresh interpreter: the chatter is written once per graph, from C++, to fd 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shiren.engine.quiet import is_chatter

NOISE = (
    "absl::InitializeLog",
    "TensorFlow Lite",
    "XNNPACK",
    "inference_feedback_manager",
    "W0000",
)

BUILD_AND_USE = """
import numpy as np
from pathlib import Path
from shiren.engine.face.landmarks import FaceLandmarker
from shiren.engine.models import Models

models = Models(cache_dir=Path({cache!r}))
models.warm_up()
frame = np.zeros((480, 640, 3), np.uint8)
models.detector.detect(frame)  # opens both detection graphs (they are built on first use)
models.landmarker.landmarks(frame)
tracker = FaceLandmarker(static_image_mode=False)  # one per video clip, built while serving
tracker.landmarks(frame)
tracker.close()
print("done")
"""

FAILING = """
import os, sys, warnings
from shiren.engine.quiet import quiet_stderr

def build():
    os.write(2, b"W0000 00:00:1.5    7 chatty.cc:1] library chatter\\n")
    os.write(2, b"E0000 00:00:1.5    7 model.cc:9] a real error from C++\\n")
    warnings.warn("a Python warning while building")
    raise RuntimeError("model construction failed")

with quiet_stderr():
    os.write(2, b"W0000 00:00:1.5    7 chatty.cc:1] dropped\\n")
    os.write(2, b"a line from another thread\\n")
try:
    with quiet_stderr():
        build()
except RuntimeError as exc:
    print("raised:", exc)
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False
    )


def test_building_and_using_the_models_writes_nothing_to_stderr(tmp_path: Path) -> None:
    done = run(BUILD_AND_USE.format(cache=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert not [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)], done.stderr


def test_errors_and_other_output_still_reach_stderr() -> None:
    done = run(FAILING)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "raised: model construction failed"  # the exception propagated
    # Not chatter: written back after a block that succeeded.
    assert "a line from another thread" in done.stderr
    assert "dropped" not in done.stderr
    # A block that raised: everything it captured is written back, chatter included.
    assert "a real error from C++" in done.stderr
    assert "UserWarning: a Python warning while building" in done.stderr
    assert "library chatter" in done.stderr


def test_only_info_and_warning_lines_of_the_libraries_count_as_chatter() -> None:
    assert is_chatter(b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert is_chatter(
        b"W0000 00:00:1796204159.939427    9592 inference_feedback_manager.cc:114] Feedback manager\n"
    )
    assert is_chatter(b"WARNING: All log messages before absl::InitializeLog() is called are written\n")
    assert not is_chatter(b"E0000 00:00:1796204159.939427    9592 calculator_graph.cc:12] failed\n")
    assert not is_chatter(b'{"level": "WARNING", "message": "rpc action=..."}\n')
