"""The separate consent to biometric processing (PIPL art. 29) shown before any capture.

The text is versioned: the version and a hash of the exact text shown are recorded with each consent, so
an operator can prove what a user agreed to. Change the version whenever the text changes."""

from __future__ import annotations

import hashlib

CONSENT_VERSION = "2026-11-28"

CONSENT_TEXT: dict[str, str] = {
    "zh": (
        "为核验您的身份，本服务将采集并处理您的人脸图像和视频（敏感个人信息，属于生物识别信息），"
        "并在需要时处理您的身份证照片、姓名和身份证号码。这些信息仅用于本次实人认证，加密存储，"
        "在保留期满后删除，不会用于其他目的。您可以拒绝，但将无法完成认证。"
        "未满十四周岁的未成年人须由监护人同意并陪同完成。"
    ),
    "en": (
        "To verify your identity, this service will capture and process images and a video of your face "
        "(sensitive personal information: biometric data) and, where needed, photos of your ID card, your "
        "name and your ID number. They are used only for this verification, stored encrypted and erased at "
        "the end of the retention period, and never used for any other purpose. You may refuse, but then "
        "the verification cannot be completed. Children under 14 need a guardian's consent and presence."
    ),
}


def consent_text_hash(locale: str) -> str:
    return hashlib.sha256(CONSENT_TEXT[locale].encode()).hexdigest()
