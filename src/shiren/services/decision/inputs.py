"""What a decision is made from, gathered by the entry point before any model runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shiren.domain.decision import Check
from shiren.domain.review import ReviewBand
from shiren.domain.schemes import Scheme
from shiren.engine.idcard import CardFront
from shiren.intake import DecodedImage


@dataclass(frozen=True)
class Capture:
    """A device capture: the video, and when and for which challenge it was recorded."""

    video: bytes
    challenge_id: str
    actions: tuple[str, ...]
    flash: dict[str, Any] | None
    capture_ms: int
    issued_at: datetime
    expires_at: datetime
    uploaded_at: datetime
    replayed: bool  # the same bytes were uploaded for another attempt
    prompt_ms: tuple[int, ...] | None = None  # a timed challenge's prompt moments (ms into the recording)


@dataclass
class DecisionInputs:
    """Everything one verdict needs. Exactly one of ``face`` (a still, VerifyMaterial) and ``capture`` (a
    video, the device) is the live face; the rest is there when the scheme and the caller provide it."""

    scheme: Scheme
    tenant_id: int
    authority: str  # the scene's authority kind: none | registry | http
    thresholds: dict[str, float]
    review: ReviewBand = ReviewBand()  # the scene's human review band (empty: the checks decide alone)
    name: str | None = None
    id_number: str | None = None
    # Card fields ("name", "number") the user confirmed or corrected after OCR (the confirm step).
    confirmed: frozenset[str] = frozenset()
    face: DecodedImage | None = None
    capture: Capture | None = None
    front: DecodedImage | None = None
    back: DecodedImage | None = None
    front_read: CardFront | None = None  # the front as already read for the confirm step: not read again
    retained: DecodedImage | None = None
    # Checks already failed while gathering (an integrator's image URL that could not be fetched).
    unavailable: list[Check] = field(default_factory=list)
