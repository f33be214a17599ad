"""Image intake (SPEC 4.6): fetch integrator-supplied image URLs safely and decode untrusted image bytes."""

from shiren.intake.errors import DestinationRefused, FetchFailed, ImageRejected, IntakeError
from shiren.intake.fetch import MAX_REDIRECTS, RequestBudget, fetch_image, fetch_image_sync
from shiren.intake.images import (
    MAX_INPUT_BYTES,
    DecodedImage,
    ImageHeader,
    ImageLimits,
    check_image,
    decode_image,
    decode_untrusted,
    reencode_jpeg,
    sniff_format,
)

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_REDIRECTS",
    "DecodedImage",
    "DestinationRefused",
    "FetchFailed",
    "ImageHeader",
    "ImageLimits",
    "ImageRejected",
    "IntakeError",
    "RequestBudget",
    "check_image",
    "decode_image",
    "decode_untrusted",
    "fetch_image",
    "fetch_image_sync",
    "reencode_jpeg",
    "sniff_format",
]
