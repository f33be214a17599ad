"""Reading photos of second-generation resident ID cards (and HK/Macau/Taiwan residence permits).

Pipeline, chosen for speed on a small CPU (about 0.55 s for both sides on 2 cores, PP-OCRv4):

1. Find the card: edges → closed regions and contours → 4-gons with a card-like aspect, corners refined
   by fitting lines to the sides (rounded corners otherwise pull them inwards), scored by how much of each
   side is backed by an edge. Without an outline, a photo with a card's proportions is tried as an
   already-cropped card, then the whole photo is OCR'd and the card placed from the printed labels it
   finds (公民身份号码, 签发机关 …).
2. Rectify to a canonical 856 x 540 image (10 px/mm), so every field has a known position.
3. Detect text once on the rectified card; the angle classifier sees three lines only, to tell upright
   from upside-down. Rows are matched to the printed layout, split at the printed label/value gaps, and
   only the value regions are recognised (one batched call); all labels go through as one strip.
4. The single-character fields (性别, 民族), the known weak spot of line OCR, are read from crops at their
   printed position, twice (alone, and after the label's last character), and voted. Birth date, sex and
   check character are cross-checked with the ID number; closed lists (the 56 民族, the province names)
   and the other side (the address names the bureau of 签发机关) repair misreads. Every disagreement and
   repair is recorded as ``Evidence``; the number only overrides a low-confidence reading.

``found`` says a card side is in the photo (else VerifyStatus 8), even when its text is hard to read (then
fields are empty or low-confidence: VerifyStatus 3/4). ``genuine`` / ``layout_score`` say how card-like the
photo is: outline, a face where the photo is printed (front) or the red emblem (back), text rows where the
fields are printed, labels read. That separates cards from photos of text or of a face; it does NOT detect
screens, photocopies or printed replicas (out of scope here).

Modules, in import order (each imports only from those before it): ``types`` (the results), ``locate``
(finding and straightening the card), ``text`` (cleaning and parsing OCR'd text), ``layout`` (the printed
layout, the OCR pass over a rectified card, OCR anchors, layout scores), ``front`` and ``back`` (the fields
of each side), ``reader`` (``read_front`` / ``read_back`` / ``read_card``). The OCR model is always passed
in (``ocr=``): the engine reads no settings and keeps no recogniser of its own.
"""

from .layout import DET_MAX_SIDE
from .locate import CANON_H, CANON_W, CARD_MM, PX, find_card_quad
from .reader import decode_image, read_back, read_card, read_front
from .text import ETHNIC_GROUPS
from .types import LOW_CONFIDENCE, CardBack, CardFront, Evidence, IdCardReading, Side

__all__ = [
    "CANON_H",
    "CANON_W",
    "CARD_MM",
    "CardBack",
    "CardFront",
    "DET_MAX_SIDE",
    "Evidence",
    "ETHNIC_GROUPS",
    "IdCardReading",
    "LOW_CONFIDENCE",
    "PX",
    "Side",
    "decode_image",
    "find_card_quad",
    "read_back",
    "read_card",
    "read_front",
]
