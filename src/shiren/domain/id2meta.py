"""The ``md5`` form of the Id2Meta calls (Alibaba's ``ParamType=md5``): a name and an ID number sent
half-hashed, so the caller never sends them in the clear.

- name: MD5 of the first character (UTF-8, 32 hex digits) followed by the rest of the name unchanged;
- number: the first 6 digits (region), MD5 of the 8-digit birth date ``yyyymmdd``, the last 4 characters.

An identity authority looks numbers up by their plain value, so the birth date is recovered by hashing every
date of a sensible range (1900-01-01 through today: about 46,000 dates) and the full 18-character number is
rebuilt and its check character verified. The table of those hashes is built once per process and day
(tens of milliseconds) and kept (a few MB); each recovery after that is a dictionary look-up.

Pure: no I/O. Hex digits are accepted in either case. Error messages never repeat the input, so they are
safe to log.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

from shiren.domain.idnumber import check_character

__all__ = [
    "EARLIEST_BIRTH",
    "InvalidMd5Form",
    "Md5Name",
    "Md5Number",
    "Md5Reason",
    "md5_hex",
    "md5_name",
    "md5_name_matches",
    "md5_number",
    "parse_md5_name",
    "parse_md5_number",
    "recover_birth_date",
    "recover_number",
]

EARLIEST_BIRTH = date(1900, 1, 1)

Md5Reason = Literal["length", "characters", "no_birth_date", "check_character"]

_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_MD5_LEN = 32
_NUMBER_LEN = 6 + _MD5_LEN + 4


class InvalidMd5Form(ValueError):
    """The input is not a well-formed md5 name or number; ``reason`` is a stable code."""

    def __init__(self, reason: Md5Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Md5Reason = reason


def md5_hex(text: str) -> str:
    """MD5 of the UTF-8 bytes of ``text``, 32 lower-case hex digits (not used for security)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _is_hex(s: str) -> bool:
    return len(s) == _MD5_LEN and all(c in _HEX for c in s)


# -- names -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Md5Name:
    first_md5: str  # lower-case hex
    rest: str

    def __repr__(self) -> str:
        return "Md5Name(***)"


def md5_name(name: str) -> str:
    """The md5 form of a plain name."""
    if not name:
        raise InvalidMd5Form("length", "a name needs at least one character")
    return md5_hex(name[0]) + name[1:]


def parse_md5_name(value: str) -> Md5Name:
    """Split an md5 name into the hash of its first character and the plain rest."""
    if not isinstance(value, str) or len(value) < _MD5_LEN:
        raise InvalidMd5Form("length", "an md5 name starts with the 32 hex digits of MD5(first character)")
    head = value[:_MD5_LEN].lower()
    if not _is_hex(head):
        raise InvalidMd5Form("characters", "an md5 name starts with 32 hex digits")
    return Md5Name(head, value[_MD5_LEN:])


def md5_name_matches(md5_form: str | Md5Name, plain: str) -> bool:
    """Whether the md5 name stands for ``plain``: MD5 of its first character and an equal rest."""
    parsed = md5_form if isinstance(md5_form, Md5Name) else parse_md5_name(md5_form)
    if not plain:
        return False
    return md5_hex(plain[0]) == parsed.first_md5 and plain[1:] == parsed.rest


# -- numbers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Md5Number:
    region: str  # the first 6 digits
    birth_md5: str  # lower-case hex
    tail: str  # sequence (3 digits) and check character (digit or X, upper-case)

    def __repr__(self) -> str:
        return f"Md5Number({self.region[:2]}****, ***, **{self.tail[-2:]})"


def md5_number(number: str) -> str:
    """The md5 form of a plain 18-character ID number (its birth date is not validated here)."""
    s = number.strip().upper() if isinstance(number, str) else ""
    if len(s) != 18:
        raise InvalidMd5Form("length", "the md5 form is made from an 18-character ID number")
    if not all(c in _DIGITS for c in s[:17]) or s[17] not in _DIGITS | {"X"}:
        raise InvalidMd5Form("characters", "an ID number has 17 digits followed by a digit or X")
    return s[:6] + md5_hex(s[6:14]) + s[14:]


def parse_md5_number(value: str) -> Md5Number:
    """Split an md5 number: 6 digits, 32 hex digits, 3 digits and a digit or X (42 characters)."""
    s = value.strip() if isinstance(value, str) else ""
    if len(s) != _NUMBER_LEN:
        raise InvalidMd5Form(
            "length", f"an md5 ID number has {_NUMBER_LEN} characters (6 + 32 hex + 4), got {len(s)}"
        )
    region, birth, tail = s[:6], s[6 : 6 + _MD5_LEN].lower(), s[6 + _MD5_LEN :].upper()
    if not all(c in _DIGITS for c in region):
        raise InvalidMd5Form("characters", "an md5 ID number starts with 6 digits")
    if not _is_hex(birth):
        raise InvalidMd5Form("characters", "characters 7 to 38 of an md5 ID number are 32 hex digits")
    if not all(c in _DIGITS for c in tail[:3]) or tail[3] not in _DIGITS | {"X"}:
        raise InvalidMd5Form("characters", "an md5 ID number ends with 3 digits and a digit or X")
    return Md5Number(region, birth, tail)


@lru_cache(maxsize=4)
def _birth_table(earliest: date, latest: date) -> dict[bytes, str]:
    """MD5 digest of ``yyyymmdd`` → that ``yyyymmdd``, for every date from ``earliest`` through ``latest``."""
    low, high = earliest.strftime("%Y%m%d"), latest.strftime("%Y%m%d")
    md5 = hashlib.md5
    table: dict[bytes, str] = {}
    days = [f"{d:02d}" for d in range(1, 32)]
    for year in range(earliest.year, latest.year + 1):
        for month in range(1, 13):
            ym = f"{year:04d}{month:02d}"
            for dd in days[: calendar.monthrange(year, month)[1]]:
                ymd = ym + dd
                if low <= ymd <= high:
                    table[md5(ymd.encode(), usedforsecurity=False).digest()] = ymd
    return table


def recover_birth_date(
    birth_md5: str, *, today: date | None = None, earliest: date = EARLIEST_BIRTH
) -> date | None:
    """The date from ``earliest`` through ``today`` whose ``yyyymmdd`` has this MD5; ``None`` if none has."""
    s = birth_md5.strip().lower() if isinstance(birth_md5, str) else ""
    if not _is_hex(s):
        raise InvalidMd5Form("characters", "a birth-date MD5 is 32 hex digits")
    ymd = _birth_table(earliest, today or date.today()).get(bytes.fromhex(s))
    return date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:])) if ymd else None


def recover_number(value: str | Md5Number, *, today: date | None = None) -> str:
    """The plain 18-character ID number behind an md5 number, its check character verified."""
    parsed = value if isinstance(value, Md5Number) else parse_md5_number(value)
    birth = recover_birth_date(parsed.birth_md5, today=today)
    if birth is None:
        raise InvalidMd5Form(
            "no_birth_date", f"no birth date from {EARLIEST_BIRTH.isoformat()} to today has this MD5"
        )
    first17 = f"{parsed.region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{parsed.tail[:3]}"
    if check_character(first17) != parsed.tail[3]:
        raise InvalidMd5Form("check_character", "check character does not match (mistyped digit?)")
    return first17 + parsed.tail[3]
