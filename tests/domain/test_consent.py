"""The consent text names only what the attempt's scheme processes, and the hash recorded with a consent
is the hash of the text that attempt was shown."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shiren.domain.consent import CONSENT_VERSION, LOCALES, consent_text, consent_text_hash, consent_texts_for
from shiren.domain.schemes import PRODUCT_SCHEMES, SCHEMES, get_scheme
from shiren.services import device
from shiren.services.verification import TokenRequest, start_verification
from shiren.storage.models import Consent
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.services.fakes import fake_runtime

LIVE = [s for s in (*SCHEMES.values(), *PRODUCT_SCHEMES.values()) if s.live]
CARD_WORDS = {"zh": ("身份证",), "en": ("ID card",)}
IDENTITY_WORDS = {"zh": ("姓名", "号码"), "en": ("name", "number")}
FACE_WORDS = {"zh": "人脸图像和视频", "en": "images and a video of your face"}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", ["FDBioOnly", "FVBioOnly", "LR_FR", "PV_FV"])
def test_a_liveness_only_scheme_asks_for_the_face_alone(name: str, locale: str) -> None:
    scheme = get_scheme(name)
    assert not scheme.identity and not scheme.captures_card
    text = consent_texts_for(scheme)[locale]
    assert FACE_WORDS[locale] in text
    for word in CARD_WORDS[locale] + IDENTITY_WORDS[locale]:
        assert word not in text, (name, word)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", ["RPBasic", "RPBioID"])
def test_a_scheme_that_photographs_the_card_names_card_name_and_number(name: str, locale: str) -> None:
    text = consent_texts_for(SCHEMES[name])[locale]
    assert FACE_WORDS[locale] in text
    for word in CARD_WORDS[locale] + IDENTITY_WORDS[locale]:
        assert word in text, (name, word)
    assert ("您拍摄的身份证照片" if locale == "zh" else "photos of your ID card that you take") in text


@pytest.mark.parametrize("name", ["RPBioOnly", "RPBioOnlyPro", "RPH5BioOnly", "RPManual", "ID_PRO"])
def test_an_identity_scheme_without_card_capture_names_only_the_cards_the_integrator_gives(name: str) -> None:
    texts = consent_texts_for(get_scheme(name))
    assert "您的姓名和身份证号码" in texts["zh"] and "your name and ID number" in texts["en"]
    assert "您拍摄的身份证照片" not in texts["zh"] and "that you take" not in texts["en"]
    assert "委托方提供的您的身份证照片" in texts["zh"] and "provided by the requesting" in texts["en"]


def test_each_combination_reads_as_one_text_per_locale() -> None:
    seen = {tuple(consent_texts_for(s).values()) for s in LIVE}
    assert len(seen) == 4  # face; +retained photo; +given card +identity; +own card +identity
    for texts in seen:
        zh, en = texts
        assert zh.count("。") == 4 and "，并处理、" not in zh
        assert en.startswith("To ") and ", ," not in en and ". ." not in en
    both = consent_text("en", card=True, identity=True, card_given=True)
    assert "requesting organisation" not in both  # photographed on the device, not given


def test_the_hash_is_of_the_exact_text() -> None:
    for scheme in LIVE:
        for locale, text in consent_texts_for(scheme).items():
            assert consent_text_hash(scheme, locale) == hashlib.sha256(text.encode()).hexdigest()
    assert consent_text_hash(SCHEMES["FDBioOnly"], "zh") != consent_text_hash(SCHEMES["RPBioID"], "zh")


@pytest.mark.parametrize(("scheme", "identity"), [("FDBioOnly", {}), ("RPBioID", {"name": "张三"})])
def test_the_recorded_hash_is_of_the_text_the_session_showed(
    tmp_path: Path, scheme: str, identity: dict[str, str]
) -> None:
    runtime = fake_runtime(tmp_path / "data")
    try:
        with runtime.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, "acme")
            scene = create_scene(session, runtime.crypto, tenant.id, "Scene", scheme)
            session.expunge(scene)
        if identity:
            identity["id_number"] = "11010519491231002X"
        token = start_verification(runtime, TokenRequest(scene, "order-1", **identity)).token
        ctx = device.open_attempt(runtime, token)
        shown = device.session_state(runtime, ctx)
        assert shown.consent_version == CONSENT_VERSION
        device.record_consent(runtime, ctx, CONSENT_VERSION, "en")
        with runtime.sessions() as session:
            recorded = session.query(Consent).filter_by(attempt_id=ctx.attempt.id).one()
        assert recorded.text_sha256 == hashlib.sha256(shown.consent_text["en"].encode()).hexdigest()
        assert recorded.version == CONSENT_VERSION and recorded.locale == "en"
    finally:
        runtime.close()
