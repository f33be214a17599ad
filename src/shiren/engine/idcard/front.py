"""The 人像面: splitting its rows into fields, reading them, and checking them against the ID number."""

from __future__ import annotations

import re
from functools import cache

import cv2
import numpy as np

from shiren.domain.idnumber import InvalidIdNumber, parse_id_number, province_name
from shiren.engine.ocr import TextRecognizer

from .layout import (
    _FRONT_LABELS,
    _FRONT_SLOTS,
    _after_label,
    _assign,
    _Box,
    _CardOcr,
    _crop,
    _decide,
    _find_gap,
    _label_strip,
    _recognize,
    _Seg,
)
from .locate import _PORTRAIT_MM, CARD_MM
from .text import (
    _CJK,
    _DASH_BETWEEN_CJK,
    _DASH_TO_YI,
    _clean,
    _edit_distance,
    _extract_number,
    _fuzzy_in,
    _match_ethnic,
    _parse_date,
)
from .types import CardFront, Evidence

_LABEL_COLUMN_END = 12.5  # mm: a line starting left of this begins with a label
# Windows (mm) where the printed gap between a label and its value lies, with the usual split point.
_GAP_LABEL = ((11.3, 16.0), 13.8)
_GAP_SEX_NATION = ((18.6, 25.4), 22.0)
_GAP_NATION = ((30.6, 35.0), 32.9)
_GAP_NUMBER = ((23.0, 28.6), 26.0)
_BIRTH_END = 41.5
_CONTEXT_MM = 3.4  # one label character (2.7 mm) and its spacing


def _front_segments(co: _CardOcr) -> tuple[list[_Seg], list[_Seg]]:
    """(value segments, label segments) of a rectified front, split at the printed label/value gaps."""
    gray = cv2.cvtColor(co.card, cv2.COLOR_BGR2GRAY)
    slots = _assign(co.rows, _FRONT_SLOTS)
    co.slots_matched = len(slots)
    values: list[_Seg] = []
    labels: list[_Seg] = []
    right = _PORTRAIT_MM[0] - 0.5

    def split(row: _Box, role: str, label: str, gap: tuple[tuple[float, float], float], x1: float) -> None:
        if row.x0 < _LABEL_COLUMN_END:
            x = _find_gap(gray, row, *gap)
            labels.append(_Seg(label, row.x0, row.y0, min(x, row.x1), row.y1))
            if row.x1 > x + 1.0:
                values.append(_Seg(role, x, row.y0, min(x1, row.x1), row.y1))
        else:
            values.append(_Seg(role, row.x0, row.y0, min(x1, row.x1), row.y1))

    if "name" in slots:
        split(slots["name"][0], "name", "姓名", _GAP_LABEL, right)
    if "birth" in slots:
        row = slots["birth"][0]
        # The date always reaches ~41 mm (日); faint day digits are sometimes missed by the detector.
        split(_Box(row.x0, row.y0, max(row.x1, _BIRTH_END), row.y1), "birth", "出生", _GAP_LABEL, right)
    if "sex" in slots:
        row = slots["sex"][0]
        # When 性别 and its value escaped detection the row starts at 民族: probe the printed position.
        x_a = _find_gap(gray, row, *_GAP_LABEL) if row.x0 < _LABEL_COLUMN_END else _GAP_LABEL[1]
        if row.x0 < _LABEL_COLUMN_END:
            labels.append(_Seg("性别", row.x0, row.y0, x_a, row.y1))
        if row.x1 > _GAP_SEX_NATION[0][1] + 2:  # 民族 printed (resident cards)
            x_b = _find_gap(gray, row, *_GAP_SEX_NATION)
            x_c = _find_gap(gray, row, *_GAP_NATION)
            values.append(_Seg("sex", x_a, row.y0, x_b, row.y1))
            labels.append(_Seg("民族", x_b, row.y0, x_c, row.y1))
            if row.x1 > x_c + 1.0:
                values.append(_Seg("nationality", x_c, row.y0, min(right, row.x1), row.y1))
        else:
            values.append(_Seg("sex", x_a, row.y0, min(row.x1, _GAP_SEX_NATION[0][1]), row.y1))
            # Nothing detected where 民族 goes: a permit (none printed) or faint print. Probe the spot.
            values.append(_Seg("nationality?", _GAP_NATION[1], row.y0, _GAP_NATION[1] + 12.0, row.y1))
    elif "name" in slots or "birth" in slots:
        # The whole 性别/民族 row escaped detection (faint print): probe the printed positions.
        y = _FRONT_SLOTS["sex"]
        values.append(_Seg("sex?", 14.0, y - 2.0, 20.0, y + 2.0))
        values.append(_Seg("nationality?", _GAP_NATION[1], y - 2.0, _GAP_NATION[1] + 12.0, y + 2.0))
    for i, row in enumerate(sorted(slots.get("address", []), key=lambda r: r.cy)):
        if i == 0:
            split(row, "address", "住址", _GAP_LABEL, right)
        else:
            values.append(_Seg("address", max(row.x0, _GAP_LABEL[0][0]), row.y0, min(right, row.x1), row.y1))
    if "number" in slots:
        row = max(slots["number"], key=lambda r: r.x1 - r.x0)
        split(row, "number", "公民身份号码", _GAP_NUMBER, CARD_MM[0])
    return values, labels


def _read_front_fields(co: _CardOcr, ocr: TextRecognizer, res: CardFront) -> int:
    """Recognise and parse the front; returns the anchor count used to decide whether a card was found."""
    values, labels = _front_segments(co)
    segs = list(values)
    extra: dict[int, np.ndarray] = {}
    for s in values:
        if s.role in ("sex", "nationality"):
            # Second read of the single-character fields with the label's last character in front of the
            # value: alone, a glyph lacks context (壮 reads as 并); after 族 it is read right.
            segs.append(_Seg(s.role + "#ctx", s.x0 - _CONTEXT_MM, s.y0, s.x1, s.y1))
    strip = _label_strip(co.card, labels)
    if strip is not None:
        extra[len(segs)] = strip
        segs.append(_Seg("labels", 0, 0, 0, 0))
    _recognize(ocr, co.card, segs, extra)

    conf = res.confidence
    by_role: dict[str, list[_Seg]] = {}
    for s in segs:
        by_role.setdefault(s.role.split("#")[0], []).append(s)  # "sex#ctx" votes with "sex"
    label_text = _clean(by_role["labels"][0].text) if "labels" in by_role else ""
    found_labels = {lb for lb in _FRONT_LABELS if _fuzzy_in(lb, label_text)}

    if "name" in by_role:
        s = by_role["name"][0]
        # A dash in a name is the character 一 read as punctuation (孟一岩 → 孟—岩).
        text = _clean(s.text).translate(_DASH_TO_YI)
        res.name = "".join(ch for ch in text if _CJK.match(ch) or ch == "·")
        conf["name"] = s.score if res.name else 0.0
    sex_votes: dict[str, list[float]] = {}
    for s in by_role.get("sex", []) + by_role.get("sex?", []):
        m = re.search(r"[男女]", _after_label(_clean(s.text), "别") if s.role.endswith("#ctx") else s.text)
        if m and (s.role != "sex?" or s.score >= 0.6):
            sex_votes.setdefault(m.group(0), []).append(s.score)
    if sex_votes:
        res.sex, conf["sex"] = _decide(sex_votes)
    nation_votes: dict[str, list[float]] = {}
    for s in by_role.get("nationality", []) + by_role.get("nationality?", []):
        text = _after_label(_clean(s.text), "族") if s.role.endswith("#ctx") else s.text
        name, factor = _match_ethnic(text)
        if name and (s.role != "nationality?" or (factor >= 0.6 and s.score >= 0.6)):
            nation_votes.setdefault(name, []).append(s.score * factor)
    if nation_votes:
        res.nationality, conf["nationality"] = _decide(nation_votes)
    if "birth" in by_role:
        s = by_role["birth"][0]
        res.birth = _parse_date(s.text)
        conf["birth"] = s.score if res.birth else 0.0
    if "address" in by_role:
        parts = by_role["address"]
        res.address = _DASH_BETWEEN_CJK.sub("一", "".join(_clean(s.text) for s in parts))
        conf["address"] = min(s.score for s in parts) if res.address else 0.0
    if "number" in by_role:
        s = by_role["number"][0]
        res.number = _extract_number(s.text)
        conf["number"] = s.score if len(res.number) == 18 else 0.0
        co.number_seg = s

    _check_front(res, ocr, co)
    res.labels_found = sorted(found_labels)
    return len(found_labels) + 2 * res.number_valid + bool(res.birth) + bool(res.name)


def _check_front(res: CardFront, ocr: TextRecognizer, co: _CardOcr) -> None:
    """Validate the number and cross-check it with the printed birth date and sex."""
    conf, ev = res.confidence, res.evidence
    parsed = None
    if res.number:
        try:
            parsed = parse_id_number(res.number)
        except InvalidIdNumber as e:
            if co.number_seg is not None:
                # One more read of the number from a slightly different crop before giving up.
                crop = _crop(co.card, co.number_seg, pad_x=1.2, pad_y=0.6)
                if crop.size:
                    text, score = ocr.recognize([crop])[0]
                    try:
                        parsed = parse_id_number(_extract_number(text))
                        ev.append(
                            Evidence("number_reread", "first reading failed the check; a re-read passed")
                        )
                        conf["number"] = score
                    except InvalidIdNumber:
                        pass
            if parsed is None:
                ev.append(Evidence("number_invalid", e.reason))
                conf["number"] = min(conf.get("number", 0.0), 0.3)
    res.number_valid = parsed is not None
    if res.address:
        fixed = _fix_province(res.address, parsed.province if parsed and parsed.kind == "resident" else None)
        if fixed != res.address:
            ev.append(
                Evidence("address_province_corrected", f"read {res.address[:8]}…; nearest province name")
            )
            res.address = fixed
            conf["address"] = min(conf.get("address", 0.0), 0.8)
    if parsed is None:
        return
    res.number = parsed.number
    res.kind = parsed.kind
    num_birth = f"{parsed.birth:%Y%m%d}"
    num_conf = conf.get("number", 0.0)
    if not res.birth:
        res.birth, conf["birth"] = num_birth, min(0.7, num_conf)
        ev.append(Evidence("birth_from_number", "printed birth date unreadable; taken from the ID number"))
    elif res.birth != num_birth:
        if conf.get("birth", 0.0) < 0.95 or num_conf >= conf.get("birth", 0.0):
            ev.append(
                Evidence("birth_mismatch_resolved", f"printed {res.birth} vs the number's; used the number")
            )
            res.birth, conf["birth"] = num_birth, min(0.7, num_conf)
        else:
            ev.append(Evidence("birth_mismatch", f"printed {res.birth} disagrees with the ID number"))
    if not res.sex:
        res.sex, conf["sex"] = parsed.sex, min(0.7, num_conf)
        ev.append(Evidence("sex_from_number", "printed sex unreadable; taken from the ID number"))
    elif res.sex != parsed.sex:
        if conf.get("sex", 0.0) < 0.95:
            ev.append(
                Evidence(
                    "sex_mismatch_resolved", f"printed {res.sex} (unsure) vs the number's; used the number"
                )
            )
            res.sex, conf["sex"] = parsed.sex, min(0.7, num_conf)
        else:
            ev.append(Evidence("sex_mismatch", f"printed {res.sex} disagrees with the ID number"))
    if parsed.kind == "hk_macau_taiwan_permit" and res.nationality:
        ev.append(Evidence("nationality_on_permit", "residence permits print no 民族"))


@cache
def _province_names() -> frozenset[str]:
    return frozenset(n for i in range(10, 100) if (n := province_name(f"{i:02d}")))


def _fix_province(address: str, from_number: str | None) -> str:
    """Replace a misread province at the start of an address with the nearest real one.

    Addresses on cards always start with the province-level division, a closed list of 34 names. A unique
    nearest name within one edit (two for long names) wins; a tie is broken by the province of the ID
    number's region code (a hint only: people move, so it never overrides a clean reading).
    """
    names = _province_names()
    if any(address.startswith(n) for n in names):
        return address
    scored = []
    for n in names:
        for k in (len(n) - 1, len(n), len(n) + 1):
            if 2 <= k <= len(address):
                scored.append((_edit_distance(address[:k], n), n, k))
    if not scored:
        return address
    best = min(d for d, _, _ in scored)
    winners = {(n, k) for d, n, k in scored if d == best}
    names_won = {n for n, _ in winners}
    if len(names_won) > 1:
        names_won &= {from_number} if from_number else set()
    if len(names_won) != 1:
        return address
    name = names_won.pop()
    if best > (2 if len(name) >= 5 else 1):
        return address
    k = min(k for n, k in winners if n == name)
    return name + address[k:]
