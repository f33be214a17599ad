"""Tests for shiren.domain.id2meta: the md5 form of names and ID numbers, and recovering the plain number."""

from __future__ import annotations

import hashlib
import time
from datetime import date

import pytest

from shiren.domain.id2meta import (
    EARLIEST_BIRTH,
    InvalidMd5Form,
    md5_hex,
    md5_name,
    md5_name_matches,
    md5_number,
    parse_md5_name,
    parse_md5_number,
    recover_birth_date,
    recover_number,
)
from shiren.domain.idnumber import check_character

TODAY = date(2024, 6, 1)
PUBLISHED_EXAMPLE = "11010519491231002X"


def make(first17: str) -> str:
    return first17 + check_character(first17)


def reason_of(call, *args, **kwargs) -> str:
    with pytest.raises(InvalidMd5Form) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    return info.value.reason


def test_md5_hex_is_lower_case_md5_of_utf8() -> None:
    assert md5_hex("张") == hashlib.md5("张".encode()).hexdigest()
    assert md5_hex("19491231") == hashlib.md5(b"19491231").hexdigest()
    assert md5_hex("x") == md5_hex("x").lower()


def test_md5_name_hashes_only_the_first_character() -> None:
    assert md5_name("张三丰") == md5_hex("张") + "三丰"
    assert md5_name("王") == md5_hex("王")
    assert len(md5_name("张三")) == 33


def test_md5_number_hashes_the_birth_date() -> None:
    form = md5_number(PUBLISHED_EXAMPLE)
    assert form == "110105" + md5_hex("19491231") + "002X"
    assert len(form) == 42
    assert md5_number(PUBLISHED_EXAMPLE.lower()) == form  # a lower-case x is the same X


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1101051949123100", "length"),
        ("11010519491231002Y", "characters"),
        ("1101051949123 002X", "characters"),
    ],
)
def test_md5_number_refuses_what_is_not_an_id_number(raw: str, reason: str) -> None:
    assert reason_of(md5_number, raw) == reason


def test_names_compare_the_md5_way() -> None:
    assert md5_name_matches(md5_name("张三"), "张三")
    assert md5_name_matches(md5_name("张三").upper(), "张三")  # upper-case hex is accepted
    assert not md5_name_matches(md5_name("张三"), "李三")  # first character differs
    assert not md5_name_matches(md5_name("张三"), "张四")  # the rest differs
    assert not md5_name_matches(md5_name("张三"), "张三丰")
    assert not md5_name_matches(md5_name("张三"), "")
    assert md5_name_matches(parse_md5_name(md5_name("欧阳娜娜")), "欧阳娜娜")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("", "length"), ("a" * 31, "length"), ("g" + "a" * 31 + "三", "characters"), ("张" * 33, "characters")],
)
def test_malformed_md5_names(raw: str, reason: str) -> None:
    assert reason_of(parse_md5_name, raw) == reason
    with pytest.raises(InvalidMd5Form):
        md5_name_matches(raw, "张三")


def test_recover_number_from_its_md5_form() -> None:
    assert recover_number(md5_number(PUBLISHED_EXAMPLE), today=TODAY) == PUBLISHED_EXAMPLE
    upper = "110105" + md5_hex("19491231").upper() + "002x"
    assert recover_number(upper, today=TODAY) == PUBLISHED_EXAMPLE


@pytest.mark.parametrize("birth", ["19000101", "19000228", "20000229", "19991231", "20240601"])
def test_every_date_of_the_range_is_recovered(birth: str) -> None:
    number = make(f"330106{birth}123")
    assert recover_number(md5_number(number), today=TODAY) == number
    assert recover_birth_date(md5_hex(birth), today=TODAY) == date(
        int(birth[:4]), int(birth[4:6]), int(birth[6:])
    )


@pytest.mark.parametrize(
    "outside",
    [
        "18991231",  # before the range
        "20240602",  # after today
        "20230229",  # no such day
        "19491300",  # no such month
        "hello123",
    ],
)
def test_dates_outside_the_range_are_not_recovered(outside: str) -> None:
    assert recover_birth_date(md5_hex(outside), today=TODAY) is None


def test_recovery_range_can_start_elsewhere() -> None:
    assert recover_birth_date(md5_hex("18991231"), today=TODAY, earliest=date(1899, 1, 1)) == date(
        1899, 12, 31
    )
    assert recover_birth_date(md5_hex(EARLIEST_BIRTH.strftime("%Y%m%d")), today=TODAY) == EARLIEST_BIRTH


def test_a_hash_of_no_date_is_no_birth_date() -> None:
    form = "110105" + md5_hex("not a date") + "002X"
    assert reason_of(recover_number, form, today=TODAY) == "no_birth_date"


def test_a_wrong_check_character_is_refused() -> None:
    form = md5_number(PUBLISHED_EXAMPLE)[:-1] + "1"
    assert reason_of(recover_number, form, today=TODAY) == "check_character"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "length"),
        (PUBLISHED_EXAMPLE, "length"),  # a plain number is not the md5 form
        ("110105" + md5_hex("19491231") + "02X", "length"),
        ("11010A" + md5_hex("19491231") + "002X", "characters"),
        ("110105" + "g" * 32 + "002X", "characters"),
        ("110105" + md5_hex("19491231") + "00AX", "characters"),
        ("110105" + md5_hex("19491231") + "002Y", "characters"),
    ],
)
def test_malformed_md5_numbers(raw: str, reason: str) -> None:
    assert reason_of(parse_md5_number, raw) == reason
    assert reason_of(recover_number, raw, today=TODAY) == reason


def test_recover_birth_date_needs_32_hex_digits() -> None:
    assert reason_of(recover_birth_date, "abc", today=TODAY) == "characters"


def test_errors_and_reprs_do_not_repeat_the_input() -> None:
    form = md5_number(PUBLISHED_EXAMPLE)[:-1] + "1"
    with pytest.raises(InvalidMd5Form) as info:
        recover_number(form, today=TODAY)
    assert "1949" not in str(info.value) and form[6:38] not in str(info.value)
    assert md5_hex("19491231") not in repr(parse_md5_number(md5_number(PUBLISHED_EXAMPLE)))
    assert "三" not in repr(parse_md5_name(md5_name("张三")))


def test_recovery_is_fast() -> None:
    """The whole range (about 46,000 MD5s) is hashed once; every recovery after that is a look-up."""
    today = date.today()
    started = time.perf_counter()
    recover_number(md5_number(PUBLISHED_EXAMPLE), today=today)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        recover_number(md5_number(PUBLISHED_EXAMPLE), today=today)
    later = (time.perf_counter() - started) / 100
    assert first < 2.0  # tens of milliseconds; generous for a loaded CI machine
    assert later < 0.005
