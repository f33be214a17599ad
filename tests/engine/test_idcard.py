"""ID card reading on generated card photos (tests/fixtures/idcards.py).

OCR is the slow part (~0.3 s per side on 2 cores), so every photo is read once per module (cached) and the
tests use a handful of cards; bench/idcard_accuracy.py measures accuracy over many.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from functools import cache

import numpy as np
import pytest

from shiren.domain.idnumber import parse_id_number
from shiren.engine import idcard
from shiren.engine.idcard import CardBack, CardFront, decode_image, find_card_quad, read_back, read_front
from shiren.engine.idcard.front import _fix_province
from shiren.engine.idcard.text import (
    _extract_number,
    _match_ethnic,
    _normalize_authority,
    _parse_date,
    _parse_validity,
)
from shiren.engine.ocr import TextRecognizer, available_recognizers, make_text_recognizer
from tests.fixtures.idcards import (
    CardSample,
    CardTruth,
    make_card,
    make_document_photo,
    make_face_photo,
    photograph,
    random_truth,
    render_back,
    render_front,
)

FRONT_FIELDS = ("name", "sex", "nationality", "birth", "address", "number")
BACK_FIELDS = ("authority", "start_date", "end_date")


@cache
def rapidocr() -> TextRecognizer:
    """The recogniser every test passes in (the engine takes its OCR model as an argument); loaded once."""
    return make_text_recognizer("rapidocr")


@cache
def sample(seed: int, **kw: object) -> CardSample:
    return make_card(seed, **kw)  # type: ignore[arg-type]


@cache
def front_of(seed: int, **kw: object) -> CardFront:
    return read_front(decode_image(sample(seed, **kw).front), ocr=rapidocr())


@cache
def back_of(seed: int, **kw: object) -> CardBack:
    return read_back(decode_image(sample(seed, **kw).back), ocr=rapidocr())


def wrong_fields(
    truth: CardTruth, front: CardFront | None, back: CardBack | None
) -> dict[str, tuple[str, str]]:
    wrong = {}
    if front is not None:
        wrong |= {
            f: (getattr(front, f), getattr(truth, f))
            for f in FRONT_FIELDS
            if getattr(front, f) != getattr(truth, f)
        }
    if back is not None:
        wrong |= {
            f: (getattr(back, f), getattr(truth, f))
            for f in BACK_FIELDS
            if getattr(back, f) != getattr(truth, f)
        }
    return wrong


# ---------------------------------------------------------------------------- the generator


def test_generator_is_deterministic_and_self_consistent() -> None:
    a, b = make_card(7), make_card(7)
    assert a.front == b.front and a.back == b.back and a.truth == b.truth
    assert make_card(8).front != a.front
    parsed = parse_id_number(a.truth.number)
    assert f"{parsed.birth:%Y%m%d}" == a.truth.birth and parsed.sex == a.truth.sex
    assert a.front[:2] == b"\xff\xd8"  # JPEG, like a phone photo
    long_term = random_truth(random.Random(3), long_term=True)
    assert long_term.end_date == "长期"
    permit = random_truth(random.Random(3), permit="82")
    assert (
        permit.number.startswith("82")
        and permit.nationality == ""
        and permit.kind == "hk_macau_taiwan_permit"
    )


def test_card_outline_is_found_precisely() -> None:
    """No OCR involved: the quad finder alone, on clean and hard photos, against the generator's corners."""
    for seed, hard in ((1, False), (2, True), (5, False)):
        s = sample(seed, hard=hard)
        for data, params in ((s.front, s.front_params), (s.back, s.back_params)):
            found = find_card_quad(decode_image(data))
            assert found is not None
            quad, support = found
            assert support > 0.6
            assert np.abs(quad - np.array(params.corners, np.float32)).max() < 12  # px in a 1280x960 photo


# ---------------------------------------------------------------------------- reading


@pytest.mark.parametrize("seed", [0, 1])
def test_clean_card_reads_every_field(seed: int) -> None:
    truth = sample(seed).truth
    front, back = front_of(seed), back_of(seed)
    assert front.found and back.found
    assert wrong_fields(truth, front, back) == {}
    assert front.genuine and back.genuine
    assert front.number_valid and front.kind == "resident"
    assert front.quad_source == "edges"
    assert front.portrait is not None and front.portrait_has_face
    assert front.low_confidence_fields() == []
    assert back.title == "居民身份证"
    assert {"姓名", "公民身份号码"} <= set(front.labels_found)


@pytest.mark.parametrize("seed", [1, 4])
def test_hard_card_reads_most_fields(seed: int) -> None:
    truth = sample(seed, hard=True).truth
    front, back = front_of(seed, hard=True), back_of(seed, hard=True)
    assert front.found and back.found
    wrong = wrong_fields(truth, front, back)
    assert len(wrong) <= 2, wrong
    assert "number" not in wrong


def test_long_term_validity() -> None:
    truth = sample(4, long_term=True).truth
    back = back_of(4, long_term=True)
    assert back.found
    assert (back.start_date, back.end_date) == (truth.start_date, "长期")


@pytest.mark.parametrize(("permit", "title"), [("81", "港澳居民居住证"), ("83", "台湾居民居住证")])
def test_hk_macau_taiwan_residence_permit(permit: str, title: str) -> None:
    truth = sample(2, permit=permit).truth
    front, back = front_of(2, permit=permit), back_of(2, permit=permit)
    assert wrong_fields(truth, front, back) == {}
    assert front.number.startswith(permit) and front.kind == "hk_macau_taiwan_permit"
    assert front.nationality == ""
    assert back.title == title


def test_rotated_card_in_perspective() -> None:
    truth = sample(5, roll=10.0, tilt=15.0).truth
    front, back = front_of(5, roll=10.0, tilt=15.0), back_of(5, roll=10.0, tilt=15.0)
    assert wrong_fields(truth, front, back) == {}


def test_upside_down_card() -> None:
    truth = sample(6, roll=175.0).truth
    front = front_of(6, roll=175.0)
    assert wrong_fields(truth, front, None) == {}
    # The reported corners follow the upright card: top-left is where 姓名 is printed.
    corners = np.array(sample(6, roll=175.0).front_params.corners, np.float32)
    assert front.quad is not None and np.abs(front.quad - corners).max() < 12


def test_cropped_card_without_background() -> None:
    """An SDK or scanner often sends the card already cropped: no outline to find, the frame is the card."""
    rng = random.Random(9)
    truth = sample(9).truth
    flat = render_front(truth, rng)
    front = read_front(flat, ocr=rapidocr())
    assert front.found and front.quad_source == "frame"
    assert (front.name, front.number) == (truth.name, truth.number)


# ---------------------------------------------------------------------------- no card, wrong card


@pytest.mark.parametrize("kind", ["face", "document"])
def test_photo_without_card_is_not_found(kind: str) -> None:
    data = make_face_photo(1) if kind == "face" else make_document_photo(2)
    img = decode_image(data)
    front, back = read_front(img, ocr=rapidocr()), read_back(img, ocr=rapidocr())
    assert not front.found and not front.genuine and front.name == "" and front.portrait is None
    assert not back.found and not back.genuine
    assert "card_not_found" in [e.code for e in front.evidence]


def test_back_given_as_front() -> None:
    front = read_front(decode_image(sample(0).back), ocr=rapidocr())
    assert not front.found
    assert "wrong_side" in [e.code for e in front.evidence]


def test_printed_sex_disagreeing_with_number_is_reported_not_overwritten() -> None:
    """A card whose printed 性别 contradicts its number (a forgery or misprint) keeps the printed value."""
    base = sample(0).truth
    other = "女" if base.sex == "男" else "男"
    forged = dataclasses.replace(base, sex=other)
    rng = random.Random(3)
    data, _ = photograph(render_front(forged, rng), rng, roll=0.0, tilt=0.0)
    front = read_front(decode_image(data), ocr=rapidocr())
    assert front.found and front.sex == other
    assert "sex_mismatch" in [e.code for e in front.evidence]


def test_read_card_checks_validity_term_against_age() -> None:
    s = sample(0)
    reading = idcard.read_card(decode_image(s.front), decode_image(s.back), ocr=rapidocr())
    assert reading.id_card_info() == s.truth.id_card_info()
    assert reading.evidence == []
    # The holder of card 0 was 7 at issue: a 长期 back (only for holders 46+ at issue) must be flagged.
    assert int(s.truth.start_date[:4]) - int(s.truth.birth[:4]) < 16
    young = dataclasses.replace(s.truth, end_date="长期")
    rng = random.Random(4)
    back, _ = photograph(render_back(young, rng), rng, roll=0.0, tilt=0.0)
    reading = idcard.read_card(decode_image(s.front), decode_image(back), ocr=rapidocr())
    assert reading.back is not None and reading.back.end_date == "长期"
    assert "validity_term_mismatch" in [e.code for e in reading.evidence]


# ---------------------------------------------------------------------------- parsing helpers


def test_parsers_tolerate_ocr_noise() -> None:
    assert _parse_date("1990年1月2日") == "19900102"
    assert _parse_date("2002 年 11 月 30日") == "20021130"
    assert _parse_date("1990年13月2日") == ""
    assert _parse_validity("2015.03.01-长期") == ("20150301", "长期", False)
    assert _parse_validity("2015.O3.01一2025.03.01") == ("20150301", "20250301", False)
    assert _parse_validity("2015。03。01-2035.03.01") == ("20150301", "20350301", False)
    # End day lost: a 10-year term ends on the start's day; flagged as inferred.
    assert _parse_validity("2015.03.01-2025.0") == ("20150301", "20250301", True)
    assert _parse_validity("2015.03.01-2024.0") == ("20150301", "", False)
    assert _extract_number("11010119900307O03X") == "11010119900307003X"
    assert _extract_number("公民身份号码 110101199003070035") == "110101199003070035"
    assert _extract_number("998110101199909282651") == "110101199909282651"  # label remnants read as digits
    assert _match_ethnic("汉族") == ("汉", 1.0)
    assert _match_ethnic("维吾尔")[0] == "维吾尔"
    assert _match_ethnic("柯尔克")[0] == "柯尔克孜"
    assert _match_ethnic("并") == ("", 0.0)  # one edit from every one-character name: no guess
    assert _match_ethnic("么佬")[0] == "仫佬"  # 仫 is not in PP-OCRv4's character set


def test_repairs_use_closed_lists_and_the_other_side() -> None:
    assert _fix_province("广西社族自治区南宁市青秀区", None) == "广西壮族自治区南宁市青秀区"
    assert _fix_province("南省昆明市五华区", None) == "南省昆明市五华区"  # 云/河/湖南省: a tie
    assert _fix_province("南省昆明市五华区", "云南省") == "云南省昆明市五华区"  # the number breaks it
    assert _fix_province("湖北省武汉市", "河南省") == "湖北省武汉市"  # a clean reading is kept
    assert _normalize_authority("广州市公安师天河区分局") == ("广州市公安局天河区分局", True)
    assert _normalize_authority("南京市公安局有武分局", "江苏省南京市玄武区中山路1号") == (
        "南京市公安局玄武分局",
        True,
    )
    assert _normalize_authority("北京市公安局东城分局", "上海市徐汇区") == (
        "北京市公安局东城分局",
        False,
    )


# ---------------------------------------------------------------------------- the OCR plugin


def test_recognizer_is_a_thread_safe_plugin() -> None:
    ocr = rapidocr()
    assert isinstance(ocr, TextRecognizer)
    assert "rapidocr" in available_recognizers() and ocr.version.startswith("rapidocr")
    with pytest.raises(ValueError, match="unknown OCR plugin"):
        make_text_recognizer("no-such-ocr")
    card = front_of(0).card
    assert card is not None
    expected = ocr.read(card)
    assert any("公民身份号码" in line.text for line in expected)
    results: list[list[str]] = []

    def work() -> None:
        results.append([line.text for line in ocr.read(card)])

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[line.text for line in expected]] * 2
