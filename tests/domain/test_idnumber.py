"""Tests for shiren.domain.idnumber: checksum and dates are hard checks, the region is a soft signal."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

import pytest

from shiren.domain.idnumber import (
    IdNumber,
    InvalidIdNumber,
    age_on,
    card_validity_ok,
    check_character,
    is_expired,
    mask_id_number,
    parse_id_number,
    province_name,
    random_id_number,
)

TODAY = date(2024, 6, 1)
PUBLISHED_EXAMPLE = "11010519491231002X"


def make(first17: str) -> str:
    """A full number with the correct check character, so each test fails only for the reason it names."""
    return first17 + check_character(first17)


def wrong_check(number: str) -> str:
    """The same number with a check character that is certainly wrong."""
    alphabet = "0123456789X"
    return number[:17] + alphabet[(alphabet.index(number[17]) + 1) % len(alphabet)]


def reason_of(raw: str, today: date = TODAY) -> str:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(raw, today=today)
    return info.value.reason


# --- check character -------------------------------------------------------------------------------


def test_check_character_published_example() -> None:
    assert check_character(PUBLISHED_EXAMPLE[:17]) == "X"


@pytest.mark.parametrize(
    "first17", ["", "1101051949123100", "110105194912310021", "1101051949123100a", "１" * 17]
)
def test_check_character_rejects_non_17_ascii_digits(first17: str) -> None:
    with pytest.raises(ValueError):
        check_character(first17)


def test_check_character_covers_every_symbol() -> None:
    rng = random.Random(7)
    seen = {check_character("".join(rng.choice("0123456789") for _ in range(17))) for _ in range(2000)}
    assert seen == set("0123456789X")


# --- valid numbers -----------------------------------------------------------------------------------


def test_parse_published_example() -> None:
    parsed = parse_id_number(PUBLISHED_EXAMPLE, today=TODAY)
    assert parsed.number == PUBLISHED_EXAMPLE
    assert parsed.region_code == "110105"
    assert parsed.birth == date(1949, 12, 31)
    assert parsed.sex == "女"
    assert parsed.kind == "resident"
    assert parsed.province == "北京市"
    assert parsed.region_known is True
    assert parsed.converted_from_15 is False


def test_parse_male_number() -> None:
    number = make("44030419900307001")
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.sex == "男"
    assert parsed.birth == date(1990, 3, 7)
    assert parsed.province == "广东省"
    assert parsed.age_on(TODAY) == 34


@pytest.mark.parametrize(
    "raw",
    [
        " 11010519491231002x ",
        "\t11010519491231002X\n",
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_whitespace_lower_case_and_full_width_are_normalised(raw: str) -> None:
    assert parse_id_number(raw, today=TODAY).number == PUBLISHED_EXAMPLE


def test_leap_day_birth_is_valid() -> None:
    assert parse_id_number(make("11010520000229003"), today=TODAY).birth == date(2000, 2, 29)


def test_born_today_is_valid() -> None:
    assert parse_id_number(make("11010520240601003"), today=TODAY).birth == TODAY


def test_150_years_old_is_still_valid() -> None:
    assert parse_id_number(make("11010518740601003"), today=TODAY).birth == date(1874, 6, 1)
    assert parse_id_number(make("11010518730602003"), today=TODAY).birth == date(1873, 6, 2)


def test_today_defaults_to_now() -> None:
    assert parse_id_number(PUBLISHED_EXAMPLE).birth == date(1949, 12, 31)


def test_result_is_frozen() -> None:
    parsed = parse_id_number(PUBLISHED_EXAMPLE, today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.number = "x"  # type: ignore[misc]


# --- invalid numbers ---------------------------------------------------------------------------------


def test_invalid_id_number_is_a_value_error() -> None:
    assert issubclass(InvalidIdNumber, ValueError)


def test_bad_check_character() -> None:
    assert reason_of("110105194912310021") == "check_character"
    assert reason_of(wrong_check(make("44030419900307001"))) == "check_character"


@pytest.mark.parametrize(
    "raw", ["", "   ", "1101051949123100", "11010519491231002", "11010519491231002X0", "1" * 16]
)
def test_wrong_length(raw: str) -> None:
    assert reason_of(raw) == "length"


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100XX",  # X only allowed last
        "11010519491231A02X",
        "110105 1949123102X",  # inner space
        "11010519491231002Y",
        "11010549123100A",  # 15-digit with a letter
        "11010549123100X",  # legacy numbers have no check character
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits are digits to Python, not to GB 11643
    ],
)
def test_bad_characters(raw: str) -> None:
    assert reason_of(raw) == "characters"


def test_non_string_input() -> None:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(11010519491231002, today=TODAY)  # type: ignore[arg-type]
    assert info.value.reason == "characters"


@pytest.mark.parametrize(
    "first17",
    [
        "11010519900230001",  # 30 February
        "11010519990229001",  # 29 February in a common year
        "11010519901301001",  # month 13
        "11010519900001001",  # month 0
        "11010519900100001",  # day 0
        "11010519900431001",  # 31 April
        "11010500000101001",  # year 0
    ],
)
def test_impossible_birth_date(first17: str) -> None:
    assert reason_of(make(first17)) == "birth_date"


def test_birth_in_future() -> None:
    assert reason_of(make("11010520240602001")) == "birth_in_future"
    assert reason_of(make("11010530000101001")) == "birth_in_future"


def test_older_than_150_years() -> None:
    assert reason_of(make("11010518730601001")) == "too_old"  # 151st birthday
    assert reason_of(make("11010510000101001")) == "too_old"


def test_messages_do_not_repeat_the_number() -> None:
    for raw in ["110105194912310021", make("11010519900230001"), make("11010520240602001")]:
        with pytest.raises(InvalidIdNumber) as info:
            parse_id_number(raw, today=TODAY)
        assert raw not in str(info.value)
        assert raw[6:14] not in str(info.value)


# --- legacy 15-digit numbers ---------------------------------------------------------------------------


def test_fifteen_digit_conversion() -> None:
    parsed = parse_id_number("110105491231002", today=TODAY)
    assert parsed.number == PUBLISHED_EXAMPLE
    assert parsed.converted_from_15 is True
    assert parsed.birth == date(1949, 12, 31)
    assert parsed.sex == "女"
    assert parsed.kind == "resident"
    assert parsed.region_code == "110105"


def test_fifteen_digit_conversion_male_with_whitespace() -> None:
    parsed = parse_id_number(" 330106800101015 ", today=TODAY)
    assert parsed.number == make("33010619800101015")
    assert parsed.sex == "男"
    assert parsed.province == "浙江省"


def test_fifteen_digit_impossible_date() -> None:
    assert reason_of("110105490230002") == "birth_date"


# --- kinds and regions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "province"), [("810000", "香港特别行政区"), ("820000", "澳门特别行政区"), ("830000", "台湾省")]
)
def test_hk_macau_taiwan_residence_permits(region: str, province: str) -> None:
    parsed = parse_id_number(make(f"{region}19950712003"), today=TODAY)
    assert parsed.kind == "hk_macau_taiwan_permit"
    assert parsed.region_code == region
    assert parsed.province == province
    assert parsed.region_known is True
    assert parsed.sex == "男"


def test_taiwan_province_resident_code() -> None:
    parsed = parse_id_number(make("71000019800101002"), today=TODAY)
    assert parsed.kind == "resident"
    assert parsed.province == "台湾省"


def test_foreign_permanent_residence_number() -> None:
    # 9, accepting province 31 (上海), nationality 840, birth 1985-04-20, sequence 002, check.
    parsed = parse_id_number(make("93184019850420002"), today=TODAY)
    assert parsed.kind == "foreign_permanent"
    assert parsed.region_code == "931840"
    assert parsed.province == "上海市"
    assert parsed.region_known is True
    assert parsed.birth == date(1985, 4, 20)
    assert parsed.sex == "女"


def test_foreign_permanent_with_unknown_province_is_soft() -> None:
    parsed = parse_id_number(make("99984019850420001"), today=TODAY)
    assert parsed.kind == "foreign_permanent"
    assert parsed.province is None
    assert parsed.region_known is False


def test_foreign_permanent_bad_check_is_hard() -> None:
    assert reason_of(wrong_check(make("93184019850420002"))) == "check_character"


@pytest.mark.parametrize("region", ["000000", "100000", "190000", "700000", "840000", "990000"])
def test_unknown_region_does_not_throw(region: str) -> None:
    parsed = parse_id_number(make(f"{region}19900101001"), today=TODAY)
    assert parsed.region_known is False
    assert parsed.province is None
    assert parsed.region_code == region


def test_legacy_number_starting_with_9_is_not_foreign() -> None:
    parsed = parse_id_number("990000800101015", today=TODAY)
    assert parsed.kind == "resident"
    assert parsed.region_known is False


def test_province_table() -> None:
    assert province_name("11") == "北京市"
    assert province_name("650102") == "新疆维吾尔自治区"
    assert province_name("46") == "海南省"
    assert province_name("50") == "重庆市"
    assert province_name("99") is None
    assert province_name("1") is None
    known = [f"{i:02d}" for i in range(100) if province_name(f"{i:02d}") is not None]
    assert len(known) == 35


# --- masking ----------------------------------------------------------------------------------------


def test_mask_id_number() -> None:
    assert mask_id_number("330106199001011234") == "3301**********1234"
    assert mask_id_number(" 11010519491231002x ") == "1101**********002X"
    assert mask_id_number("110105491231002") == "1101*******1002"
    assert mask_id_number("12345678") == "********"
    assert mask_id_number("") == ""


def test_parsed_number_repr_and_str_are_masked() -> None:
    parsed = parse_id_number(PUBLISHED_EXAMPLE, today=TODAY)
    assert PUBLISHED_EXAMPLE not in repr(parsed)
    assert PUBLISHED_EXAMPLE not in str(parsed)
    assert str(parsed) == "1101**********002X"


# --- card validity ------------------------------------------------------------------------------------


def test_age_on() -> None:
    assert age_on(date(2000, 6, 15), date(2016, 6, 14)) == 15
    assert age_on(date(2000, 6, 15), date(2016, 6, 15)) == 16
    assert age_on(date(2000, 2, 29), date(2001, 2, 28)) == 0
    assert age_on(date(2000, 2, 29), date(2001, 3, 1)) == 1


BIRTH = date(1980, 6, 15)


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        # applied at 9: 5 years only
        (date(1990, 3, 1), date(1995, 3, 1), True),
        (date(1990, 3, 1), date(2000, 3, 1), False),
        (date(1990, 3, 1), None, False),
        # applied at 20: 10 years
        (date(2000, 9, 1), date(2010, 9, 1), True),
        (date(2000, 9, 1), date(2005, 9, 1), False),
        (date(2000, 9, 1), date(2020, 9, 1), False),
        (date(2000, 9, 1), date(2010, 9, 2), False),
        # applied at 30: 20 years
        (date(2010, 9, 1), date(2030, 9, 1), True),
        (date(2010, 9, 1), date(2020, 9, 1), False),
        (date(2010, 9, 1), None, False),
        # applied at 50: 长期 only
        (date(2030, 9, 1), None, True),
        (date(2030, 9, 1), date(2050, 9, 1), False),
        # turned 16 a week before the issue date: applied possibly at 15, so 5 or 10 years
        (date(1996, 6, 22), date(2001, 6, 22), True),
        (date(1996, 6, 22), date(2006, 6, 22), True),
        # turned 16 a year before issue: 10 only
        (date(1997, 6, 22), date(2002, 6, 22), False),
        (date(1997, 6, 22), date(2007, 6, 22), True),
        # boundaries 25/26 and 45/46
        (date(2005, 12, 1), date(2015, 12, 1), True),  # 25
        (date(2006, 12, 1), date(2026, 12, 1), True),  # 26
        (date(2006, 12, 1), date(2016, 12, 1), False),
        (date(2025, 12, 1), date(2045, 12, 1), True),  # 45
        (date(2026, 12, 1), None, True),  # 46
        (date(2026, 12, 1), date(2046, 12, 1), False),
        # implausible
        (date(1979, 1, 1), date(1984, 1, 1), False),  # before birth
        (date(2010, 9, 1), date(2010, 8, 1), False),  # ends before it starts
        (date(2010, 9, 1), date(2010, 9, 1), False),
    ],
)
def test_card_validity_resident(start: date, end: date | None, ok: bool) -> None:
    assert card_validity_ok(start, end, BIRTH) is ok


def test_card_validity_before_first_cards() -> None:
    assert card_validity_ok(date(1983, 1, 1), date(2003, 1, 1), date(1950, 1, 1)) is False
    assert card_validity_ok(date(1985, 1, 1), date(2005, 1, 1), date(1950, 1, 1)) is True


def test_card_validity_leap_day_start() -> None:
    birth = date(1990, 1, 1)
    assert card_validity_ok(date(2012, 2, 29), date(2022, 2, 28), birth) is True
    assert card_validity_ok(date(2012, 2, 29), date(2022, 3, 1), birth) is True
    assert card_validity_ok(date(2012, 2, 29), date(2022, 3, 2), birth) is False


def test_card_validity_permits() -> None:
    assert card_validity_ok(date(2019, 1, 1), date(2024, 1, 1), BIRTH, kind="hk_macau_taiwan_permit") is True
    assert card_validity_ok(date(2019, 1, 1), date(2039, 1, 1), BIRTH, kind="hk_macau_taiwan_permit") is False
    assert card_validity_ok(date(2024, 1, 1), date(2034, 1, 1), BIRTH, kind="foreign_permanent") is True
    assert card_validity_ok(date(2024, 1, 1), None, BIRTH, kind="foreign_permanent") is False
    child = date(2015, 1, 1)
    assert card_validity_ok(date(2024, 1, 1), date(2029, 1, 1), child, kind="foreign_permanent") is True
    assert card_validity_ok(date(2024, 1, 1), date(2034, 1, 1), child, kind="foreign_permanent") is False


def test_is_expired() -> None:
    assert is_expired(None, TODAY) is False
    assert is_expired(TODAY, TODAY) is False  # valid through the last day
    assert is_expired(date(2024, 5, 31), TODAY) is True
    assert is_expired(date(2030, 1, 1), TODAY) is False


# --- generator and properties ------------------------------------------------------------------------


def test_random_id_number_honours_arguments() -> None:
    rng = random.Random(1)
    for sex in ("男", "女"):
        number = random_id_number(rng, birth=date(1999, 2, 28), sex=sex, region="330106")
        parsed = parse_id_number(number, today=TODAY)
        assert parsed.sex == sex
        assert parsed.birth == date(1999, 2, 28)
        assert parsed.region_code == "330106"


def test_random_id_number_is_reproducible() -> None:
    a = [random_id_number(random.Random(42)) for _ in range(3)]
    b = [random_id_number(random.Random(42)) for _ in range(3)]
    assert a == b


@pytest.mark.parametrize(("kwargs"), [{"region": "11010"}, {"region": "11010a"}, {"sex": "M"}])
def test_random_id_number_rejects_bad_arguments(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        random_id_number(random.Random(0), **kwargs)  # type: ignore[arg-type]


def test_generated_numbers_parse_and_any_single_change_breaks_them() -> None:
    rng = random.Random(20240601)
    regions = ["110101", "310115", "440304", "650102", "810000", "820000", "830000", "931840", "123456"]
    alphabet = "0123456789X"
    for _ in range(200):
        number = random_id_number(rng, region=rng.choice(regions))
        parsed = parse_id_number(number, today=TODAY)
        assert isinstance(parsed, IdNumber)
        assert parsed.number == number
        for pos in range(18):
            choices = "0123456789" if pos < 17 else alphabet
            for c in choices:
                if c == number[pos]:
                    continue
                mutated = number[:pos] + c + number[pos + 1 :]
                with pytest.raises(InvalidIdNumber):
                    parse_id_number(mutated, today=TODAY)
