"""Photo sources of the face-verify family: exactly one of a Base64 picture, a URL, an OSS object or the
CertifyId of an earlier passed verification (FACEVERIFY §2), at most 1 MB, with a face in it.

OSS objects live in Alibaba's own storage, which a self-hosted shiren cannot reach: they are refused with
a reason, and integrators send the picture as Base64 or by URL instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass

from shiren.domain.faceverify import MAX_PHOTO_BYTES
from shiren.intake import DecodedImage, ImageRejected, RequestBudget, decode_image, fetch_image
from shiren.runtime import Runtime
from shiren.services.errors import Invalid, Missing, ReferenceNotPassed, TooLarge, TooManySources
from shiren.storage.repo.tasks import attempt_by_token, attempt_material, media_cipher


@dataclass(frozen=True)
class PhotoSource:
    """One photo as the caller named it; ``prefix`` is "" or CompareFaceVerify's "Source" / "Target"."""

    picture: str | None = None  # Base64
    url: str | None = None
    oss_bucket: str | None = None
    oss_object: str | None = None
    certify_id: str | None = None
    prefix: str = ""

    @property
    def field(self) -> str:
        return f"{self.prefix}FaceContrastPicture"

    def given(self) -> list[str]:
        names = {
            "FaceContrastPicture": self.picture,
            "FaceContrastPictureUrl": self.url,
            "OssObjectName": self.oss_bucket or self.oss_object,
            "CertifyId": self.certify_id,
        }
        return [self.prefix + k for k, v in names.items() if v]


def _decode_base64(source: PhotoSource) -> bytes:
    text = "".join((source.picture or "").split())
    if "," in text[:64] and text.startswith("data:"):
        text = text.split(",", 1)[1]  # a data: URL's payload
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(source.field, "is not valid Base64") from None
    if not data:
        raise Invalid(source.field, "is empty")
    return data


def _earlier_face(runtime: Runtime, tenant_id: int, source: PhotoSource) -> bytes:
    """The live face of an earlier verification of this caller that passed."""
    field = source.prefix + "CertifyId"
    token = source.certify_id or ""
    with runtime.sessions() as session:
        attempt = attempt_by_token(session, token) if len(token) == 32 else None
        if attempt is not None:
            session.expunge(attempt)
    if attempt is None or attempt.tenant_id != tenant_id or attempt.verify_status != 1:
        raise ReferenceNotPassed(f"{field}: no passed verification of this account has this CertifyId")
    try:
        material = attempt_material(runtime.crypto, attempt)
        blob = material.get("FaceGlobalBlob") or material.get("FaceImageBlob")
        if not blob:
            raise ReferenceNotPassed(f"{field}: that verification kept no face picture")
        return runtime.blobs.get(blob, media_cipher(runtime.crypto, attempt))
    except ReferenceNotPassed:
        raise
    except Exception:  # erased keys or files: the picture is gone
        raise ReferenceNotPassed(f"{field}: that verification's pictures were erased") from None


async def load_photo(runtime: Runtime, tenant_id: int, source: PhotoSource) -> bytes:
    """The photo's bytes. Missing, TooManySources, Invalid, TooLarge, ReferenceNotPassed, or the intake's
    FetchFailed for a URL that cannot be had."""
    given = source.given()
    if not given:
        raise Missing(source.field)
    if len(given) > 1:
        raise TooManySources(given[0], f"give exactly one photo source, not {' and '.join(given)}")
    if source.oss_bucket or source.oss_object:
        raise Invalid(
            source.prefix + "OssObjectName",
            "Alibaba OSS cannot be reached from a self-hosted shiren; send the photo as Base64 or by URL",
        )
    if source.picture:
        data = _decode_base64(source)
    elif source.url:
        field = source.prefix + "FaceContrastPictureUrl"
        data = await fetch_image(
            source.url, runtime.settings, budget=RequestBudget.from_settings(runtime.settings), field=field
        )
    else:
        data = await asyncio.to_thread(_earlier_face, runtime, tenant_id, source)
    if len(data) > MAX_PHOTO_BYTES:
        raise TooLarge(f"{given[0]}: the photo is over 1 MB", MAX_PHOTO_BYTES)
    return data


def decode_photo(runtime: Runtime, data: bytes, field: str) -> DecodedImage:
    """Decode under the intake's limits and require a face (blocking); ImageRejected otherwise. Only the
    detector runs here: the decision analyses the face (quality, embedding) once, later."""
    image = decode_image(data, field, runtime.settings)
    if not runtime.models.detector.detect(image.bgr):
        raise ImageRejected(field, "no face was found in the photo")
    return image
