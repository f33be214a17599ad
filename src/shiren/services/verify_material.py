"""Pure-server verification (RPMin, VerifyMaterial): fetch the integrator's images, then the decision core.

All model work happens before the single transaction that records the attempt, so a failure at any point
leaves no half-written rows."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from shiren.domain.decision import thresholds_for
from shiren.domain.review import ReviewBand
from shiren.domain.schemes import get_scheme
from shiren.intake import DecodedImage, RequestBudget, decode_image, fetch_image
from shiren.runtime import Runtime
from shiren.services.decision import DecisionInputs, DecisionModels, NewAttempt, Outcome, evaluate, record
from shiren.services.errors import Invalid, Missing
from shiren.services.limits import check_failure_limits
from shiren.services.workload import CPU_SLOTS, china_today
from shiren.storage.models import Attempt, Scene


@dataclass
class MaterialRequest:
    biz_id: str
    name: str
    id_number: str
    face_url: str
    front_url: str | None = None
    back_url: str | None = None
    user_id: str | None = None


def check_request(scene: Scene, req: MaterialRequest) -> None:
    """What VerifyMaterial needs before anything is fetched."""
    scheme = get_scheme(scene.scheme)
    if scheme.live:
        raise Invalid("BizType", f"VerifyMaterial needs an RPMin scene; {scene.biz_type} is {scene.scheme}")
    if not req.face_url:
        raise Missing("FaceImageUrl")
    if scene.authority == "none" and not req.front_url:
        # Without an authority the card portrait is the only reference the face can be compared with.
        raise Missing("IdCardFrontImageUrl")


async def fetch_images(runtime: Runtime, req: MaterialRequest) -> dict[str, DecodedImage]:
    """Fetch and decode the request's images concurrently, within one 8 MB budget (IntakeError if bad)."""
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
    return dict(zip(present, decoded, strict=True))


def decision_inputs(scene: Scene, req: MaterialRequest, images: dict[str, DecodedImage]) -> DecisionInputs:
    return DecisionInputs(
        scheme=get_scheme(scene.scheme),
        tenant_id=scene.tenant_id,
        authority=scene.authority,
        thresholds=thresholds_for(scene.thresholds),
        review=ReviewBand.of(scene.review),
        name=req.name,
        id_number=req.id_number,
        face=images["FaceImageUrl"],
        front=images.get("IdCardFrontImageUrl"),
        back=images.get("IdCardBackImageUrl"),
    )


async def verify_material(runtime: Runtime, scene: Scene, req: MaterialRequest) -> tuple[Attempt, Outcome]:
    """Decide and record one VerifyMaterial request; raises Invalid/Missing or IntakeError before deciding."""
    check_request(scene, req)
    await asyncio.to_thread(check_failure_limits, runtime, scene, req.biz_id, req.id_number)
    t0 = time.perf_counter()
    images = await fetch_images(runtime, req)
    inputs = decision_inputs(scene, req, images)
    deps = DecisionModels(runtime.models, runtime.authorities, runtime.settings)
    t1 = time.perf_counter()

    def work() -> tuple[Attempt, Outcome]:
        with CPU_SLOTS:
            t2 = time.perf_counter()
            outcome = evaluate(deps, inputs, china_today())
            outcome.timings_ms["fetch_decode"] = round((t1 - t0) * 1000, 1)
            outcome.timings_ms["queue"] = round((t2 - t1) * 1000, 1)
            target = NewAttempt(req.biz_id, {"UserId": req.user_id} if req.user_id else {})
            return record(runtime, scene, inputs, outcome, target), outcome

    return await asyncio.to_thread(work)
