"""The Id2Meta identity check on a real SQLite runtime: BizCode 1/2/3 in both ParamTypes, the tenant's
authority, tenant isolation, input validation; and the authorities' ``record_found``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from shiren.authority import AuthorityAnswer, AuthorityUnavailable, HttpAuthority, RegistryAuthority
from shiren.domain.id2meta import md5_hex, md5_name, md5_number
from shiren.domain.idnumber import check_character, parse_id_number
from shiren.runtime import Runtime
from shiren.services.decision.checks import authority_checks
from shiren.services.errors import Invalid, Missing, NoAuthority
from shiren.services.identity_check import IdentityCheckRequest, IdentityCheckResult, check_identity
from shiren.services.registry_import import import_csv
from shiren.storage.repo.tenants import get_or_create_tenant

TODAY = date(2024, 6, 1)


def make(first17: str) -> str:
    return first17 + check_character(first17)


def wrong_check(number: str) -> str:
    """The same number (or md5 number) with a check character that is certainly wrong."""
    alphabet = "0123456789X"
    return number[:-1] + alphabet[(alphabet.index(number[-1]) + 1) % len(alphabet)]


ZHANG = ("张三", make("11010519900307123"))
LI = ("李四", make("31010419851111456"))
WANG = ("王五", make("44030520000229001"))  # another tenant's
UNKNOWN = make("11010519900307124")


def import_roster(runtime: Runtime, tmp_path: Path, tenant: str, rows: list[tuple[str, str]]) -> int:
    """The real import path (``shiren registry import``); no photos, so no model runs."""
    csv = tmp_path / f"{tenant}.csv"
    csv.write_text("name,id_number,photo\n" + "".join(f"{n},{i},\n" for n, i in rows), encoding="utf-8")
    report = import_csv(runtime, tenant, csv)
    assert report.imported == len(rows) and not report.bad
    return tenant_id(runtime, tenant)


def tenant_id(runtime: Runtime, name: str) -> int:
    with runtime.sessions() as session, session.begin():
        return get_or_create_tenant(session, name).id


@pytest.fixture
def tenants(runtime: Runtime, tmp_path: Path) -> dict[str, int]:
    return {
        "acme": import_roster(runtime, tmp_path, "acme", [ZHANG, LI]),
        "other": import_roster(runtime, tmp_path, "other", [WANG]),
        "empty": tenant_id(runtime, "empty"),
    }


def check(
    runtime: Runtime, tenant: int, param_type: str | None, name: str | None, number: str | None, **kw: Any
):
    req = IdentityCheckRequest(param_type, name, number, **kw)
    return check_identity(runtime, tenant, req, today=TODAY)


def biz(runtime: Runtime, tenant: int, param_type: str, name: str, number: str) -> str:
    result = check(runtime, tenant, param_type, name, number)
    assert isinstance(result, IdentityCheckResult) and result.authority == "registry"
    return result.biz_code


# -- BizCode ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "number", "code"),
    [
        (ZHANG[0], ZHANG[1], "1"),
        (LI[0], LI[1], "1"),
        ("张四", ZHANG[1], "2"),  # the record exists, the name differs
        (LI[0], ZHANG[1], "2"),
        (ZHANG[0], UNKNOWN, "3"),  # no record of the number
    ],
)
def test_normal(runtime: Runtime, tenants: dict[str, int], name: str, number: str, code: str) -> None:
    assert biz(runtime, tenants["acme"], "normal", name, number) == code


@pytest.mark.parametrize(
    ("name", "number", "code"),
    [
        (ZHANG[0], ZHANG[1], "1"),
        (LI[0], LI[1], "1"),
        ("张四", ZHANG[1], "2"),  # same first character, other rest
        ("李三", ZHANG[1], "2"),  # other first character, same rest
        (ZHANG[0], UNKNOWN, "3"),
    ],
)
def test_md5(runtime: Runtime, tenants: dict[str, int], name: str, number: str, code: str) -> None:
    assert biz(runtime, tenants["acme"], "md5", md5_name(name), md5_number(number)) == code


def test_md5_accepts_upper_case_hex(runtime: Runtime, tenants: dict[str, int]) -> None:
    name, number = md5_name(ZHANG[0]), md5_number(ZHANG[1])
    upper_name = name[:32].upper() + name[32:]
    upper_number = number[:6] + number[6:38].upper() + number[38:]
    assert biz(runtime, tenants["acme"], "MD5", upper_name, upper_number) == "1"


def test_input_is_trimmed_and_a_15_digit_number_is_normalised(
    runtime: Runtime, tenants: dict[str, int]
) -> None:
    assert biz(runtime, tenants["acme"], " normal ", " 张三 ", f" {ZHANG[1].lower()} ") == "1"
    legacy = ZHANG[1][:6] + ZHANG[1][8:17]  # the same person's 15-digit number
    assert parse_id_number(legacy).number == ZHANG[1]
    assert biz(runtime, tenants["acme"], "normal", ZHANG[0], legacy) == "1"


def test_another_tenants_identity_is_no_record(runtime: Runtime, tenants: dict[str, int]) -> None:
    assert biz(runtime, tenants["acme"], "normal", *WANG) == "3"
    assert biz(runtime, tenants["acme"], "md5", md5_name(WANG[0]), md5_number(WANG[1])) == "3"
    assert biz(runtime, tenants["other"], "normal", *WANG) == "1"
    assert biz(runtime, tenants["other"], "normal", *ZHANG) == "3"


def test_an_authority_that_does_not_say_whether_a_record_exists_answers_2(
    runtime: Runtime, tenants: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = runtime.authorities.by_kind["registry"]
    monkeypatch.setattr(registry, "lookup", lambda *a: AuthorityAnswer(identity_match=False))
    assert biz(runtime, tenants["acme"], "normal", ZHANG[0], UNKNOWN) == "2"


# -- the tenant's authority ---------------------------------------------------------------------------------


@pytest.mark.parametrize("param_type", ["normal", "md5"])
def test_a_tenant_without_a_registry_has_no_authority(
    runtime: Runtime, tenants: dict[str, int], param_type: str
) -> None:
    name, number = ZHANG if param_type == "normal" else (md5_name(ZHANG[0]), md5_number(ZHANG[1]))
    with pytest.raises(NoAuthority):
        check(runtime, tenants["empty"], param_type, name, number)
    with pytest.raises(NoAuthority):
        check(runtime, 999_999, param_type, name, number)  # no such tenant at all


def test_period_cannot_be_answered_from_the_registry(runtime: Runtime, tenants: dict[str, int]) -> None:
    for end in ("20340101", "长期"):
        with pytest.raises(NoAuthority) as info:
            check(runtime, tenants["acme"], "normal", *ZHANG, validity_start="20140101", validity_end=end)
        assert "validity" in info.value.message
    with pytest.raises(NoAuthority):
        md5 = (md5_name(ZHANG[0]), md5_number(ZHANG[1]))
        check(runtime, tenants["acme"], "md5", *md5, validity_start="20140101", validity_end="20340101")


@pytest.mark.parametrize(
    ("kw", "error", "field"),
    [
        ({"period": True}, Missing, "ValidityStartDate"),
        ({"validity_start": "20140101"}, Missing, "ValidityEndDate"),
        ({"validity_end": "20340101"}, Missing, "ValidityStartDate"),
        ({"validity_start": "2014-01-01", "validity_end": "20340101"}, Invalid, "ValidityStartDate"),
        ({"validity_start": "20140101", "validity_end": "20340231"}, Invalid, "ValidityEndDate"),
        ({"validity_start": "长期", "validity_end": "20340101"}, Invalid, "ValidityStartDate"),
        ({"validity_start": "20140101", "validity_end": "20040101"}, Invalid, "ValidityEndDate"),
    ],
)
def test_period_dates_are_validated(
    runtime: Runtime, tenants: dict[str, int], kw: dict[str, Any], error: type[Invalid], field: str
) -> None:
    with pytest.raises(error) as info:
        check(runtime, tenants["acme"], "normal", *ZHANG, **kw)
    assert type(info.value) is error and info.value.field == field


# -- input validation ----------------------------------------------------------------------------------------

GOOD_MD5 = (md5_name(ZHANG[0]), md5_number(ZHANG[1]))


@pytest.mark.parametrize(
    ("param_type", "name", "number", "error", "field"),
    [
        (None, *ZHANG, Missing, "ParamType"),
        ("", *ZHANG, Missing, "ParamType"),
        ("sha256", *ZHANG, Invalid, "ParamType"),
        ("normal", None, ZHANG[1], Missing, "UserName"),
        ("normal", "  ", ZHANG[1], Missing, "UserName"),
        ("normal", "张" * 65, ZHANG[1], Invalid, "UserName"),
        ("normal", ZHANG[0], None, Missing, "IdentifyNum"),
        ("normal", ZHANG[0], wrong_check(ZHANG[1]), Invalid, "IdentifyNum"),
        ("normal", ZHANG[0], "1101051990", Invalid, "IdentifyNum"),
        ("normal", ZHANG[0], GOOD_MD5[1], Invalid, "IdentifyNum"),  # an md5 number sent as normal
        ("md5", ZHANG[0], GOOD_MD5[1], Invalid, "UserName"),  # a plain name sent as md5
        ("md5", "g" * 32 + "三", GOOD_MD5[1], Invalid, "UserName"),
        ("md5", GOOD_MD5[0], ZHANG[1], Invalid, "IdentifyNum"),  # a plain number sent as md5
        ("md5", GOOD_MD5[0], GOOD_MD5[1][:-1], Invalid, "IdentifyNum"),
        ("md5", GOOD_MD5[0], GOOD_MD5[1][:6] + "z" * 32 + GOOD_MD5[1][38:], Invalid, "IdentifyNum"),
        ("md5", GOOD_MD5[0], "110105" + md5_hex("not a date") + "1234", Invalid, "IdentifyNum"),
        ("md5", GOOD_MD5[0], "110105" + md5_hex("20240602") + "1234", Invalid, "IdentifyNum"),  # after today
        ("md5", GOOD_MD5[0], wrong_check(GOOD_MD5[1]), Invalid, "IdentifyNum"),
    ],
)
def test_invalid_input(
    runtime: Runtime,
    tenants: dict[str, int],
    param_type: str | None,
    name: str | None,
    number: str | None,
    error: type[Invalid],
    field: str,
) -> None:
    with pytest.raises(error) as info:
        check(runtime, tenants["acme"], param_type, name, number)
    assert type(info.value) is error and info.value.field == field
    if number and len(number) > 8:
        assert number[6:14] not in info.value.message and ZHANG[0] not in info.value.message


def test_invalid_input_is_refused_before_the_authority_is_asked(
    runtime: Runtime, tenants: dict[str, int]
) -> None:
    with pytest.raises(Invalid):
        check(runtime, tenants["empty"], "md5", GOOD_MD5[0], "110105" + md5_hex("x") + "1234")


def test_request_repr_hides_the_identity() -> None:
    text = repr(IdentityCheckRequest("normal", ZHANG[0], ZHANG[1], "20140101", "20340101"))
    assert ZHANG[0] not in text and ZHANG[1] not in text and "2014" not in text


# -- record_found of the authorities ---------------------------------------------------------------------


def test_registry_says_whether_a_record_exists(runtime: Runtime, tenants: dict[str, int]) -> None:
    registry = runtime.authorities.by_kind["registry"]
    assert isinstance(registry, RegistryAuthority)
    acme = tenants["acme"]
    match = registry.lookup(acme, *ZHANG)
    assert match.identity_match and match.record_found is True
    other_name = registry.lookup(acme, "张四", ZHANG[1])
    assert not other_name.identity_match and other_name.record_found is True
    none = registry.lookup(acme, ZHANG[0], UNKNOWN)
    assert not none.identity_match and none.record_found is False
    assert registry.lookup(acme, *WANG).record_found is False  # another tenant's
    assert registry.known_name(acme, ZHANG[1]) == ZHANG[0]
    assert registry.known_name(acme, WANG[1]) is None
    assert registry.holds_identities(acme) and not registry.holds_identities(tenants["empty"])


def test_the_authority_identity_check_carries_record_found(runtime: Runtime, tenants: dict[str, int]) -> None:
    registry = runtime.authorities.by_kind["registry"]
    settings = runtime.settings

    def identity_check(name: str, number: str) -> Any:
        checks, _ = authority_checks(
            runtime.models, registry, tenants["acme"], name, parse_id_number(number), None, 70.0, settings
        )
        return next(c for c in checks if c.name == "authority_identity")

    assert identity_check(*ZHANG).data == {"record_found": True}
    assert identity_check("张四", ZHANG[1]).data == {"record_found": True}
    assert identity_check(ZHANG[0], UNKNOWN).data == {"record_found": False}
    assert identity_check(ZHANG[0], UNKNOWN).passed is False


def http_answer(monkeypatch: pytest.MonkeyPatch, body: Any) -> AuthorityAnswer:
    def post(url: str, **kwargs: Any) -> httpx.Response:
        return httpx.Response(200, json=body)

    monkeypatch.setattr(httpx, "post", post)
    return HttpAuthority("http://authority.test/lookup").lookup(1, *ZHANG)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ({"match": True}, None),
        ({"match": False, "photo": None}, None),
        ({"match": False, "found": None}, None),
        ({"match": False, "found": False}, False),
        ({"match": False, "found": True}, True),
        ({"match": True, "found": True}, True),
    ],
)
def test_http_found_is_optional(
    monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], found: bool | None
) -> None:
    answer = http_answer(monkeypatch, body)
    assert answer.record_found is found and answer.identity_match is body["match"]


@pytest.mark.parametrize("found", ["yes", 1, 0, [], {}])
def test_http_found_that_is_not_a_boolean_is_malformed(monkeypatch: pytest.MonkeyPatch, found: Any) -> None:
    with pytest.raises(AuthorityUnavailable, match="found"):
        http_answer(monkeypatch, {"match": False, "found": found})
