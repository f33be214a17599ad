"""Every SDK scheme end to end: official Alibaba SDK (integrator) → real server → shiren.sdk (device).

The device side records a real face that performs whatever challenge the server drew (rendered only after
the draw), photographs generated ID cards with the same person's portrait, and goes through consent,
typed or confirmed identity, uploads and submit. Each test then reads DescribeVerifyResult through the
official SDK and checks it against the SDK's hint; the failures also name the check that failed.
"""

from __future__ import annotations

import pytest

from shiren.domain.consent import CONSENT_VERSION
from tests.fixtures.idcards import beijing_card
from tests.fixtures.photos import photo
from tests.sdk_e2e.conftest import FACE, HOLDER, HOLDER_ID, OTHER_FACE, Env
from tests.sdk_e2e.flows import failed_checks, full
from tests.sdk_e2e.sources import CardPhotos, RenderedFace

pytestmark = pytest.mark.timeout(120)


def _card(**kw: object) -> CardPhotos:
    return CardPhotos(beijing_card(HOLDER, HOLDER_ID), FACE, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- RPBasic


def test_rpbasic_passes_with_the_card_read_and_confirmed(env: Env) -> None:
    frames, stills = RenderedFace.of(FACE), _card()
    asked: list[tuple[dict[str, str], list[str]]] = []

    def confirm(fields: dict[str, str], low: list[str]) -> tuple[str, str]:
        asked.append((fields, low))
        return fields["name"], fields["idNumber"]

    run = full(env, "Basic", "basic-pass", frames, stills, confirm=confirm)
    assert run.status == 1, failed_checks(env, run.token)
    assert asked == [({"name": HOLDER, "idNumber": HOLDER_ID}, [])]
    assert run.result["IdCardFaceComparisonScore"] >= 80
    material = run.result["Material"]
    assert (material["IdCardName"], material["IdCardNumber"]) == (HOLDER, HOLDER_ID)
    assert material["IdCardInfo"]["Number"] == HOLDER_ID and material["IdCardInfo"]["EndDate"] == "长期"
    assert material["VideoUrls"] and material["FaceImageUrl"]
    # The SDK walked the steps: consent of the current version, prompts of the drawn challenge, both sides.
    assert run.ui.of("consent") == [CONSENT_VERSION]
    assert run.ui.of("prompt") == list(frames.plans[0].actions)
    assert stills.asked == ["front", "back"]
    assert run.ui.of("hint") == ["ok"]


def test_rpbasic_the_user_corrects_a_name_read_with_low_confidence(env: Env) -> None:
    """Lamp glare on the name: the OCR is unsure of it, the SDK asks the user, the user's name stands."""
    frames, stills = RenderedFace.of(FACE), _card(glare_on_name=True)
    asked: list[tuple[dict[str, str], list[str]]] = []

    def confirm(fields: dict[str, str], low: list[str]) -> tuple[str, str]:
        asked.append((fields, low))
        return HOLDER, fields["idNumber"]

    run = full(env, "Basic", "basic-corrected", frames, stills, confirm=confirm)
    ((fields, low),) = asked
    assert low == ["name"] and fields["idNumber"] == HOLDER_ID, asked
    assert run.status == 1, failed_checks(env, run.token)
    assert run.result["Material"]["IdCardName"] == HOLDER


def test_rpbasic_a_confident_reading_cannot_be_overridden(env: Env) -> None:
    """Only low-confidence fields take the user's word: another name for a clearly read card is 3."""
    run = full(
        env,
        "Basic",
        "basic-override",
        RenderedFace.of(FACE),
        _card(seed=3),
        confirm=lambda f, low: ("王建民", f["idNumber"]),
    )
    assert run.status == 3
    assert set(failed_checks(env, run.token)) == {"card_name"}


# ---------------------------------------------------------------------------- RPManual


def test_rpmanual_typed_identity_against_the_registry(env: Env) -> None:
    run = full(env, "Manual", "manual-pass", RenderedFace.of(FACE), name=HOLDER, id_number=HOLDER_ID)
    assert run.status == 1, failed_checks(env, run.token)
    assert run.result["AuthorityComparisionScore"] >= 80
    assert run.result["Material"]["IdCardNumber"] == HOLDER_ID
    assert run.ui.of("manual_input") == []  # the app gave the typed identity


# ---------------------------------------------------------------------------- RPBioID


def test_rpbioid_card_matches_the_supplied_identity(env: Env) -> None:
    run = full(
        env,
        "BioID",
        "bioid-pass",
        RenderedFace.of(FACE),
        _card(seed=2),
        token_params={"name": HOLDER, "id_card_number": HOLDER_ID},
    )
    assert run.status == 1, failed_checks(env, run.token)
    assert run.result["IdCardFaceComparisonScore"] >= 80


def test_rpbioid_wrong_name_is_3(env: Env) -> None:
    run = full(
        env,
        "BioID",
        "bioid-name",
        RenderedFace.of(FACE),
        _card(seed=2),
        token_params={"name": "王建民", "id_card_number": HOLDER_ID},
    )
    assert run.status == 3
    assert set(failed_checks(env, run.token)) == {"card_name"}


# ---------------------------------------------------------------------------- RPBioOnly


def test_rpbioonly_passes_against_the_registry_photo(env: Env) -> None:
    run = full(
        env,
        "BioOnly",
        "bio-pass",
        RenderedFace.of(FACE),
        token_params={"name": HOLDER, "id_card_number": HOLDER_ID},
    )
    assert run.status == 1, failed_checks(env, run.token)
    assert run.result["AuthorityComparisionScore"] >= 80
    assert run.result["Material"]["FaceQuality"] in ("NORMAL", "HIGH")


def test_rpbioonly_a_photo_held_to_the_camera_is_9(env: Env) -> None:
    run = full(
        env,
        "BioOnly",
        "bio-static",
        RenderedFace.of(FACE, "static"),
        token_params={"name": HOLDER, "id_card_number": HOLDER_ID},
    )
    assert run.status == 9
    assert "liveness_actions" in failed_checks(env, run.token)


# ---------------------------------------------------------------------------- RPBioOnlyPro


def test_rpbioonlypro_passes_with_the_flash_reflected(env: Env) -> None:
    frames = RenderedFace.of(FACE)
    run = full(
        env, "BioOnlyPro", "pro-pass", frames, token_params={"name": HOLDER, "id_card_number": HOLDER_ID}
    )
    assert run.status == 1, failed_checks(env, run.token)
    plan = frames.plans[0]
    assert plan.flash is not None and len(plan.flash.colors) >= 3
    assert run.ui.of("flash") == [*plan.flash.colors, None]  # the UI was told to fill the screen, in order


def test_rpbioonlypro_without_the_reflection_is_9(env: Env) -> None:
    run = full(
        env,
        "BioOnlyPro",
        "pro-noflash",
        RenderedFace.of(FACE, "no_flash"),
        token_params={"name": HOLDER, "id_card_number": HOLDER_ID},
    )
    assert run.status == 9
    assert set(failed_checks(env, run.token)) == {"liveness_flash_reflection"}


# ---------------------------------------------------------------------------- FVBioOnly


@pytest.mark.parametrize(("retained", "expected"), [("obama2.jpg", 1), (OTHER_FACE, 10)])
def test_fvbioonly_against_the_retained_photo(env: Env, retained: str, expected: int) -> None:
    url = env.host.put(f"retained-{retained}", photo(retained).read_bytes())
    run = full(
        env, "FV", f"fv-{retained}", RenderedFace.of(FACE), token_params={"face_retained_image_url": url}
    )
    assert run.status == expected, failed_checks(env, run.token)
    score = run.result["FaceComparisonScore"]
    assert (score >= 80) if expected == 1 else (score < 80)


# ---------------------------------------------------------------------------- FDBioOnly


def test_fdbioonly_liveness_alone(env: Env) -> None:
    run = full(env, "FD", "fd-pass", RenderedFace.of(FACE))
    assert run.status == 1, failed_checks(env, run.token)
    assert "IdCardName" not in run.result.get("Material", {})


def test_fdbioonly_actions_in_the_wrong_order_are_9(env: Env) -> None:
    run = full(env, "FD", "fd-order", RenderedFace.of(FACE, "reverse"))
    assert run.status == 9
    assert "liveness_actions" in failed_checks(env, run.token)
