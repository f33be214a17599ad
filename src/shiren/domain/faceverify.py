"""The face-verify family (InitFaceVerify, DescribeFaceVerify … of FACEVERIFY.md) as rules over the one
decision core: which scheme each ProductCode is decided by, which challenge each liveness Model asks for,
and how a VerifyStatus reads as Alibaba's ``Passed`` / ``SubCode``.

Models map to server-drawn challenges (domain.challenge), drawn afresh for each capture:

| Model | challenge |
|---|---|
| LIVENESS | a blink |
| PHOTINUS_LIVENESS | a blink, under a random colour flash |
| MULTI_ACTION | a blink and a head shake (turn left, turn right), in random order |
| MOVE_ACTION | nearer or farther (drawn), and a blink, in random order |
| MULTI_FAPTCHA | a blink and a nose path of two head moves (left, right, down), in random order |
| MOVE_PHOTINUS / MULTI_PHOTINUS | MOVE_ACTION / MULTI_ACTION under a colour flash |
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from shiren.domain.decision import PASSED

# InitFaceVerify's products (a device capture) and the server-only ones, with the scheme that decides them
# (domain.schemes.PRODUCT_SCHEMES).
DEVICE_PRODUCTS: tuple[str, ...] = ("ID_PRO", "PV_FV", "LR_FR")
SERVER_PRODUCTS: tuple[str, ...] = ("ID_MIN", "LR_FR_MIN", "PV_FC")
# The products that check a name and number with an identity authority (417 on a scene without one).
IDENTITY_PRODUCTS: tuple[str, ...] = ("ID_PRO", "ID_MIN")

DEFAULT_MODEL = "LIVENESS"
FLASH_MODELS = ("PHOTINUS_LIVENESS", "MOVE_PHOTINUS", "MULTI_PHOTINUS")
MODELS: tuple[str, ...] = (
    "LIVENESS",
    "PHOTINUS_LIVENESS",
    "MULTI_ACTION",
    "MOVE_ACTION",
    "MOVE_PHOTINUS",
    "MULTI_PHOTINUS",
    "MULTI_FAPTCHA",
)
# LivenessFaceVerify's models: what one photo is judged for (see services/faceverify.py).
PHOTO_MODELS: tuple[str, ...] = ("NO_LIVENESS", "FRONT_CAMERA_LIVENESS", "REAR_CAMERA_LIVENESS")

CERTIFY_TTL_S = 30 * 60  # a CertifyId is valid 30 minutes
MIN_AGE = 14  # InitFaceVerify refuses a CertNo of a child under 14 (Code 405)
MAX_PHOTO_BYTES = 1024 * 1024  # a reference photo over 1 MB (decoded) is Code 421


@dataclass(frozen=True)
class ModelChallenge:
    """The liveness settings a Model draws its challenge with (domain.challenge.draw_challenge)."""

    settings: dict[str, Any]
    flash: bool


def model_challenge(
    model: str, *, timed: bool = True, rng: secrets.SystemRandom | None = None
) -> ModelChallenge:
    """The challenge settings for one capture of a verification started with ``model``."""
    rng = rng or secrets.SystemRandom()
    base = model.replace("_PHOTINUS", "_ACTION").replace("PHOTINUS_LIVENESS", "LIVENESS")
    if base == "LIVENESS":
        pool = ["blink"]
    elif base == "MULTI_ACTION":
        pool = ["blink", "turn_left", "turn_right"]
    elif base == "MOVE_ACTION":
        pool = ["blink", rng.choice(["nearer", "farther"])]
    elif base == "MULTI_FAPTCHA":
        pool = ["blink", *rng.sample(["turn_left", "turn_right", "nod"], 2)]
    else:
        raise ValueError(f"unknown liveness model {model!r}")
    settings: dict[str, Any] = {"actions": pool, "count": len(pool)}
    if not timed:
        settings["timed"] = False
    return ModelChallenge(settings, model in FLASH_MODELS)


# SubCode (FACEVERIFY §4) of each VerifyStatus the face-verify schemes can end in; 2 splits by whether the
# authority holds a record of the number at all (``record_found`` in the authority_identity check).
SUB_PASSED = "200"
SUB_IDENTITY_MISMATCH = "201"
SUB_NO_RECORD = "202"
SUB_NO_PHOTO = "203"
SUB_FACE_MISMATCH = "204"
SUB_LIVENESS = "205"
_SUB_CODES = {PASSED: SUB_PASSED, 11: SUB_NO_PHOTO, 6: SUB_FACE_MISMATCH, 7: SUB_FACE_MISMATCH}
_SUB_CODES.update({10: SUB_FACE_MISMATCH, 9: SUB_LIVENESS})
AUTHORITY_DOWN = 12  # no SubCode says "the authority did not answer": DescribeFaceVerify answers Code 500


def sub_code(verify_status: int, checks: list[dict[str, Any]]) -> str:
    """Alibaba's SubCode for a decided verification (``checks``: its stored evidence)."""
    if verify_status == 2:
        identity = next((c for c in checks if c.get("name") == "authority_identity"), {})
        found = (identity.get("data") or {}).get("record_found")
        return SUB_NO_RECORD if found is False else SUB_IDENTITY_MISMATCH
    try:
        return _SUB_CODES[verify_status]
    except KeyError:
        raise ValueError(f"VerifyStatus {verify_status} has no SubCode") from None
