"""The face-verify family's wire shapes: the ``{Code, Message, ResultObject}`` envelope, and MaterialInfo /
IdentityInfo as JSON strings inside the JSON (FACEVERIFY §1, §5).

MaterialInfo holds only what shiren can fill honestly: whether the live capture was judged an attack
(``faceAttack``), whether the face was covered (``faceOcclusion``), and under ``facialPictureFront`` the
comparison score on shiren's calibrated 0-100 scale (``verifyScore``: against the authority photo for
ID_PRO / ID_MIN, the supplied photo for PV_FV / PV_FC) and signed, expiring links to the judged picture
and the video. There is no ``faceAttackScore`` or ``qualityScore``: no model gives such a number here.
"""

from __future__ import annotations

import json
from typing import Any

from shiren.domain.faceverify import DEVICE_PRODUCTS, IDENTITY_PRODUCTS
from shiren.domain.idnumber import mask_id_number
from shiren.runtime import Runtime
from shiren.services.media import media_link
from shiren.storage.models import Attempt
from shiren.storage.repo.tasks import DataErased, attempt_identity, attempt_material


def envelope(result: dict[str, Any] | None, code: str = "200", message: str = "success") -> dict[str, Any]:
    body: dict[str, Any] = {"Code": code, "Message": message}
    if result is not None:
        body["ResultObject"] = result
    return body


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def material_info(runtime: Runtime, attempt: Attempt) -> str:
    stored = attempt_material(runtime.crypto, attempt)
    checks = (attempt.evidence or {}).get("checks", [])
    info: dict[str, Any] = {}
    if attempt.scheme in DEVICE_PRODUCTS:
        attacked = any(c.get("fails_with") == 9 and c.get("passed") is False for c in checks)
        info["faceAttack"] = "T" if attacked else "F"
    if "FaceMask" in stored:
        info["faceOcclusion"] = "T" if stored["FaceMask"] else "F"
    front: dict[str, Any] = {}
    score = attempt.authority_score if attempt.scheme in IDENTITY_PRODUCTS else attempt.face_score
    if score is not None:
        front["verifyScore"] = round(float(score), 2)
    picture = stored.get("FaceImageBlob")
    if picture:
        front["pictureUrl"] = media_link(runtime, picture, attempt.tenant_id)
    videos = stored.get("VideoBlobs") or []
    if videos:
        front["verifyVideoUrl"] = media_link(runtime, videos[0], attempt.tenant_id)
    if front:
        info["facialPictureFront"] = front
    return _compact(info)


def identity_info(runtime: Runtime, attempt: Attempt) -> str | None:
    """The identity checked, masked (the integrator sent it; the answer does not echo it whole)."""
    if attempt.scheme not in IDENTITY_PRODUCTS:
        return None
    try:
        name, number = attempt_identity(runtime.crypto, attempt)
    except DataErased:
        return None
    if not number:
        return None
    masked_name = (name[0] + "*" * (len(name) - 1)) if name else ""
    return _compact({"certType": "IDENTITY_CARD", "certName": masked_name, "certNo": mask_id_number(number)})


def verdict_view(runtime: Runtime, attempt: Attempt, passed: bool, sub_code: str) -> dict[str, Any]:
    """DescribeFaceVerify's (and ContrastFaceVerify's) ResultObject."""
    body: dict[str, Any] = {
        "Passed": "T" if passed else "F",
        "SubCode": sub_code,
        "MaterialInfo": material_info(runtime, attempt),
    }
    identity = identity_info(runtime, attempt)
    if identity is not None:
        body["IdentityInfo"] = identity
    return body
