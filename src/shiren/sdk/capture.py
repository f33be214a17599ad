"""Where frames and card photos come from, and how a recording becomes a video the server accepts.

A *frame source* records the liveness video against a :class:`~shiren.sdk.client.Challenge` (the plan:
actions, prompt times, capture length, flash colours). It is pluggable through the small
:class:`FrameSource` protocol: a camera (:class:`CameraSource`), a video file (:class:`VideoFileSource`),
a list of image files (:class:`ImageFilesSource`), or anything an application brings (a test renderer,
a camera SDK of a kiosk vendor). A *still source* (:class:`StillSource`) supplies the ID card photos.

Only the server judges liveness, so sources do not try to be clever: they record what the camera sees
while the UI shows the prompts at the planned times. Timestamps are milliseconds since the recording
started; :func:`encode_video` lays the frames on a uniform time grid so that video time matches the
prompt times the server expects.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import cv2
import numpy as np

from shiren.sdk.client import Challenge

__all__ = [
    "CameraSource",
    "CaptureError",
    "EncodedVideo",
    "FrameSource",
    "ImageFilesSource",
    "OnFlash",
    "OnPrompt",
    "PreviewSource",
    "Recording",
    "StillImages",
    "StillSource",
    "VideoFileSource",
    "encode_video",
    "image_content_type",
    "preview_jpeg",
]

OnPrompt = Callable[[str], None]
"""Called with the action (``blink``, ``turn_left``, …) when its prompt is due; must return quickly."""
OnFlash = Callable[[str | None], None]
"""Called with a ``#rrggbb`` colour when the screen must show it, and ``None`` when the flash is over."""


class CaptureError(RuntimeError):
    """The camera or file gave no usable frames."""


class Recording(NamedTuple):
    """BGR frames and, for each, the milliseconds since the recording started."""

    frames: list[np.ndarray]
    timestamps_ms: list[float]


@runtime_checkable
class FrameSource(Protocol):
    """Anything that can record a liveness video for a challenge.

    ``record`` starts right away, lasts ``plan.capture_ms``, calls ``on_prompt(action)`` at each prompt's
    ``at_ms`` and ``on_flash(colour)`` at each flash segment (then ``on_flash(None)``), so that a UI can
    show them while the camera records.
    """

    def record(
        self, plan: Challenge, on_prompt: OnPrompt | None = None, on_flash: OnFlash | None = None
    ) -> Recording: ...


@runtime_checkable
class PreviewSource(Protocol):
    """A frame source that can also give a single live frame (for the optional ``guide`` hints)."""

    def preview(self) -> np.ndarray | None: ...


@runtime_checkable
class StillSource(Protocol):
    """Supplies an ID card photo: ``side`` is ``"front"`` (portrait side) or ``"back"``.

    Returns encoded image bytes (JPEG, PNG or WebP, ≤ the session's ``maxImageBytes``).
    """

    def capture_still(self, side: str) -> bytes: ...


# ---------------------------------------------------------------------------- timing of cues


@dataclass(frozen=True)
class _Cue:
    at_ms: float
    prompt: str | None = None
    flash: str | None = None
    flash_event: bool = False


def _cues(plan: Challenge) -> list[_Cue]:
    cues = [_Cue(p.at_ms, prompt=p.action) for p in plan.prompts]
    if plan.flash:
        fl = plan.flash
        cues += [
            _Cue(fl.start_ms + i * fl.segment_ms, flash=c, flash_event=True) for i, c in enumerate(fl.colors)
        ]
        cues.append(_Cue(fl.end_ms, flash=None, flash_event=True))
    return sorted(cues, key=lambda c: c.at_ms)


def _fire(cue: _Cue, on_prompt: OnPrompt | None, on_flash: OnFlash | None) -> None:
    if cue.flash_event:
        if on_flash:
            on_flash(cue.flash)
    elif on_prompt and cue.prompt:
        on_prompt(cue.prompt)


# ---------------------------------------------------------------------------- sources


class CameraSource:
    """A local camera through OpenCV's ``VideoCapture`` (frames and, if asked, card photos).

    ``index`` is the device number, or anything else ``VideoCapture`` opens (an RTSP URL of an IP camera).
    The device is opened on first use and kept open until :meth:`close` (opening a webcam takes a while).
    ``record`` reads frames in real time for ``capture_ms``; the prompt and flash callbacks run in the
    reading loop, so they must only update the screen, not block.
    """

    def __init__(
        self,
        index: int | str = 0,
        *,
        width: int | None = 640,
        height: int | None = 480,
        backend: int | None = None,
        warmup_frames: int = 5,
        still_delay_s: float = 2.0,
    ) -> None:
        self.index = index
        self.width, self.height = width, height
        self.backend = backend
        self.warmup_frames = warmup_frames
        self.still_delay_s = still_delay_s
        self._cap: cv2.VideoCapture | None = None

    def _open(self) -> cv2.VideoCapture:
        if self._cap is None or not self._cap.isOpened():
            cap = (
                cv2.VideoCapture(self.index)
                if self.backend is None
                else cv2.VideoCapture(self.index, self.backend)
            )
            if not cap.isOpened():
                raise CaptureError(f"camera {self.index} could not be opened")
            if self.width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            if self.height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            for _ in range(self.warmup_frames):  # auto exposure settles on the first frames
                cap.read()
            self._cap = cap
        return self._cap

    def _read(self) -> np.ndarray:
        ok, frame = self._open().read()
        if not ok or frame is None:
            raise CaptureError(f"camera {self.index} returned no frame")
        return frame

    def preview(self) -> np.ndarray | None:
        return self._read()

    def record(
        self, plan: Challenge, on_prompt: OnPrompt | None = None, on_flash: OnFlash | None = None
    ) -> Recording:
        self._open()
        cues = _cues(plan)
        frames: list[np.ndarray] = []
        stamps: list[float] = []
        t0 = time.monotonic()
        while True:
            now = (time.monotonic() - t0) * 1000
            while cues and cues[0].at_ms <= now:
                _fire(cues.pop(0), on_prompt, on_flash)
            if now >= plan.capture_ms:
                break
            frame = self._read()
            frames.append(frame)
            stamps.append((time.monotonic() - t0) * 1000)
        for cue in cues:  # a flash ending exactly at capture_ms still gets its "off"
            _fire(cue, on_prompt, on_flash)
        return Recording(frames, stamps)

    def capture_still(self, side: str) -> bytes:
        """Wait ``still_delay_s`` (the UI asks the user to hold the card up), then take one frame as JPEG."""
        self._open()
        deadline = time.monotonic() + self.still_delay_s
        frame = self._read()
        while time.monotonic() < deadline:
            frame = self._read()
        return _jpeg(frame, 92)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoFileSource:
    """Frames of a recorded video file (a kiosk's own recorder, a replay for debugging).

    The file is read as fast as it decodes, up to ``plan.capture_ms`` of video time; prompt and flash
    callbacks are called in order without waiting (the video was recorded already).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def record(
        self, plan: Challenge, on_prompt: OnPrompt | None = None, on_flash: OnFlash | None = None
    ) -> Recording:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise CaptureError(f"{self.path.name}: cannot be decoded")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        frames: list[np.ndarray] = []
        stamps: list[float] = []
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                t = len(frames) * 1000 / fps if fps > 0 else cap.get(cv2.CAP_PROP_POS_MSEC)
                if t >= plan.capture_ms:
                    break
                frames.append(frame)
                stamps.append(t)
        finally:
            cap.release()
        if not frames:
            raise CaptureError(f"{self.path.name}: no frames")
        for cue in _cues(plan):
            _fire(cue, on_prompt, on_flash)
        return Recording(frames, stamps)

    def preview(self) -> np.ndarray | None:
        cap = cv2.VideoCapture(str(self.path))
        try:
            ok, frame = cap.read()
        finally:
            cap.release()
        return frame if ok else None


class ImageFilesSource:
    """A sequence of image files played as frames at ``fps`` (handy for demos and for debugging a model)."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]], fps: float = 15.0) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ValueError("ImageFilesSource needs at least one image")
        self.fps = fps

    def _load(self, path: Path) -> np.ndarray:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise CaptureError(f"{path.name}: not a readable image")
        return img

    def record(
        self, plan: Challenge, on_prompt: OnPrompt | None = None, on_flash: OnFlash | None = None
    ) -> Recording:
        frames: list[np.ndarray] = []
        stamps: list[float] = []
        for i, path in enumerate(self.paths):
            t = i * 1000 / self.fps
            if t >= plan.capture_ms:
                break
            frames.append(self._load(path))
            stamps.append(t)
        for cue in _cues(plan):
            _fire(cue, on_prompt, on_flash)
        return Recording(frames, stamps)

    def preview(self) -> np.ndarray | None:
        return self._load(self.paths[0])


class StillImages:
    """Card photos already taken: a path or the encoded bytes for each side."""

    def __init__(
        self, front: str | os.PathLike[str] | bytes, back: str | os.PathLike[str] | bytes | None = None
    ):
        self.sides = {"front": front, "back": back}

    def capture_still(self, side: str) -> bytes:
        value = self.sides.get(side)
        if value is None:
            raise CaptureError(f"no {side} photo given")
        return value if isinstance(value, bytes) else Path(value).read_bytes()


# ---------------------------------------------------------------------------- encoding


class EncodedVideo(NamedTuple):
    data: bytes
    content_type: str
    fps: float
    frames: int


# (fourcc, file suffix, content type). Both are written and read back by the opencv-python wheels from PyPI
# on Linux, macOS and Windows; mp4v is ~10x smaller than MJPG at a similar quality (PSNR ~36 dB vs ~38 dB).
_CODECS = (("mp4v", ".mp4", "video/mp4"), ("MJPG", ".avi", "video/x-msvideo"))


def _fit(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(h, w)) if max_side else 1.0
    nw, nh = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2  # codecs want even sizes
    if (nw, nh) != (w, h):
        frame = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return frame


def _uniform(frames: Sequence[np.ndarray], stamps: Sequence[float], fps: float) -> list[np.ndarray]:
    """The frame showing at each tick ``k / fps`` since the recording started (repeats or drops frames)."""
    last = stamps[-1]
    ticks = int(last * fps / 1000) + 1
    out: list[np.ndarray] = []
    j = 0
    for k in range(ticks):
        t = k * 1000 / fps
        while j + 1 < len(stamps) and abs(stamps[j + 1] - t) <= abs(stamps[j] - t):
            j += 1
        out.append(frames[j])
    return out


def _write(frames: Sequence[np.ndarray], fps: float, fourcc: str, suffix: str) -> bytes | None:
    h, w = frames[0].shape[:2]
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="shiren-sdk-")
    os.close(fd)
    try:
        writer = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        if not writer.isOpened():
            return None
        for f in frames:
            writer.write(f)
        writer.release()
        cap = cv2.VideoCapture(name)  # only keep what this OpenCV can read back, frame for frame
        decoded = 0
        while decoded <= len(frames) and cap.read()[0]:
            decoded += 1
        cap.release()
        return Path(name).read_bytes() if decoded == len(frames) else None
    finally:
        Path(name).unlink(missing_ok=True)


def encode_video(
    frames: Sequence[np.ndarray],
    timestamps_ms: Sequence[float] | None = None,
    *,
    fps: float | None = None,
    max_fps: float = 30.0,
    max_side: int | None = 640,
) -> EncodedVideo:
    """Encode a recording as MPEG-4 part 2 (``.mp4``) or Motion JPEG (``.avi``), whichever is smaller.

    Each codec's output is decoded again and kept only if every frame comes back, so the upload is something
    the server's OpenCV reads. Frames are scaled to at most ``max_side`` pixels (the liveness model does not
    need more; the upload stays far under the 16 MB limit). With ``timestamps_ms`` the frames are resampled
    on a uniform grid at their measured rate (or ``fps``; at most ``max_fps``: the server analyses 15 frames
    a second), so that second *t* of the video is second *t* of the challenge even when a camera delivered
    frames unevenly.
    """
    if not frames:
        raise CaptureError("nothing was recorded")
    fitted = [_fit(f, max_side) for f in frames]
    if timestamps_ms is not None and len(timestamps_ms) != len(frames):
        raise ValueError("one timestamp per frame")
    if fps is None:
        if timestamps_ms is not None and len(frames) > 1 and timestamps_ms[-1] > timestamps_ms[0]:
            fps = (len(frames) - 1) * 1000 / (timestamps_ms[-1] - timestamps_ms[0])
        else:
            fps = 15.0
    fps = float(min(max_fps, max(1.0, round(fps, 2))))
    if timestamps_ms is not None:
        fitted = _uniform(fitted, timestamps_ms, fps)
    best: EncodedVideo | None = None
    for fourcc, suffix, ctype in _CODECS:
        data = _write(fitted, fps, fourcc, suffix)
        if data is not None and (best is None or len(data) < len(best.data)):
            best = EncodedVideo(data, ctype, fps, len(fitted))
    if best is None:
        raise CaptureError("this OpenCV build can write neither mp4v nor MJPG video")
    return best


# ---------------------------------------------------------------------------- stills


def _jpeg(img: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CaptureError("JPEG encoding failed")
    return buf.tobytes()


def preview_jpeg(frame: np.ndarray, max_side: int = 640, max_bytes: int = 200_000) -> bytes:
    """A ``guide`` preview: at most ``max_side`` px and ``max_bytes``, lowering the quality as needed."""
    small = _fit(frame, max_side)
    for quality in (80, 65, 50, 35):
        data = _jpeg(small, quality)
        if len(data) <= max_bytes:
            return data
    return _jpeg(_fit(small, max_side // 2), 50)


def image_content_type(data: bytes) -> str:
    """The content type the magic bytes say (JPEG, PNG, WebP); the server checks the same bytes."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise CaptureError("card photo is not JPEG, PNG or WebP")
