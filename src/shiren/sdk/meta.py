"""The MetaInfo an app sends its server for InitFaceVerify, as Alibaba's app SDK's ``getMetaInfo`` does:
a JSON string with the same keys as the web's ``jsvm_all.js``. It describes the device, never the user."""

from __future__ import annotations

import json
import platform

SDK_VERSION = "3.0.0"


def meta_info(app_name: str = "", app_version: str = "1") -> str:
    """The JSON string to pass as ``MetaInfo`` (``deviceType`` "app"; no device fingerprint)."""
    return json.dumps(
        {
            "zimVer": SDK_VERSION,
            "appVersion": app_version,
            "bioMetaInfo": "4.1.0:python",
            "appName": app_name,
            "deviceType": "app",
            "osVersion": f"{platform.system()} {platform.release()}"[:64],
            "apdidToken": "",
            "deviceModel": platform.machine()[:64],
        },
        separators=(",", ":"),
    )
