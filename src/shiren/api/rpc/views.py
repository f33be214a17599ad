"""The Alibaba wire shapes of what the use cases return: field names, types and links live here only.

Materials are stored with blob ids; links are signed afresh on every read, so each expires 5 minutes
after the integrator asked for it.
"""

from __future__ import annotations

from typing import Any

from shiren.domain.review import HELD
from shiren.domain.schemes import get_scheme, step_list
from shiren.runtime import Runtime
from shiren.services.media import media_link
from shiren.services.verification import TokenGrant
from shiren.storage.models import Attempt, Scene
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
    if attempt is None or attempt.review_state == HELD:  # a reviewer decides: nothing to say yet
        return {"VerifyStatus": -1}
    body: dict[str, Any] = {"VerifyStatus": int(attempt.verify_status), **scores_view(attempt)}
    material = material_view(runtime, attempt)
    if material:
        body["Material"] = material
    return body


def deleted_view(deleted: int) -> dict[str, Any]:
    """DeleteVerifyResult's body (without RequestId): how many attempts this call erased."""
    return {"Deleted": deleted}


def token_view(runtime: Runtime, grant: TokenGrant) -> dict[str, Any]:
    """DescribeVerifyToken's body (without RequestId)."""
    base = runtime.settings.base_url
    token = grant.token
    body: dict[str, Any] = {
        "VerifyToken": token,
        "OssUploadToken": {
            # shiren's own upload endpoint stands where Alibaba's OSS bucket stood; the VerifyToken is the
            # credential (no AccessKey on devices).
            "Bucket": "shiren",
            "EndPoint": f"{base}/device/v1",
            "Path": f"attempts/{token}/",
            "Key": token,
            "Secret": grant.upload_secret,
            "Token": token,
            "Expired": int(grant.expires_at.timestamp() * 1000),
        },
    }
    if grant.hosted_page:
        body["VerifyPageUrl"] = f"{base}/h5/v1/verify?token={token}"
    return body


def setting_view(scene: Scene) -> dict[str, Any]:
    """A scene as Create/Describe/UpdateVerifySetting show it: Alibaba's fields only (the CLI shows more)."""
    return {
        "BizType": scene.biz_type,
        "BizName": scene.name,
        "Solution": scene.scheme,
        "StepList": step_list(get_scheme(scene.scheme), **scene.steps),
    }


def settings_view(scenes: list[Scene]) -> dict[str, Any]:
    """DescribeVerifySetting's body (without RequestId)."""
    return {"VerifySettingList": [setting_view(s) for s in scenes]}
