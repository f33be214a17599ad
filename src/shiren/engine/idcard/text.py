"""Cleaning and parsing OCR'd text (dates, numbers, 民族, 签发机关): pure string work, no images."""

from __future__ import annotations

import re
from datetime import date

from shiren.domain.idnumber import check_character

_ETHNIC_TEXT = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 "
    "高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 "
    "普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
)
ETHNIC_GROUPS: tuple[str, ...] = tuple(_ETHNIC_TEXT.split(" "))  # the 56 民族 as printed (without 族)
# How PP-OCRv4 misreads some names (仫 is not in its character set; 仡 reads as 亿), measured on test cards.
_ETHNIC_OCR_ALIASES = {"么佬": "仫佬", "亿佬": "仡佬", "乞佬": "仡佬"}

_CJK = re.compile(r"[\u3400-\u9fff]")
_PUNCT = str.maketrans({"：": "", ":": "", " ": "", "\u3000": "", "，": "", ",": "", "。": "."})
# Letters an OCR model returns for digits, and full-width forms; only applied to numeric fields.
_LOOKALIKES = dict(zip("OoDQIl|iZzSsBGbg", "0000111122558669", strict=True))
_DIGIT_FIX = str.maketrans(
    _LOOKALIKES | {"x": "X", "×": "X", "Ｘ": "X", "ｘ": "X"} | {chr(0xFF10 + i): str(i) for i in range(10)}
)


_DASH_TO_YI = str.maketrans(dict.fromkeys("—–-－ー―", "一"))
_DASH_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff])[—–－ー―](?=[\u3400-\u9fff])")


def _clean(text: str) -> str:
    return text.translate(_PUNCT).strip()


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _fuzzy_distance(needle: str, hay: str) -> int:
    """Smallest edit distance between ``needle`` and any substring of ``hay`` of about its length."""
    if needle in hay:
        return 0
    n = len(needle)
    dists = [
        _edit_distance(needle, hay[i : i + m]) for m in (n - 1, n, n + 1) for i in range(len(hay) - m + 1)
    ]
    return min(dists, default=n)


def _fuzzy_in(needle: str, hay: str) -> bool:
    """``needle`` occurs in ``hay`` with at most one wrong character per three (labels read by OCR)."""
    return _fuzzy_distance(needle, hay) <= len(needle) // 3


def _match_ethnic(text: str) -> tuple[str, float]:
    """Closest of the 56 ethnic group names, with a factor that drops when the match is not exact."""
    t = "".join(_CJK.findall(text)).removesuffix("族")
    if not t:
        return "", 0.0
    if t in ETHNIC_GROUPS:
        return t, 1.0
    if t in _ETHNIC_OCR_ALIASES:
        return _ETHNIC_OCR_ALIASES[t], 0.9
    ranked = sorted(ETHNIC_GROUPS, key=lambda g: (_edit_distance(t, g), abs(len(g) - len(t))))
    best, d = ranked[0], _edit_distance(t, ranked[0])
    runner_up = ranked[1]
    tie = (_edit_distance(t, runner_up), abs(len(runner_up) - len(t))) == (d, abs(len(best) - len(t)))
    if tie:  # '并' is one edit from every one-character name: no evidence for any of them
        return "", 0.0
    if d <= max(1, len(best) // 2):
        return best, 0.6 / d
    return t, 0.3


def _parse_date(text: str) -> str:
    """yyyymmdd from '1990年1月2日', '1990 1 2', '19900102' …; empty when no calendar date is found."""
    t = text.translate(_DIGIT_FIX)
    m = re.search(r"(\d{4})\D{0,3}?(\d{1,2})\D{1,3}?(\d{1,2})", t) or re.search(r"(\d{4})(\d{2})(\d{2})", t)
    if not m:
        return ""
    y, mo, d = (int(g) for g in m.groups())
    try:
        date(y, mo, d)
    except ValueError:
        return ""
    return f"{y:04d}{mo:02d}{d:02d}"


def _extract_number(text: str) -> str:
    """The ID number in a line (17 digits + digit/X) after fixing look-alike letters, else best effort.

    With more than 18 characters (label remnants read as digits), the window with a valid check character
    and birth date wins, else the rightmost one: the number is printed last on its row.
    """
    t = _clean(text).translate(_DIGIT_FIX).upper()
    t = re.sub(r"[^0-9X]", "", t)
    windows = [t[i : i + 18] for i in range(len(t) - 17) if re.fullmatch(r"\d{17}[\dX]", t[i : i + 18])]
    valid = [w for w in windows if check_character(w[:17]) == w[17] and _parse_date(w[6:14])]
    if valid:
        return valid[-1]
    return windows[-1] if windows else t


def _parse_validity(text: str) -> tuple[str, str, bool]:
    """(start, end, end_inferred) from 'YYYY.MM.DD-YYYY.MM.DD' or 'YYYY.MM.DD-长期', tolerant to OCR noise.

    When only the end's year is legible and it is 5, 10 or 20 years after the start, the end is the start's
    month and day in that year (terms run to the same day): ``end_inferred`` is then True.
    """
    t = text.translate(_DIGIT_FIX)
    digits = re.sub(r"\D", "", t)
    if len(digits) >= 16:
        return _parse_date(digits[:8]), _parse_date(digits[8:16]), False
    if len(digits) >= 8:
        start = _parse_date(digits[:8])
        if "长" in t or "期" in t:
            return start, "长期", False
        if start and len(digits) >= 12 and int(digits[8:12]) - int(start[:4]) in (5, 10, 20):
            end = digits[8:12] + start[4:]
            return start, end if _parse_date(end) else "", bool(_parse_date(end))
        return start, "", False
    return "", "", False


def _is_term(start: str, end: str) -> bool:
    """Cards run 5, 10 or 20 years to the same day (29 February ends on 28 February or 1 March)."""
    same_day = end[4:] == start[4:] or (start[4:] == "0229" and end[4:] in ("0228", "0301"))
    return same_day and int(end[:4]) - int(start[:4]) in (5, 10, 20)


_PLACE_SUFFIX = "市区县州旗盟"


def _normalize_authority(text: str, address: str | None = None) -> tuple[str, bool]:
    """Repair an OCR'd 签发机关 with its fixed pattern and, when given, the card's address.

    The issuing bureau is the one of the registered address printed on the front, so a place name in the
    authority that is one character away from a place name in the address (followed there by 市/区/县 …)
    was misread. Returns (text, changed).
    """
    original = text
    if "公安局" not in text:
        text = re.sub(r"公安(?!局).", "公安局", text, count=1)
        text = re.sub(r"公.局", "公安局", text, count=1) if "公安局" not in text else text
    text = re.sub(r"分(?!局).$", "分局", text)
    if address and "公安局" in text:
        head, tail = text.split("公安局", 1)
        tokens = [head.rstrip(_PLACE_SUFFIX), tail.removesuffix("分局").rstrip(_PLACE_SUFFIX)]
        for tok in tokens:
            if len(tok) < 2 or tok in address:
                continue
            near = {
                address[i : i + len(tok)]
                for i in range(len(address) - len(tok))
                if address[i + len(tok)] in _PLACE_SUFFIX
                and sum(a != b for a, b in zip(address[i : i + len(tok)], tok, strict=True)) == 1
            }
            if len(near) == 1:
                text = text.replace(tok, near.pop(), 1)
    return text, text != original
