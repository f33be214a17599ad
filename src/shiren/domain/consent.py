"""The separate consent to biometric processing (PIPL art. 29) shown before any capture.

The text names only what the attempt's scheme processes (a liveness-only scene asks for no ID card, name or
number), so it is built from parts per scheme. It is versioned: the version and a hash of the exact text
shown for the attempt's scheme are recorded with each consent, so an operator can prove what a user agreed
to. Change the version whenever any part changes."""

from __future__ import annotations

import hashlib
from functools import cache

from shiren.domain.schemes import Scheme

CONSENT_VERSION = "2026-12-02"
LOCALES = ("zh", "en")

_PURPOSE = {
    "zh": {True: "为核验您的身份", False: "为完成本次实人认证"},
    "en": {True: "To verify your identity", False: "To complete this verification"},
}
_FACE = {
    "zh": "，本服务将采集并处理您的人脸图像和视频（敏感个人信息，属于生物识别信息）",
    "en": (
        ", this service will capture and process images and a video of your face "
        "(sensitive personal information: biometric data)"
    ),
}
_PARTS = {
    "zh": {
        "card": "您拍摄的身份证照片",
        "card_given": "委托方提供的您的身份证照片（如有）",
        "retained_photo": "委托方提供的您的照片（用于比对）",
        "identity": "您的姓名和身份证号码",
    },
    "en": {
        "card": "the photos of your ID card that you take",
        "card_given": "any photos of your ID card provided by the requesting organisation",
        "retained_photo": "a photo of you provided by the requesting organisation, for comparison",
        "identity": "your name and ID number",
    },
}
_REST = {
    "zh": (
        "这些信息仅用于本次实人认证，加密存储，在保留期满后删除，不会用于其他目的。您可以拒绝，但将无法完成认证。"
        "未满十四周岁的未成年人须由监护人同意并陪同完成。"
    ),
    "en": (
        "They are used only for this verification, stored encrypted and erased at the end of the retention "
        "period, and never used for any other purpose. You may refuse, but then the verification cannot be "
        "completed. Children under 14 need a guardian's consent and presence."
    ),
}


def _join(locale: str, parts: list[str]) -> str:
    if locale == "zh":
        return "，并处理" + "、".join(parts)
    head = ", ".join(parts[:-1])
    return ". It will also process " + (f"{head}, as well as {parts[-1]}" if head else parts[-1])


def consent_text(
    locale: str,
    *,
    card: bool,
    identity: bool,
    card_given: bool = False,
    retained_photo: bool = False,
) -> str:
    """The text in ``locale``: face images and video always; the card photos the user takes (``card``) or
    the integrator gave (``card_given``); a reference photo from the integrator; name and ID number."""
    flags = {
        "card": card,
        "card_given": card_given and not card,
        "retained_photo": retained_photo,
        "identity": identity,
    }
    parts = [_PARTS[locale][name] for name, on in flags.items() if on]
    first = _PURPOSE[locale][identity] + _FACE[locale] + (_join(locale, parts) if parts else "")
    return first + ("。" if locale == "zh" else ". ") + _REST[locale]


@cache
def consent_texts_for(scheme: Scheme) -> dict[str, str]:
    """Every locale's text for an attempt of ``scheme`` (what GET session shows)."""
    return {
        locale: consent_text(
            locale,
            card=scheme.captures_card,
            identity=scheme.identity,
            card_given=scheme.card_by_url,
            retained_photo=scheme.retained_photo,
        )
        for locale in LOCALES
    }


def consent_text_hash(scheme: Scheme, locale: str) -> str:
    """SHA-256 of the exact text shown in ``locale`` for an attempt of ``scheme``."""
    return hashlib.sha256(consent_texts_for(scheme)[locale].encode()).hexdigest()
