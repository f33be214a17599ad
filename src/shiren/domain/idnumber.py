"""Chinese citizen ID numbers (公民身份号码, GB 11643-1999) and the card-validity rules around them.

The checksum and the birth date are hard checks: a number that fails them cannot be real, so
verification stops with VerifyStatus 2. The address code is only a soft signal, because the GB/T 2260
tables change every year and old codes stay on old cards for life; an unknown region never raises.

Error messages never repeat the number, so they are safe to log.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Literal

__all__ = [
    "IdKind",
    "IdNumber",
    "InvalidIdNumber",
    "InvalidReason",
    "Sex",
    "age_on",
    "card_validity_ok",
    "check_character",
    "is_expired",
    "mask_id_number",
    "parse_id_number",
    "province_name",
    "random_id_number",
]

Sex = Literal["男", "女"]
IdKind = Literal["resident", "hk_macau_taiwan_permit", "foreign_permanent"]
InvalidReason = Literal["length", "characters", "check_character", "birth_date", "birth_in_future", "too_old"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_DIGITS = frozenset("0123456789")
_CHECK_ALPHABET = _DIGITS | {"X"}
_PERMIT_PREFIXES = frozenset({"81", "82", "83"})
_MAX_AGE_YEARS = 150
# OCR and mobile keyboards often produce full-width digits; accept them, but nothing else beyond ASCII.
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"Ｘ": "X", "ｘ": "X"})

# Resident cards: the age at application decides the term; the printed start date is the issue date,
# which can trail the application by weeks, so a birthday in between must not make a real card fail.
_APPLICATION_SLACK = timedelta(days=90)
# First-generation resident ID cards were issued from 1984; no card can start earlier.
_EARLIEST_CARD_START = date(1984, 1, 1)


class InvalidIdNumber(ValueError):
    """The input cannot be a real ID number; ``reason`` is a stable code, the message is for humans."""

    def __init__(self, reason: InvalidReason, message: str) -> None:
        super().__init__(message)
        self.reason: InvalidReason = reason


@dataclass(frozen=True, repr=False)
class IdNumber:
    """A parsed, normalised ID number. ``repr`` is masked so it can't leak into logs by accident."""

    number: str
    region_code: str
    birth: date
    sex: Sex
    kind: IdKind
    province: str | None
    region_known: bool
    converted_from_15: bool

    def __repr__(self) -> str:
        return (
            f"IdNumber({mask_id_number(self.number)!r}, kind={self.kind!r}, sex={self.sex!r}, "
            f"province={self.province!r}, region_known={self.region_known}, "
            f"converted_from_15={self.converted_from_15})"
        )

    def __str__(self) -> str:
        return mask_id_number(self.number)

    def age_on(self, day: date) -> int:
        """Full years of age on ``day`` (the card-validity rules and age limits need it)."""
        return age_on(self.birth, day)


def _is_ascii_digits(s: str) -> bool:
    return all(c in _DIGITS for c in s)


def check_character(first17: str) -> str:
    """GB 11643 check character for the first 17 digits; ISO 7064 MOD 11-2 (``X`` stands for 10)."""
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise ValueError("check_character needs exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


@cache
def _provinces() -> dict[str, str]:
    """Province-level GB/T 2260 codes, read once on first use rather than at import."""
    text = resources.files("shiren.domain").joinpath("data/provinces.json").read_text(encoding="utf-8")
    table = json.loads(text)["provinces"]
    return {str(k): str(v) for k, v in table.items()}


def province_name(code: str) -> str | None:
    """Province name for a 2-digit code (or any code starting with it); ``None`` when unknown."""
    return _provinces().get(code[:2]) if len(code) >= 2 else None


def age_on(birth: date, day: date) -> int:
    """Full years between ``birth`` and ``day`` (the usual 周岁)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _add_years(day: date, years: int) -> tuple[date, ...]:
    """``day`` moved by ``years``; a 29 February start may legitimately end on 28 Feb or 1 Mar."""
    try:
        return (day.replace(year=day.year + years),)
    except ValueError:
        return (date(day.year + years, 2, 28), date(day.year + years, 3, 1))


def parse_id_number(raw: str, today: date | None = None) -> IdNumber:
    """Validate and normalise an 18- (or legacy 15-) digit number; ``InvalidIdNumber`` if it can't be real.

    ``today`` exists so tests and replays are deterministic; it defaults to the local date.
    """
    if not isinstance(raw, str):
        raise InvalidIdNumber("characters", "ID number must be a string")
    s = raw.strip().translate(_FULLWIDTH).upper()
    converted = False
    if len(s) == 15:
        if not _is_ascii_digits(s):
            raise InvalidIdNumber("characters", "a 15-digit legacy ID number may contain only digits")
        first17 = s[:6] + "19" + s[6:]
        number = first17 + check_character(first17)
        converted = True
    elif len(s) == 18:
        if not _is_ascii_digits(s[:17]) or s[17] not in _CHECK_ALPHABET:
            raise InvalidIdNumber(
                "characters", "an ID number has 17 digits followed by a digit or X (no spaces or letters)"
            )
        if check_character(s[:17]) != s[17]:
            raise InvalidIdNumber("check_character", "check character does not match (mistyped digit?)")
        number = s
    else:
        raise InvalidIdNumber(
            "length", f"ID number must have 18 characters (or 15 for legacy ones), got {len(s)}"
        )

    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth_date", "birth date in the ID number is not a calendar date") from None
    today = today or date.today()
    if birth > today:
        raise InvalidIdNumber("birth_in_future", "birth date in the ID number is in the future")
    if age_on(birth, today) > _MAX_AGE_YEARS:
        raise InvalidIdNumber(
            "too_old", f"birth date in the ID number is more than {_MAX_AGE_YEARS} years ago"
        )

    kind: IdKind
    if number[0] == "9" and not converted:
        # 外国人永久居留身份证 (2023 format): 9, accepting province (2), nationality (3), birth, seq, check.
        kind = "foreign_permanent"
        province_code = number[1:3]
    else:
        kind = "hk_macau_taiwan_permit" if number[:2] in _PERMIT_PREFIXES and not converted else "resident"
        province_code = number[:2]
    province = province_name(province_code)
    return IdNumber(
        number=number,
        region_code=number[:6],
        birth=birth,
        sex="男" if int(number[16]) % 2 == 1 else "女",
        kind=kind,
        province=province,
        region_known=province is not None,
        converted_from_15=converted,
    )


def mask_id_number(number: str) -> str:
    """Keep the first and last four characters so operators can match records without seeing the number."""
    s = number.strip().upper()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def _allowed_terms(age: int, kind: IdKind) -> set[int | None]:
    """Validity terms in years (``None`` = 长期) for a card applied for at ``age``."""
    if kind == "hk_macau_taiwan_permit":
        return {5}
    if kind == "foreign_permanent":
        return {5} if age < 18 else {10}
    if age < 16:
        return {5}
    if age <= 25:
        return {10}
    if age <= 45:
        return {20}
    return {None}


def card_validity_ok(start: date, end: date | None, birth: date, *, kind: IdKind = "resident") -> bool:
    """Whether the card's 有效期限 fits the holder's age at issue; a mismatch hints at forgery or misreading.

    Resident cards: under 16 → 5 years, 16–25 → 10, 26–45 → 20, 46+ → 长期 (``end is None``).
    HK/Macau/Taiwan residence permits are always 5 years; foreign permanent cards 5 (under 18) or 10.
    """
    if start < birth or start < _EARLIEST_CARD_START:
        return False
    ages = {age_on(birth, start)}
    applied = start - _APPLICATION_SLACK
    if applied >= birth:
        ages.add(age_on(birth, applied))
    terms: set[int | None] = set().union(*(_allowed_terms(a, kind) for a in ages))
    if end is None:
        return None in terms
    return any(end in _add_years(start, t) for t in terms if t is not None)


def is_expired(end: date | None, today: date) -> bool:
    """A card is valid through its end date; ``None`` (长期) never expires."""
    return end is not None and today > end


def random_id_number(
    rng: random.Random, birth: date | None = None, sex: Sex | None = None, region: str = "110101"
) -> str:
    """A valid 18-digit number for tests and benchmarks (reproducible through ``rng``)."""
    if len(region) != 6 or not _is_ascii_digits(region):
        raise ValueError("region must be 6 ASCII digits")
    if sex is not None and sex not in ("男", "女"):
        raise ValueError("sex must be 男 or 女")
    if birth is None:
        birth = date.fromordinal(rng.randint(date(1940, 1, 1).toordinal(), date(2005, 12, 31).toordinal()))
    if sex is None:
        sex = rng.choice(("男", "女"))
    seq = rng.randrange(1000)
    if (seq % 2 == 1) != (sex == "男"):
        seq ^= 1
    first17 = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return first17 + check_character(first17)
