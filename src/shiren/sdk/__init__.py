"""shiren's Python SDK for kiosks and desktop apps: the device side of a verification (mode A).

The integrator's *server* calls DescribeVerifyToken and hands the VerifyToken to the app; the app runs
this SDK with it; the SDK captures, uploads and submits; the server decides; the app tells its server,
which reads the only trusted result with DescribeVerifyResult. Everything the SDK returns is a hint.

Example (a kiosk with a webcam, an RPBasic scene)::

    from shiren.sdk import CameraSource, ConsoleUI, DeviceClient, Verification

    with DeviceClient("https://shiren.example.com", token) as client, CameraSource(0) as camera:
        outcome = Verification(client, frames=camera, stills=camera, ui=ConsoleUI()).run()
    print(outcome.state, outcome.code, outcome.message)   # 1 / 2 / -1, VerifyStatus, plain words
    send_to_my_server(outcome.result)                    # then DescribeVerifyResult there

Pieces, each usable alone:

- :class:`DeviceClient`: one method per protocol call, errors as :class:`DeviceError` (status, code,
  message), retries where the protocol makes them safe.
- Frame sources (:class:`FrameSource`: ``record(plan, on_prompt, on_flash) -> (frames, timestamps_ms)``):
  :class:`CameraSource`, :class:`VideoFileSource`, :class:`ImageFilesSource`, or your own; still sources
  (:class:`StillSource`: ``capture_still(side) -> bytes``): :class:`CameraSource`, :class:`StillImages`.
- :func:`encode_video`: frames to an ``.mp4`` (mp4v) or ``.avi`` (MJPG) the server reads, the smaller one.
- :func:`meta_info`: the MetaInfo string an app sends its server for InitFaceVerify (whose CertifyId then
  stands where a VerifyToken stands: ``DeviceClient(url, certify_id)``).
- :class:`Verification`: walks the session's steps (consent, typed identity, liveness, card photos, OCR
  confirmation), submits and returns an :class:`SdkResult`; :class:`UI` is the pluggable user interface.

Dependencies are shiren's own (httpx, numpy, opencv-python-headless); the SDK imports nothing else of
shiren, so it can be vendored into an app as the ``shiren/sdk`` folder.
"""

from shiren.sdk.capture import (
    CameraSource,
    CaptureError,
    EncodedVideo,
    FrameSource,
    ImageFilesSource,
    PreviewSource,
    Recording,
    StillImages,
    StillSource,
    VideoFileSource,
    encode_video,
    image_content_type,
    preview_jpeg,
)
from shiren.sdk.client import Challenge, DeviceClient, DeviceError, Flash, Prompt
from shiren.sdk.meta import meta_info
from shiren.sdk.verification import UI, Cancelled, ConfirmFn, ConsoleUI, SdkResult, Verification

__all__ = [
    "UI",
    "CameraSource",
    "Cancelled",
    "CaptureError",
    "Challenge",
    "ConfirmFn",
    "ConsoleUI",
    "DeviceClient",
    "DeviceError",
    "EncodedVideo",
    "Flash",
    "FrameSource",
    "ImageFilesSource",
    "PreviewSource",
    "Prompt",
    "Recording",
    "SdkResult",
    "StillImages",
    "StillSource",
    "Verification",
    "VideoFileSource",
    "encode_video",
    "image_content_type",
    "meta_info",
    "preview_jpeg",
]
