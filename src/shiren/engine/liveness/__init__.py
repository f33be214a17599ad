"""Server-side active liveness: decode the capture, measure every frame, find the challenged actions.

The device only records; everything that decides happens here (see verifier.verify_capture)."""

from .actions import PromptTiming
from .verifier import LivenessReport, best_face_frame, verify_capture
from .video import VideoRejected, decode_video, sniff_video_type

__all__ = [
    "LivenessReport",
    "PromptTiming",
    "VideoRejected",
    "best_face_frame",
    "decode_video",
    "sniff_video_type",
    "verify_capture",
]
