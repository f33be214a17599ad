"""The verification result as the API returns it (DescribeVerifyResult, VerifyMaterial).

Materials are stored with blob ids; links are signed afresh on every read, so each expires 5 minutes
after the integrator asked for it.
"""

from __future__ import annotations

from typing import Any

from shiren.runtime import Runtime
from shiren.services.media import media_link
from shiren.storage.models import Attempt
from shiren.storage.repo.tasks import attempt_material

_LINKED = {"FaceImageBlob": "FaceImageUrl", "FaceGlobalBlob": "FaceGlobalUrl"}
_CARD_LINKED = {"FrontImageBlob": "FrontImageUrl", "BackImageBlob": "BackImageUrl"}


def _links(runtime: Runtime, tenant_id: int, stored: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if value is None:
            continue
        if key in names:
            out[names[key]] = media_link(runtime, value, tenant_id)
        else:
            out[key] = value
    return out


def material_view(runtime: Runtime, attempt: Attempt, *, mask_as_string: bool = False) -> dict[str, Any]:
    stored = attempt_material(runtime.crypto, attempt)
    if not stored:
        return {}
    card = stored.pop("IdCardInfo", None)
    videos = stored.pop("VideoBlobs", None)
    view = _links(runtime, attempt.tenant_id, stored, _LINKED)
    if card:
        view["IdCardInfo"] = _links(runtime, attempt.tenant_id, card, _CARD_LINKED)
    if videos:
        view["VideoUrls"] = [media_link(runtime, b, attempt.tenant_id) for b in videos]
    if mask_as_string and "FaceMask" in view:
        # VerifyMaterial returns FaceMask as the string "true"/"false" (DescribeVerifyResult: a bool).
        view["FaceMask"] = "true" if view["FaceMask"] else "false"
    return view


def scores_view(attempt: Attempt, *, face: bool = True) -> dict[str, float]:
    scores = {
        "AuthorityComparisionScore": attempt.authority_score,
        "IdCardFaceComparisonScore": attempt.idcard_face_score,
    }
    if face:
        scores["FaceComparisonScore"] = attempt.face_score
    return {k: float(v) for k, v in scores.items() if v is not None}


def result_view(runtime: Runtime, attempt: Attempt | None) -> dict[str, Any]:
    """DescribeVerifyResult's body (without RequestId)."""
    if attempt is None:
        return {"VerifyStatus": -1}
    body: dict[str, Any] = {"VerifyStatus": int(attempt.verify_status), **scores_view(attempt)}
    material = material_view(runtime, attempt)
    if material:
        body["Material"] = material
    return body
