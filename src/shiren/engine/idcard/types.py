"""The results of reading a card (what callers get back), kept apart so every stage can fill them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

LOW_CONFIDENCE = 0.85

Side = Literal["front", "back"]


@dataclass(frozen=True)
class Evidence:
    """One observation worth keeping next to the verdict; ``code`` is stable, ``detail`` is for humans.

    Details never contain the full ID number.
    """

    code: str
    detail: str = ""


@dataclass
class _Read:
    """Common part of both sides."""

    found: bool = False
    genuine: bool = False
    layout_score: float = 0.0
    confidence: dict[str, float] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    # Card corners in the input image (tl, tr, br, bl of the upright card, float32 4x2).
    quad: np.ndarray | None = field(default=None, repr=False)
    # How the card was located: "edges" (its outline), "frame" (the photo is the card, already cropped),
    # "text" (placed from the labels found by OCR), or "" when not found.
    quad_source: str = ""
    # The rectified, upright card (CANON_W x CANON_H, BGR), e.g. for storing as evidence.
    card: np.ndarray | None = field(default=None, repr=False)
    labels_found: list[str] = field(default_factory=list)  # printed labels / titles the OCR recognised
    elapsed_ms: float = 0.0

    def low_confidence_fields(self, threshold: float = LOW_CONFIDENCE) -> list[str]:
        """Fields a user should confirm (RPBasic) because the OCR was unsure."""
        return [k for k, v in self.confidence.items() if v < threshold]


@dataclass
class CardFront(_Read):
    """The 人像面. ``nationality`` is without 族 ("汉"); ``birth`` is yyyymmdd; ``sex`` is 男 or 女."""

    name: str = ""
    sex: str = ""
    nationality: str = ""
    birth: str = ""
    address: str = ""
    number: str = ""
    number_valid: bool = False
    kind: str = ""  # from the number: resident, hk_macau_taiwan_permit, foreign_permanent
    # The printed photo (BGR, 12 px/mm) for the face comparison against the live face.
    portrait: np.ndarray | None = field(default=None, repr=False)
    portrait_has_face: bool | None = None


@dataclass
class CardBack(_Read):
    """The 国徽面. ``start_date`` is yyyymmdd; ``end_date`` is yyyymmdd or 长期."""

    authority: str = ""
    start_date: str = ""
    end_date: str = ""
    title: str = ""  # 居民身份证, 港澳居民居住证 or 台湾居民居住证


@dataclass
class IdCardReading:
    """Both sides together, with the checks that need both (validity term vs. age)."""

    front: CardFront | None
    back: CardBack | None
    evidence: list[Evidence] = field(default_factory=list)

    def id_card_info(self) -> dict[str, str]:
        """The IdCardInfo object of DescribeVerifyResult / VerifyMaterial (image URLs are added elsewhere)."""
        f, b = self.front, self.back
        return {
            "Name": f.name if f else "",
            "Number": f.number if f else "",
            "Address": f.address if f else "",
            "Nationality": f.nationality if f else "",
            "Sex": f.sex if f else "",
            "Birth": f.birth if f else "",
            "Authority": b.authority if b else "",
            "StartDate": b.start_date if b else "",
            "EndDate": b.end_date if b else "",
        }
