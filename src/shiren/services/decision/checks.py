"""The identity checks of every scheme: the ID card (8, 3, 4, 5, 6) and the authority (2, 12, 11, 7).

Pure computation over what the entry point gathered; ``evaluate`` calls these, ``record`` stores them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shiren.authority import Authority, AuthorityUnavailable
from shiren.domain.decision import Check, score_check
from shiren.domain.idnumber import IdNumber, is_expired
from shiren.engine import idcard
from shiren.engine.models import Models
from shiren.intake import IntakeError, decode_image
from shiren.services.faces import FaceAnalysis, analyse_face, compare
from shiren.settings import Settings


def _field_check(
    name: str, fails_with: int, read: str, expected: str, user_confirmed: bool, confidence: float | None
) -> Check:
    """A card field against the claimed identity; its OCR confidence is kept (a review band reads it)."""
    data = {"confidence": round(confidence, 3)} if confidence is not None else {}
    if user_confirmed:
        detail = "read with low confidence; confirmed by the user"
        return Check(name, fails_with, True, detail=detail, data=data)
    return Check(name, fails_with, read == expected, detail="" if read else "unreadable", data=data)


def _parse_date(value: str | None) -> date | None:
    if not value or value == "长期":
        return None
    return datetime.strptime(value, "%Y%m%d").date()


def side_check(side: idcard.CardFront | idcard.CardBack, which: str) -> Check:
    """Check 8: a genuine card side (found, with the expected layout) is in the photo."""
    ok = side.found and side.genuine
    detail = "" if ok else ("no ID card in the photo" if not side.found else "layout is not an ID card's")
    data: dict[str, Any] = {"evidence": [e.code for e in side.evidence]} if side.evidence else {}
    if side.confidence:  # each field's OCR confidence, for a reviewer (never the fields themselves)
        data["confidence"] = {k: round(v, 3) for k, v in side.confidence.items()}
    return Check(f"card_{which}_genuine", 8, ok, round(side.layout_score, 3), detail=detail, data=data)


def card_checks(
    models: Models,
    reading: idcard.IdCardReading,
    name: str,
    id_number: str,
    face: FaceAnalysis | None,
    threshold: float,
    today: date,
    *,
    confirmed: frozenset[str] = frozenset(),
) -> tuple[list[Check], dict[str, Any], float | None]:
    """Checks 8, 3, 4, 5 and 6 of a card reading; returns the checks, IdCardInfo and the portrait score.

    ``confirmed``: card fields ("name", "number") that the OCR read with low confidence and the user
    confirmed or corrected (RPBasic); the user's value stands for them."""
    checks: list[Check] = []
    info: dict[str, Any] = {}
    portrait_score = None
    front, back = reading.front, reading.back
    if front is not None:
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
            checks.append(
                _field_check("card_name", 3, front.name, name, "name" in unsure, front.confidence.get("name"))
            )
            checks.append(
                _field_check(
                    "card_number",
                    4,
                    front.number,
                    id_number.strip().upper(),
                    "number" in unsure,
                    front.confidence.get("number"),
                )
            )
            portrait = analyse_face(models, front.portrait) if front.portrait is not None else None
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
    if back is not None:
        checks.append(side_check(back, "back"))
        if back.found and back.genuine:
            info.update({"Authority": back.authority, "StartDate": back.start_date, "EndDate": back.end_date})
            if not back.end_date:
                checks.append(Check("card_validity", 5, False, detail="validity period unreadable"))
            else:
                expired = is_expired(_parse_date(back.end_date), today)
                checks.append(Check("card_validity", 5, not expired, detail="expired" if expired else ""))
    if front is not None and back is not None and front.found and back.found:
        # Both sides read: the 有效期限 term must fit the holder's age at issue. Kept as evidence, not as a
        # verdict: one misread date would turn a genuine card into "not an original" (8); a reviewer sees it.
        mismatch = any(e.code == "validity_term_mismatch" for e in reading.evidence)
        checks.append(
            Check(
                "card_sides_consistent",
                8,
                None,
                detail="the validity term does not fit the holder's age at issue" if mismatch else "",
                data={"consistent": not mismatch},
            )
        )
    return checks, info, portrait_score


def authority_checks(
    models: Models,
    authority: Authority | None,
    tenant_id: int,
    name: str,
    number: IdNumber | None,
    face: FaceAnalysis | None,
    threshold: float,
    limits: Settings,
) -> tuple[list[Check], float | None]:
    """Checks 2, 12, 11 and 7 against the scene's authority (``limits``: the image decode limits)."""
    if authority is None or number is None:
        return [], None
    try:
        answer = authority.lookup(tenant_id, name, number.number)
    except AuthorityUnavailable as exc:
        return [Check("authority_available", 12, False, detail=str(exc))], None
    found = {"record_found": answer.record_found} if answer.record_found is not None else {}
    checks = [
        Check("authority_available", 12, True),
        Check("authority_identity", 2, answer.identity_match, data=found),
    ]
    if not answer.identity_match:
        return checks, None
    reference = answer.template if answer.template_model == models.embedder_id else None
    if reference is None and answer.photo:
        try:
            ref_image = decode_image(answer.photo, "authority photo", limits)
        except IntakeError:
            ref_image = None
        ref_face = analyse_face(models, ref_image.bgr) if ref_image is not None else None
        reference = ref_face.embedding if ref_face else None
    if reference is None:
        checks.append(Check("authority_photo", 11, False, detail="reference photo missing or unusable"))
        return checks, None
    checks.append(Check("authority_photo", 11, True))
    score = compare(face.embedding if face else None, reference)
    checks.append(score_check("face_vs_authority", 7, score, threshold))
    return checks, score
