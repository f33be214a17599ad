"""Pure-server verification (RPMin, VerifyMaterial): fetch → decode → checks → verdict → store.

All model work happens before the single database transaction that records the attempt, so a failure at
any point leaves no half-written rows (blobs written before a failed transaction are deleted again).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shiren.domain.decision import Check, decide, thresholds_for
from shiren.domain.idnumber import InvalidIdNumber, parse_id_number
from shiren.intake import DecodedImage, RequestBudget, decode_image, fetch_image, reencode_jpeg
from shiren.runtime import Runtime
from shiren.services.callbacks import enqueue_callback
from shiren.services.checks import authority_checks, id_card_checks
from shiren.services.faces import FaceAnalysis, analyse_face, face_crop
from shiren.services.media import store_blob
from shiren.services.workload import CPU_SLOTS, china_today, model_evidence
from shiren.storage.models import Attempt, Blob, Scene, utcnow
from shiren.storage.repo.tasks import set_attempt_material, start_attempt


@dataclass
class MaterialRequest:
    biz_id: str
    name: str
    id_number: str
    face_url: str
    front_url: str | None = None
    back_url: str | None = None
    user_id: str | None = None


@dataclass
class Images:
    face: DecodedImage
    front: DecodedImage | None
    back: DecodedImage | None


@dataclass
class Outcome:
    status: int
    checks: list[Check]
    material: dict[str, Any]
    authority_score: float | None
    idcard_face_score: float | None
    face: FaceAnalysis | None
    timings_ms: dict[str, float] = field(default_factory=dict)


async def fetch_images(runtime: Runtime, req: MaterialRequest) -> Images:
    """Fetch and decode the request's images concurrently, within one 8 MB budget."""
    settings = runtime.settings
    budget = RequestBudget.from_settings(settings)
    urls = {
        "FaceImageUrl": req.face_url,
        "IdCardFrontImageUrl": req.front_url,
        "IdCardBackImageUrl": req.back_url,
    }
    present = {k: v for k, v in urls.items() if v}
    raw = await asyncio.gather(
        *(fetch_image(u, settings, budget=budget, field=k) for k, u in present.items())
    )
    decoded = await asyncio.gather(
        *(asyncio.to_thread(decode_image, data, k, settings) for k, data in zip(present, raw, strict=True))
    )
    by_field = dict(zip(present, decoded, strict=True))
    return Images(
        by_field["FaceImageUrl"], by_field.get("IdCardFrontImageUrl"), by_field.get("IdCardBackImageUrl")
    )


def evaluate(runtime: Runtime, scene: Scene, req: MaterialRequest, images: Images, today: date) -> Outcome:
    """Run every check and decide; pure computation over decoded images (no writes)."""
    timings: dict[str, float] = {}
    thresholds = thresholds_for(scene.thresholds)
    checks: list[Check] = []
    t0 = time.perf_counter()
    try:
        number = parse_id_number(req.id_number, today=today)
        checks.append(
            Check("id_number", 2, True, data={"kind": number.kind, "region_known": number.region_known})
        )
    except InvalidIdNumber as exc:
        number = None
        checks.append(Check("id_number", 2, False, detail=exc.reason))
    face = analyse_face(images.face.bgr)
    timings.update({f"face_{k}": v for k, v in (face.timings_ms if face else {}).items()})
    t1 = time.perf_counter()
    auth_checks, authority_score = authority_checks(
        runtime, scene, req.name, number, face, thresholds["authority"]
    )
    checks += auth_checks
    t2 = time.perf_counter()
    card_checks, card_info, portrait_score = id_card_checks(
        req.name, req.id_number, images.front, images.back, face, thresholds["idcard"], today
    )
    checks += card_checks
    t3 = time.perf_counter()
    status = decide(checks)
    timings.update({"face": (t1 - t0) * 1000, "authority": (t2 - t1) * 1000, "card": (t3 - t2) * 1000})
    material: dict[str, Any] = {"IdCardName": req.name, "IdCardNumber": req.id_number}
    if face is not None:
        material["FaceQuality"] = face.quality.level
        material["FaceMask"] = bool(face.quality.mask)
    else:
        material["FaceQuality"] = "UNQUALIFIED"
        material["FaceMask"] = False
    if card_info:
        material["IdCardInfo"] = card_info
    return Outcome(
        status,
        checks,
        material,
        authority_score,
        portrait_score,
        face,
        {k: round(v, 1) for k, v in timings.items()},
    )


def record(runtime: Runtime, scene: Scene, req: MaterialRequest, images: Images, outcome: Outcome) -> Attempt:
    """Store the images (encrypted) and the attempt with its verdict and evidence, in one transaction."""
    now = utcnow()
    jpeg = "image/jpeg"
    stored: list[Blob] = []

    def put(data: bytes, kind: str) -> str:
        blob = store_blob(
            runtime, data, tenant_id=scene.tenant_id, attempt_id=None, kind=kind, content_type=jpeg
        )
        stored.append(blob)
        return blob.id

    try:
        material = dict(outcome.material)
        material["FaceImageBlob"] = put(reencode_jpeg(face_crop(images.face.bgr, outcome.face)), "face")
        material["FaceGlobalBlob"] = put(reencode_jpeg(images.face), "face_global")
        card = dict(material.get("IdCardInfo", {}))
        if images.front is not None:
            card["FrontImageBlob"] = put(reencode_jpeg(images.front), "id_front")
        if images.back is not None:
            card["BackImageBlob"] = put(reencode_jpeg(images.back), "id_back")
        if card:
            material["IdCardInfo"] = card
        with runtime.sessions() as session, session.begin():
            attempt = start_attempt(
                session,
                runtime.crypto,
                scene,
                req.biz_id,
                ttl=timedelta(0),
                name=req.name,
                id_number=req.id_number,
                inputs={"UserId": req.user_id} if req.user_id else {},
                now=now,
            )
            attempt.state = "decided"
            attempt.verify_status = outcome.status
            attempt.decided_at = now
            attempt.authority_score = outcome.authority_score
            attempt.idcard_face_score = outcome.idcard_face_score
            attempt.evidence = {
                "checks": [c.as_evidence() for c in outcome.checks],
                "models": model_evidence(),
                "timings_ms": outcome.timings_ms,
                "thresholds": thresholds_for(scene.thresholds),
            }
            set_attempt_material(runtime.crypto, attempt, material)
            for blob in stored:
                blob.attempt_id = attempt.id
                session.add(blob)
            enqueue_callback(session, scene, attempt)
        return attempt
    except BaseException:
        for blob in stored:
            runtime.blobs.delete(blob.id)
        raise


async def verify_material(runtime: Runtime, scene: Scene, req: MaterialRequest) -> tuple[Attempt, Outcome]:
    t0 = time.perf_counter()
    images = await fetch_images(runtime, req)
    t1 = time.perf_counter()

    def work() -> tuple[Attempt, Outcome]:
        with CPU_SLOTS:
            t2 = time.perf_counter()
            outcome = evaluate(runtime, scene, req, images, china_today())
            outcome.timings_ms["fetch_decode"] = round((t1 - t0) * 1000, 1)
            outcome.timings_ms["queue"] = round((t2 - t1) * 1000, 1)
            return record(runtime, scene, req, images, outcome), outcome

    return await asyncio.to_thread(work)
