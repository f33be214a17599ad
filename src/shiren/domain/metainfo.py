"""MetaInfo: the device descriptor an integrator passes to InitFaceVerify (``MetaInfo=…``).

On H5/PC it is the JSON string ``getMetaInfo()`` of ``jsvm_all.js`` returns (Alibaba's, or shiren's drop-in
at ``/jsvm_all.js``); in apps the SDK builds it. Either way it comes from the device and is untrusted: a
flat JSON object of short strings with Alibaba's eight keys. This module only checks its shape; it decides
nothing. Whether a MetaInfo is required is the caller's decision (``parse_meta_info`` returns None for
none).

Rules, in the order they are checked:

* ``None``, empty or blank: no MetaInfo (None).
* At most :data:`MAX_RAW_BYTES` bytes of UTF-8, valid JSON, a JSON object, no key twice, no NaN/Infinity.
* Every value is a string, a number (app SDKs send some as numbers; kept as written, ``1.0`` stays
  ``"1.0"``) or null (the same as absent); objects, arrays and booleans are refused, under any key.
* Known keys: at most :data:`MAX_VALUE_CHARS` characters, no control characters, no lone surrogates.
* Unknown keys are dropped; only how many there were is kept.
* At least one of ``deviceType``, ``bioMetaInfo`` or ``zimVer`` is present and not empty.

Error messages name the key (shortened) and the rule, never a value, so they are safe to log and to
return to the integrator.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "KEYS",
    "MAX_RAW_BYTES",
    "MAX_VALUE_CHARS",
    "InvalidMetaInfo",
    "InvalidMetaInfoReason",
    "MetaInfo",
    "parse_meta_info",
]

MAX_RAW_BYTES = 4096
MAX_VALUE_CHARS = 256

InvalidMetaInfoReason = Literal[
    "too_long",
    "not_json",
    "not_object",
    "duplicate_key",
    "nested",
    "not_string",
    "value_too_long",
    "bad_character",
    "missing_required",
]

# JSON key -> MetaInfo field, in Alibaba's order.
_FIELDS = {
    "zimVer": "zim_ver",
    "appVersion": "app_version",
    "bioMetaInfo": "bio_meta_info",
    "appName": "app_name",
    "deviceType": "device_type",
    "osVersion": "os_version",
    "apdidToken": "apdid_token",
    "deviceModel": "device_model",
}
KEYS = tuple(_FIELDS)
_REQUIRED_ANY = ("deviceType", "bioMetaInfo", "zimVer")
# Control characters, and unpaired surrogates (a JSON "\\ud800" escape), which no UTF-8 store accepts.
_BAD_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_KEY_SHOWN = 40


class InvalidMetaInfo(ValueError):
    """The MetaInfo is malformed; ``reason`` is a stable code, ``key`` the offending key (if one)."""

    def __init__(self, reason: InvalidMetaInfoReason, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.reason: InvalidMetaInfoReason = reason
        self.key = key


@dataclass(frozen=True)
class MetaInfo:
    """A checked MetaInfo: each known key's value as a string, None where it was absent or null."""

    zim_ver: str | None = None
    app_version: str | None = None
    bio_meta_info: str | None = None
    app_name: str | None = None
    device_type: str | None = None
    os_version: str | None = None
    apdid_token: str | None = None
    device_model: str | None = None
    unknown_keys: int = 0  # how many keys were dropped

    def get(self, key: str) -> str | None:
        """The value under its JSON key (``"deviceType"``…)."""
        return getattr(self, _FIELDS[key])

    def as_evidence(self) -> dict[str, str | int | bool]:
        """What is safe to store with the verification: the device descriptors under their JSON keys
        (absent ones left out), whether an ``apdidToken`` was sent but not the token itself (it is a
        device fingerprint, an identifier rather than a descriptor), and how many keys were dropped.
        MetaInfo holds no IP address and nothing about the person."""
        out: dict[str, str | int | bool] = {}
        for key in KEYS:
            value = self.get(key)
            if key == "apdidToken":
                out["apdidTokenPresent"] = bool(value)
            elif value is not None:
                out[key] = value
        out["unknownKeys"] = self.unknown_keys
        return out


def _shown(key: str) -> str:
    """A client-chosen key, quoted and shortened for an error message."""
    return json.dumps(key if len(key) <= _KEY_SHOWN else key[:_KEY_SHOWN] + "...", ensure_ascii=True)


def _refuse_constant(name: str) -> Any:
    raise InvalidMetaInfo("not_json", f"MetaInfo is not valid JSON: {name} is not a JSON number")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidMetaInfo("duplicate_key", f"MetaInfo key {_shown(key)} appears more than once", key)
        out[key] = value
    return out


class _Number(str):
    """A JSON number kept exactly as written (so ``14.0`` stays ``"14.0"`` and no float rounds)."""

    __slots__ = ()


def _float(text: str) -> _Number:
    if not math.isfinite(float(text)):
        raise InvalidMetaInfo("not_json", "MetaInfo has a number out of range")
    return _Number(text)


def _value(key: str, value: Any, *, known: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "an array"
        raise InvalidMetaInfo("nested", f"MetaInfo {_shown(key)} is {kind}; values must be flat", key)
    if isinstance(value, bool) or not isinstance(value, str):
        raise InvalidMetaInfo("not_string", f"MetaInfo {_shown(key)} must be a string or a number", key)
    if not known:
        return None
    text = str(value)  # a _Number becomes a plain str
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidMetaInfo(
            "value_too_long",
            f"MetaInfo {_shown(key)} is {len(text)} characters long; at most {MAX_VALUE_CHARS} allowed",
            key,
        )
    if _BAD_CHARACTER.search(text):
        raise InvalidMetaInfo(
            "bad_character", f"MetaInfo {_shown(key)} contains a control character or a lone surrogate", key
        )
    return text


def parse_meta_info(raw: str | None) -> MetaInfo | None:
    """Check ``raw`` (the MetaInfo parameter as received) by the rules above; None when there is none.

    Raises :class:`InvalidMetaInfo` with the first rule it breaks."""
    if raw is None or not raw.strip():
        return None
    size = len(raw.encode("utf-8", errors="surrogatepass"))
    if size > MAX_RAW_BYTES:
        raise InvalidMetaInfo("too_long", f"MetaInfo is {size} bytes long; at most {MAX_RAW_BYTES} allowed")
    try:
        doc = json.loads(
            raw,
            object_pairs_hook=_pairs,
            parse_int=_Number,
            parse_float=_float,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as e:
        raise InvalidMetaInfo("not_json", f"MetaInfo is not valid JSON ({e.msg} at character {e.pos})") from e
    if not isinstance(doc, dict):
        kinds = {list: "an array", str: "a string", _Number: "a number", bool: "a boolean"}
        kind = kinds.get(type(doc), "null")
        raise InvalidMetaInfo("not_object", f"MetaInfo must be a JSON object, got {kind}")
    values: dict[str, str | None] = {}
    unknown = 0
    for key, value in doc.items():
        known = key in _FIELDS
        checked = _value(key, value, known=known)
        if known:
            values[_FIELDS[key]] = checked
        else:
            unknown += 1
    if not any(values.get(_FIELDS[k]) for k in _REQUIRED_ANY):
        raise InvalidMetaInfo(
            "missing_required",
            "MetaInfo must have at least one of " + ", ".join(_REQUIRED_ANY) + " (not empty)",
        )
    return MetaInfo(**values, unknown_keys=unknown)
