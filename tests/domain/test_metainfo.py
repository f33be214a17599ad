"""Tests for shiren.domain.metainfo: a flat JSON object of short strings, checked strictly, stored safely."""

from __future__ import annotations

import dataclasses
import json

import pytest

from shiren.domain.metainfo import KEYS, MAX_RAW_BYTES, InvalidMetaInfo, MetaInfo, parse_meta_info

# What shiren's /jsvm_all.js returned in Debian Chromium (tests/browser/test_jsvm.py checks it live):
# a desktop page and a phone page (Playwright's "Pixel 7"), both served from 127.0.0.1.
FROM_SCRIPT_DESKTOP = (
    '{"zimVer":"3.0.0","appVersion":"1","bioMetaInfo":"4.1.0:gum=1,mr=1,gl=1","appName":"127.0.0.1",'
    '"deviceType":"web","osVersion":"Linux","apdidToken":"","deviceModel":"X11"}'
)
FROM_SCRIPT_PHONE = (
    '{"zimVer":"3.0.0","appVersion":"1","bioMetaInfo":"4.1.0:gum=1,mr=1,gl=1","appName":"127.0.0.1",'
    '"deviceType":"h5","osVersion":"Android 14","apdidToken":"","deviceModel":"Pixel 7"}'
)


def invalid(raw: str) -> InvalidMetaInfo:
    with pytest.raises(InvalidMetaInfo) as info:
        parse_meta_info(raw)
    return info.value


# ------------------------------------------------------------------------------------------- good


def test_the_scripts_output_parses() -> None:
    meta = parse_meta_info(FROM_SCRIPT_DESKTOP)
    assert meta == MetaInfo(
        zim_ver="3.0.0",
        app_version="1",
        bio_meta_info="4.1.0:gum=1,mr=1,gl=1",
        app_name="127.0.0.1",
        device_type="web",
        os_version="Linux",
        apdid_token="",
        device_model="X11",
        unknown_keys=0,
    )
    phone = parse_meta_info(FROM_SCRIPT_PHONE)
    assert phone is not None
    assert (phone.device_type, phone.os_version, phone.device_model) == ("h5", "Android 14", "Pixel 7")


def test_every_key_is_readable_by_its_json_name() -> None:
    meta = parse_meta_info(FROM_SCRIPT_PHONE)
    assert meta is not None
    assert {k: meta.get(k) for k in KEYS} == json.loads(FROM_SCRIPT_PHONE)


def test_none_and_empty_are_no_meta_info() -> None:
    assert parse_meta_info(None) is None
    assert parse_meta_info("") is None
    assert parse_meta_info("  \n") is None


def test_numbers_become_strings_as_written() -> None:
    meta = parse_meta_info('{"zimVer": 3, "appVersion": 12, "osVersion": 14.0, "deviceModel": -1.5e3}')
    assert meta is not None
    assert (meta.zim_ver, meta.app_version, meta.os_version, meta.device_model) == (
        "3",
        "12",
        "14.0",
        "-1.5e3",
    )


def test_absent_and_null_keys_are_none() -> None:
    meta = parse_meta_info('{"deviceType": "h5", "apdidToken": null}')
    assert meta is not None
    assert meta.device_type == "h5"
    assert meta.apdid_token is None and meta.zim_ver is None and meta.device_model is None


@pytest.mark.parametrize("key", ["deviceType", "bioMetaInfo", "zimVer"])
def test_any_one_of_the_three_is_enough(key: str) -> None:
    meta = parse_meta_info(json.dumps({key: "x"}))
    assert meta is not None and meta.get(key) == "x"


def test_unknown_keys_are_dropped_and_counted() -> None:
    meta = parse_meta_info('{"deviceType": "h5", "sdkBuild": "abc", "extra": 1, "x": null}')
    assert meta is not None
    assert meta.unknown_keys == 3
    assert "sdkBuild" not in meta.as_evidence()


def test_limits_are_inclusive() -> None:
    meta = parse_meta_info(json.dumps({"deviceType": "h5", "deviceModel": "m" * 256}))
    assert meta is not None and meta.device_model == "m" * 256
    padded = json.dumps({"deviceType": "h5", "pad": ""})
    padded = padded.replace('"pad": ""', '"pad": "' + "p" * (MAX_RAW_BYTES - len(padded)) + '"')
    assert len(padded) == MAX_RAW_BYTES
    assert parse_meta_info(padded) is not None


def test_meta_info_is_frozen() -> None:
    meta = parse_meta_info(FROM_SCRIPT_DESKTOP)
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.device_type = "h5"  # type: ignore[misc, union-attr]


def test_evidence_keeps_descriptors_but_not_the_device_token() -> None:
    meta = parse_meta_info(
        '{"zimVer": "3.0.0", "deviceType": "android", "apdidToken": "Ak7f-token", "deviceModel": "SM-G991B",'
        ' "more": "dropped"}'
    )
    assert meta is not None
    evidence = meta.as_evidence()
    assert evidence == {
        "zimVer": "3.0.0",
        "deviceType": "android",
        "apdidTokenPresent": True,
        "deviceModel": "SM-G991B",
        "unknownKeys": 1,
    }
    assert "Ak7f-token" not in json.dumps(evidence)
    full = parse_meta_info(FROM_SCRIPT_DESKTOP)
    assert full is not None
    assert full.as_evidence() == {
        "zimVer": "3.0.0",
        "appVersion": "1",
        "bioMetaInfo": "4.1.0:gum=1,mr=1,gl=1",
        "appName": "127.0.0.1",
        "deviceType": "web",
        "osVersion": "Linux",
        "apdidTokenPresent": False,
        "deviceModel": "X11",
        "unknownKeys": 0,
    }


# ---------------------------------------------------------------------------------------- garbage


@pytest.mark.parametrize("raw", ["not json", "{", '{"deviceType": "h5",}', "{'deviceType': 'h5'}"])
def test_not_json(raw: str) -> None:
    e = invalid(raw)
    assert e.reason == "not_json" and e.key is None
    assert "not valid JSON" in str(e)


@pytest.mark.parametrize("raw", ['{"zimVer": NaN}', '{"zimVer": Infinity}', '{"zimVer": 1e999}'])
def test_non_finite_numbers(raw: str) -> None:
    assert invalid(raw).reason == "not_json"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [('["deviceType", "h5"]', "an array"), ('"h5"', "a string"), ("42", "a number"), ("true", "a boolean")],
)
def test_not_an_object(raw: str, kind: str) -> None:
    e = invalid(raw)
    assert e.reason == "not_object"
    assert str(e) == f"MetaInfo must be a JSON object, got {kind}"


def test_too_long() -> None:
    raw = json.dumps({"deviceType": "h5", "pad": "p" * MAX_RAW_BYTES})
    e = invalid(raw)
    assert e.reason == "too_long"
    assert f"at most {MAX_RAW_BYTES}" in str(e)


def test_too_long_counts_utf8_bytes() -> None:
    raw = json.dumps({"deviceType": "h5", "pad": "机" * 1400}, ensure_ascii=False)
    assert len(raw) < MAX_RAW_BYTES < len(raw.encode())
    assert invalid(raw).reason == "too_long"


@pytest.mark.parametrize(
    ("raw", "key", "kind"),
    [
        ('{"deviceType": "h5", "bioMetaInfo": {"v": "4.1.0"}}', "bioMetaInfo", "an object"),
        ('{"deviceType": ["h5"]}', "deviceType", "an array"),
        ('{"deviceType": "h5", "futureKey": {"a": 1}}', "futureKey", "an object"),  # unknown keys too
    ],
)
def test_nested(raw: str, key: str, kind: str) -> None:
    e = invalid(raw)
    assert (e.reason, e.key) == ("nested", key)
    assert str(e) == f'MetaInfo "{key}" is {kind}; values must be flat'


def test_booleans_are_not_numbers() -> None:
    e = invalid('{"deviceType": "h5", "appVersion": true}')
    assert (e.reason, e.key) == ("not_string", "appVersion")
    assert str(e) == 'MetaInfo "appVersion" must be a string or a number'


def test_a_key_too_long() -> None:
    e = invalid(json.dumps({"deviceType": "h5", "deviceModel": "m" * 257}))
    assert (e.reason, e.key) == ("value_too_long", "deviceModel")
    assert str(e) == 'MetaInfo "deviceModel" is 257 characters long; at most 256 allowed'


def test_a_long_number_is_too_long_too() -> None:
    e = invalid('{"deviceType": "h5", "appVersion": ' + "9" * 300 + "}")
    assert (e.reason, e.key) == ("value_too_long", "appVersion")


@pytest.mark.parametrize("value", ["a\nb", "a\u0000b", "\u007f", "\ud800"])
def test_bad_characters(value: str) -> None:
    raw = json.dumps({"deviceType": "h5", "osVersion": value})  # escaped: the JSON text itself is ASCII
    e = invalid(raw)
    assert (e.reason, e.key) == ("bad_character", "osVersion")


def test_duplicate_keys() -> None:
    e = invalid('{"deviceType": "h5", "deviceType": "web"}')
    assert (e.reason, e.key) == ("duplicate_key", "deviceType")


@pytest.mark.parametrize(
    "raw",
    [
        "{}",
        '{"appName": "shop.example.com", "osVersion": "Android 14"}',
        '{"deviceType": "", "bioMetaInfo": "", "zimVer": null, "deviceModel": "K"}',
    ],
)
def test_none_of_the_required_keys(raw: str) -> None:
    e = invalid(raw)
    assert e.reason == "missing_required" and e.key is None
    assert str(e) == "MetaInfo must have at least one of deviceType, bioMetaInfo, zimVer (not empty)"


def test_messages_never_repeat_values_and_shorten_keys() -> None:
    secret = "S3CRET-device-value"
    e = invalid(json.dumps({"deviceType": "h5", "osVersion": secret + "x" * 300}))
    assert secret not in str(e)
    long_key = "k" * 200
    e = invalid(json.dumps({"deviceType": "h5", long_key: [1]}))
    assert e.key == long_key
    assert long_key not in str(e) and "k" * 40 in str(e)
