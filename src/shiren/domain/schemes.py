"""The verification schemes (SPEC section 2): what each one needs from the integrator and the user."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    SDK = "sdk"  # A: SDK + server
    H5 = "h5"  # B: hosted H5 page + server
    SERVER = "server"  # C: pure server (VerifyMaterial)


@dataclass(frozen=True)
class Scheme:
    name: str
    mode: Mode
    token_required: tuple[str, ...]  # DescribeVerifyToken parameters that must be present
    captures_card: bool  # the user photographs the ID card
    identity: bool  # checks a name + ID number (vs. liveness-only schemes)


SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme("RPBasic", Mode.SDK, (), captures_card=True, identity=True),
        Scheme("RPManual", Mode.SDK, (), captures_card=False, identity=True),
        Scheme("RPBioID", Mode.SDK, ("Name", "IdCardNumber"), captures_card=True, identity=True),
        Scheme("RPBioOnly", Mode.SDK, ("Name", "IdCardNumber"), captures_card=False, identity=True),
        Scheme("RPBioOnlyPro", Mode.SDK, ("Name", "IdCardNumber"), captures_card=False, identity=True),
        Scheme("RPH5BioOnly", Mode.H5, ("Name", "IdCardNumber"), captures_card=False, identity=True),
        Scheme("RPMin", Mode.SERVER, (), captures_card=False, identity=True),
        Scheme("FVBioOnly", Mode.SDK, ("FaceRetainedImageUrl",), captures_card=False, identity=False),
        Scheme("FDBioOnly", Mode.SDK, (), captures_card=False, identity=False),
    )
}

AUTHORITIES = ("none", "registry", "http")


def get_scheme(name: str) -> Scheme:
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown scheme {name!r}; one of {', '.join(SCHEMES)}") from None


def step_list(scheme: Scheme, *, guide: bool = True, privacy: bool = True, result: bool = True) -> list[str]:
    """The StepList shown for a scene (CreateVerifySetting / DescribeVerifySetting)."""
    steps: list[str] = []
    if guide:
        steps.append("GUIDE")
    if privacy and scheme.mode is not Mode.SERVER:
        steps.append("PRIVACY")
    if scheme.name == "RPManual":
        steps.append("MANUAL_INPUT")
    if scheme.mode is not Mode.SERVER:
        steps.append("FACE_LIVENESS")
    if scheme.captures_card:
        steps.append("TAKE_ID_PHOTO")
    if scheme.name == "RPBasic":
        steps.append("ID_CONFIRM")
    if result and scheme.mode is not Mode.SERVER:
        steps.append("RESULT")
    return steps
