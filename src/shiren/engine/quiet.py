"""Keeping the model libraries' start-up chatter out of the server log.

MediaPipe's graphs (and the TF Lite interpreter inside them) write straight to file descriptor 2 from C++
when they open: "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", absl's "WARNING: All log
messages before absl::InitializeLog() is called are written to STDERR" and a "W0000 …
inference_feedback_manager.cc" line per graph. Neither GLOG_minloglevel nor TF_CPP_MIN_LOG_LEVEL reaches
them (mediapipe 0.10.21 logs through absl, which reads no environment), so the only switch is fd 2 itself.

:func:`quiet_stderr` points fd 2 at a temporary file while a model is built and sorts what was written
afterwards: known chatter goes to the ``shiren.engine`` logger at debug level, anything else (another
thread's log line, a real error) is written back to stderr unchanged. When the construction raises,
everything captured is written back and the exception propagates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

log = logging.getLogger("shiren.engine")

T = TypeVar("T")

# absl's own prefix (I/W: info and warning; E and F stay visible), TF Lite's INFO lines, absl's notice.
_CHATTER = re.compile(
    rb"^(?:[IW]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] "
    rb"|INFO: Created TensorFlow Lite "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)

# fd 2 belongs to the whole process: one redirection at a time (held for the few ms a graph takes to open).
_lock = threading.RLock()
_depth = 0


def is_chatter(line: bytes) -> bool:
    return _CHATTER.match(line) is not None


def _replay(captured: bytes, *, failed: bool) -> None:
    keep: list[bytes] = []
    for line in captured.splitlines(keepends=True):
        if not failed and is_chatter(line):
            log.debug("model library: %s", line.decode(errors="replace").rstrip())
        else:
            keep.append(line)
    if keep:
        os.write(2, b"".join(keep))


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Capture fd 2 for the block; library chatter is dropped to debug, the rest written back after it."""
    global _depth
    with _lock:
        if _depth:  # already captured by an outer block of this thread
            yield
            return
        sys.stderr.flush()
        saved = os.dup(2)
        failed = True
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            _depth += 1
            try:
                yield
                failed = False
            finally:
                _depth -= 1
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                _replay(sink.read(), failed=failed)


def open_solution(make: Callable[[], T]) -> T:
    """A MediaPipe solution built quietly, returned once its graph has opened: the calculators open on the
    graph's own threads after the constructor returns, and that is when most of the chatter is written."""
    with quiet_stderr():
        solution = make()
        graph: Any = getattr(solution, "_graph", None)  # mediapipe.python.solution_base.SolutionBase
        if graph is not None:
            graph.wait_until_idle()
    return solution
