"""Decoding uploaded captures (WebM from browsers, MP4/AVI/QuickTime from apps) into timestamped frames."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np

MAX_SIDE = 640  # frames are analysed at most this large; phones send 720p and more
MIN_FRAMES = 5
# What an upload may cost to decode, checked from the container before the first frame and again while
# decoding (containers can lie). Phones and webcams record at most 1080p (1920 px on the long side) and
# 60 fps for a selfie video; the SDKs send 640 px at 30 fps at most. A 4096×4096 clip at 120 fps took 69 s.
MAX_INPUT_SIDE = 1920
MAX_INPUT_FPS = 60.0
# Above this, CAP_PROP_FPS is no camera's frame rate but the container's time base (OpenCV's fallback when
# the stream declares no rate: 1000 for WebM, 600 or 90000 for MP4): ignored, the frame count still bounds.
_PLAUSIBLE_FPS = 240.0
# CAP_PROP_FRAME_COUNT is garbage when the container has no duration (MediaRecorder's WebM: -1.8e17).
_PLAUSIBLE_COUNT = 2**31


class VideoRejected(ValueError):
    """The upload is not a usable video: a precise reason for the client, no internals."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Frame:
    t_ms: float
    bgr: np.ndarray


VIDEO_TYPES = {
    "video/webm": ".webm",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-msvideo": ".avi",
}


def sniff_video_type(data: bytes) -> str | None:
    """The container type from its magic bytes, or None. The declared Content-Type is not trusted."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


def decode_video(
    data: bytes,
    *,
    max_seconds: float,
    max_fps: float = 15.0,
    max_input_side: int = MAX_INPUT_SIDE,
    max_input_fps: float = MAX_INPUT_FPS,
    max_input_frames: int | None = None,
) -> list[Frame]:
    """Frames with their presentation timestamps, at most ``max_fps`` of them per second.

    Browser recordings have variable frame rates (headless Chromium records ~6 fps), so time comes from the
    container's timestamps, not from frame counts; a container without usable timestamps falls back to its
    nominal rate.

    The decoding budget: at most ``max_input_side`` px per side, ``max_input_fps`` frames per second and
    ``max_input_frames`` frames (default ``max_seconds × max_input_fps``) are decoded. Resolution, rate,
    length and frame count declared by the container are checked before the first frame is decoded, and
    the frames decoded are counted and measured as they come; over any limit is a VideoRejected. Work is
    therefore at most ``max_input_frames`` frames of ``max_input_side``² pixels."""
    kind = sniff_video_type(data)
    if kind is None:
        raise VideoRejected("UnsupportedMediaType", "video must be WebM, MP4, QuickTime or AVI")
    if max_input_frames is None:
        max_input_frames = math.ceil(max_seconds * max_input_fps)
    budget = _Budget(max_seconds, max_input_side, max_input_fps, max_input_frames)
    fd, path = tempfile.mkstemp(suffix=VIDEO_TYPES[kind])
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return _read_frames(path, budget=budget, max_fps=max_fps)
    finally:
        os.unlink(path)


@dataclass(frozen=True)
class _Budget:
    """What one upload may cost to decode (see :func:`decode_video`)."""

    max_seconds: float
    max_side: int
    max_fps: float
    max_frames: int

    def check_container(self, cap: cv2.VideoCapture) -> None:
        """Refuse from what the container declares, before any frame is decoded. Values a container
        leaves unset (0, or garbage) are skipped here: the checks while decoding still hold."""
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.check_size(width, height)
        fps = cap.get(cv2.CAP_PROP_FPS)
        if self.max_fps < fps <= _PLAUSIBLE_FPS:
            raise VideoRejected(
                "VideoFrameRateTooHigh",
                f"the video is recorded at {fps:g} fps; at most {self.max_fps:g} fps are accepted",
            )
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        if not 0 < count < _PLAUSIBLE_COUNT:
            return
        if 1.0 <= fps <= _PLAUSIBLE_FPS and count - 1 > self.max_seconds * fps:
            raise VideoRejected("VideoTooLong", f"the video is longer than {self.max_seconds:g} s")
        self.check_count(int(count))

    def check_size(self, width: int, height: int) -> None:
        if max(width, height) > self.max_side:
            raise VideoRejected(
                "VideoTooLarge",
                f"the video is {width}×{height} pixels; at most {self.max_side} px per side are accepted",
            )

    def check_count(self, frames: int) -> None:
        if frames > self.max_frames:
            raise VideoRejected(
                "VideoTooManyFrames",
                f"the video has more than the {self.max_frames} frames accepted",
            )


def _read_frames(path: str, *, budget: _Budget, max_fps: float) -> list[Frame]:
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise VideoRejected("InvalidVideo", "the video cannot be decoded")
    try:
        budget.check_container(cap)
        nominal = cap.get(cv2.CAP_PROP_FPS)
        nominal = nominal if 1.0 <= nominal <= 120.0 else 15.0
        frames: list[Frame] = []
        min_gap = 1000.0 / max_fps - 1.0
        index = 0
        last_t = -1e9
        previous_pts = -1.0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            # The container may have lied: count and measure what was really decoded, stop at the limit.
            budget.check_count(index + 1)
            budget.check_size(image.shape[1], image.shape[0])
            pts = cap.get(cv2.CAP_PROP_POS_MSEC)
            # Some containers report 0 for every frame: use the nominal rate then.
            t = pts if pts > previous_pts else index * 1000.0 / nominal
            previous_pts = max(previous_pts, pts)
            index += 1
            if t > budget.max_seconds * 1000.0:
                raise VideoRejected("VideoTooLong", f"the video is longer than {budget.max_seconds:g} s")
            if t - last_t < min_gap:
                continue
            last_t = t
            frames.append(Frame(t, _fit(image)))
    finally:
        cap.release()
    if len(frames) < MIN_FRAMES:
        raise VideoRejected("InvalidVideo", "the video has too few frames")
    t0 = frames[0].t_ms
    for fr in frames:
        fr.t_ms -= t0
    return frames


def _fit(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale >= 1.0:
        return image
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
