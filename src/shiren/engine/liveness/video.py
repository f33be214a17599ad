"""Decoding uploaded captures (WebM from browsers, MP4/AVI/QuickTime from apps) into timestamped frames."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np

MAX_SIDE = 640  # frames are analysed at most this large; phones send 720p and more
MIN_FRAMES = 5


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


def decode_video(data: bytes, *, max_seconds: float, max_fps: float = 15.0) -> list[Frame]:
    """Frames with their presentation timestamps, at most ``max_fps`` of them per second.

    Browser recordings have variable frame rates (headless Chromium records ~6 fps), so time comes from the
    container's timestamps, not from frame counts; a container without usable timestamps falls back to its
    nominal rate."""
    kind = sniff_video_type(data)
    if kind is None:
        raise VideoRejected("UnsupportedMediaType", "video must be WebM, MP4, QuickTime or AVI")
    fd, path = tempfile.mkstemp(suffix=VIDEO_TYPES[kind])
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return _read_frames(path, max_seconds=max_seconds, max_fps=max_fps)
    finally:
        os.unlink(path)


def _read_frames(path: str, *, max_seconds: float, max_fps: float) -> list[Frame]:
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise VideoRejected("InvalidVideo", "the video cannot be decoded")
    try:
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
            pts = cap.get(cv2.CAP_PROP_POS_MSEC)
            # Some containers report 0 for every frame: use the nominal rate then.
            t = pts if pts > previous_pts else index * 1000.0 / nominal
            previous_pts = max(previous_pts, pts)
            index += 1
            if t > max_seconds * 1000.0:
                raise VideoRejected("VideoTooLong", f"the video is longer than {max_seconds:g} s")
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
