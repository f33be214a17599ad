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
    """What a scheme needs; the decision pipeline and the device protocol read these flags, never names."""

    name: str
    mode: Mode
    token_required: tuple[str, ...]  # DescribeVerifyToken parameters that must be present
    captures_card: bool  # the user photographs the ID card on the device
    identity: bool  # checks a name + ID number (vs. liveness-only schemes)
    manual_input: bool = False  # the user types name and number (they replace the integrator's)
    confirm_step: bool = False  # the user confirms the card's OCR; identity is read from the card
    flash: bool = False  # a colour sequence on the screen whose reflection must follow it
    retained_photo: bool = False  # the live face is compared with FaceRetainedImageUrl
    face_only: bool = False  # nothing to compare: the photo must show one usable face (LR_FR_MIN)

    @property
    def live(self) -> bool:
        """Decided from a device capture (liveness), not from images sent by the integrator's server."""
        return self.mode is not Mode.SERVER

    @property
    def hosted_page(self) -> bool:
        """The user verifies on shiren's own H5 page, which redirects back when done."""
        return self.mode is Mode.H5

    @property
    def identity_from_user(self) -> bool:
        """The name and number the decision checks come from the device (typed or confirmed)."""
        return self.manual_input or self.confirm_step

    @property
    def card_by_url(self) -> bool:
        """Card photos, when given, come as URLs from the integrator (checked against the identity)."""
        return self.identity and not self.captures_card


SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme("RPBasic", Mode.SDK, (), captures_card=True, identity=True, confirm_step=True),
        Scheme("RPManual", Mode.SDK, (), captures_card=False, identity=True, manual_input=True),
        Scheme("RPBioID", Mode.SDK, ("Name", "IdCardNumber"), captures_card=True, identity=True),
        Scheme("RPBioOnly", Mode.SDK, ("Name", "IdCardNumber"), captures_card=False, identity=True),
        Scheme(
            "RPBioOnlyPro", Mode.SDK, ("Name", "IdCardNumber"), captures_card=False, identity=True, flash=True
        ),
        Scheme("RPH5BioOnly", Mode.H5, ("Name", "IdCardNumber"), captures_card=False, identity=True),
        Scheme("RPMin", Mode.SERVER, (), captures_card=False, identity=True),
        Scheme(
            "FVBioOnly",
            Mode.SDK,
            ("FaceRetainedImageUrl",),
            captures_card=False,
            identity=False,
            retained_photo=True,
        ),
        Scheme("FDBioOnly", Mode.SDK, (), captures_card=False, identity=False),
    )
}

# The face-verify family's products (domain/faceverify.py), decided by the same core. They are an
# attempt's scheme, never a scene's: one scene serves both families.
PRODUCT_SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme("ID_PRO", Mode.SDK, ("Name", "IdCardNumber"), captures_card=False, identity=True),
        Scheme("PV_FV", Mode.SDK, (), captures_card=False, identity=False, retained_photo=True),
        Scheme("LR_FR", Mode.SDK, (), captures_card=False, identity=False),
        Scheme("ID_MIN", Mode.SERVER, (), captures_card=False, identity=True),
        Scheme("PV_FC", Mode.SERVER, (), captures_card=False, identity=False, retained_photo=True),
        Scheme("LR_FR_MIN", Mode.SERVER, (), captures_card=False, identity=False, face_only=True),
    )
}

AUTHORITIES = ("none", "registry", "http")


class UnknownScheme(ValueError):
    """No scheme of that name."""


def get_scheme(name: str) -> Scheme:
    """A scene's scheme, or an attempt's face-verify product."""
    found = SCHEMES.get(name) or PRODUCT_SCHEMES.get(name)
    if found is None:
        raise UnknownScheme(f"unknown scheme {name!r}; one of {', '.join(SCHEMES)}")
    return found


def step_list(scheme: Scheme, *, guide: bool = True, privacy: bool = True, result: bool = True) -> list[str]:
    """The StepList shown for a scene (CreateVerifySetting / DescribeVerifySetting)."""
    steps: list[str] = []
    if guide:
        steps.append("GUIDE")
    if privacy and scheme.live:
        steps.append("PRIVACY")
    if scheme.manual_input:
        steps.append("MANUAL_INPUT")
    if scheme.live:
        steps.append("FACE_LIVENESS")
    if scheme.captures_card:
        steps.append("TAKE_ID_PHOTO")
    if scheme.confirm_step:
        steps.append("ID_CONFIRM")
    if result and scheme.live:
        steps.append("RESULT")
    return steps
