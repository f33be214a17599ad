"""The identity checks shared by every scheme: the ID card photos (8, 3, 4, 5, 6) and the authority
(2, 12, 11, 7). Pure computation over decoded images; the callers store the outcome."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shiren.authority import AuthorityUnavailable, get_authority
from shiren.domain.decision import Check, score_check
from shiren.domain.idnumber import IdNumber, is_expired
from shiren.engine import idcard
from shiren.intake import DecodedImage, decode_image
from shiren.runtime import Runtime
from shiren.services.faces import FaceAnalysis, analyse_face, compare, embedder_id
from shiren.storage.models import Scene


def _field_check(name: str, fails_with: int, read: str, expected: str, user_confirmed: bool) -> Check:
    if user_confirmed:
        return Check(name, fails_with, True, detail="read with low confidence; confirmed by the user")
    return Check(name, fails_with, read == expected, detail="" if read else "unreadable")


def _parse_date(value: str | None) -> date | None:
    if not value or value == "长期":
        return None
    return datetime.strptime(value, "%Y%m%d").date()


def side_check(side: idcard.CardFront | idcard.CardBack, which: str) -> Check:
    """Check 8: a genuine card side (found, with the expected layout) is in the photo."""
    ok = side.found and side.genuine
    detail = "" if ok else ("no ID card in the photo" if not side.found else "layout is not an ID card's")
    return Check(
        f"card_{which}_genuine",
        8,
        ok,
        round(side.layout_score, 3),
        detail=detail,
        data={"evidence": [e.code for e in side.evidence]} if side.evidence else {},
    )


def id_card_checks(
    name: str,
    id_number: str,
    front_image: DecodedImage | None,
    back_image: DecodedImage | None,
    face: FaceAnalysis | None,
    threshold: float,
    today: date,
    *,
    confirmed: frozenset[str] = frozenset(),
) -> tuple[list[Check], dict[str, Any], float | None]:
    """Checks 8, 3, 4, 5 and 6 from the card photos; returns the checks, IdCardInfo and the portrait score.

    ``confirmed``: card fields ("name", "number") that the OCR read with low confidence and the user
    confirmed or corrected (RPBasic); the user's value stands for them."""
    checks: list[Check] = []
    info: dict[str, Any] = {}
    portrait_score = None
    front = None
    if front_image is not None:
        front = idcard.read_front(front_image.bgr)
        checks.append(side_check(front, "front"))
        if front.found and front.genuine:
            info.update(
                {
                    "Name": front.name,
                    "Number": front.number,
                    "Address": front.address,
                    "Nationality": front.nationality,
                    "Sex": front.sex,
                    "Birth": front.birth,
                }
            )
            unsure = set(front.low_confidence_fields()) & confirmed
            checks.append(_field_check("card_name", 3, front.name, name, "name" in unsure))
            checks.append(
                _field_check("card_number", 4, front.number, id_number.strip().upper(), "number" in unsure)
            )
            portrait = analyse_face(front.portrait) if front.portrait is not None else None
            portrait_score = compare(
                face.embedding if face else None, portrait.embedding if portrait else None
            )
            checks.append(
                score_check(
                    "face_vs_card_portrait",
                    6,
                    portrait_score,
                    threshold,
                    "" if portrait else "no face in the card portrait",
                )
            )
    if back_image is not None:
        hint = (
            front.address
            if front is not None and front.confidence.get("address", 0) >= idcard.LOW_CONFIDENCE
            else None
        )
        back = idcard.read_back(back_image.bgr, address_hint=hint)
        checks.append(side_check(back, "back"))
        if back.found and back.genuine:
            info.update({"Authority": back.authority, "StartDate": back.start_date, "EndDate": back.end_date})
            if not back.end_date:
                checks.append(Check("card_validity", 5, False, detail="validity period unreadable"))
            else:
                expired = is_expired(_parse_date(back.end_date), today)
                checks.append(Check("card_validity", 5, not expired, detail="expired" if expired else ""))
    return checks, info, portrait_score


def authority_checks(
    runtime: Runtime,
    scene: Scene,
    name: str,
    number: IdNumber | None,
    face: FaceAnalysis | None,
    threshold: float,
) -> tuple[list[Check], float | None]:
    """Checks 2, 12, 11 and 7 against the scene's authority."""
    authority = get_authority(scene.authority, runtime)
    if authority is None or number is None:
        return [], None
    try:
        answer = authority.lookup(scene.tenant_id, name, number.number)
    except AuthorityUnavailable as exc:
        return [Check("authority_available", 12, False, detail=str(exc))], None
    checks = [Check("authority_available", 12, True), Check("authority_identity", 2, answer.identity_match)]
    if not answer.identity_match:
        return checks, None
    reference = answer.template if answer.template_model == embedder_id() else None
    if reference is None and answer.photo:
        try:
            ref_image = decode_image(answer.photo, "authority photo", runtime.settings)
            ref_face = analyse_face(ref_image.bgr)
            reference = ref_face.embedding if ref_face else None
        except Exception:  # noqa: BLE001 - any unusable reference photo is status 11, with evidence
            reference = None
    if reference is None:
        checks.append(Check("authority_photo", 11, False, detail="reference photo missing or unusable"))
        return checks, None
    checks.append(Check("authority_photo", 11, True))
    score = compare(face.embedding if face else None, reference)
    checks.append(score_check("face_vs_authority", 7, score, threshold))
    return checks, score
