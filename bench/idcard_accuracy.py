"""ID card reading: exact-match rate per IdCardInfo field, and time per card (front + back), on generated
card photos (tests/fixtures/idcards.py) — clean ones and hard ones (small, blurred, noisy, over/under-exposed,
JPEG 35–60) — plus photos without a card (a face, a printed page), which must come back not found.

Also reports how often a wrong field was flagged as low confidence (what RPBasic asks the user to confirm)
and how often birth date / sex had to come from the ID number.

Usage: python bench/idcard_accuracy.py [--clean 50] [--hard 50] [--negatives 10] [--offset 1000]
Prints a table and writes bench/results/idcard_accuracy.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench._common import percentile, write_results  # noqa: E402
from tests.fixtures.idcards import make_card, make_document_photo, make_face_photo  # noqa: E402

from shiren.engine.idcard import LOW_CONFIDENCE, decode_image, read_back, read_card, read_front  # noqa: E402
from shiren.engine.ocr import TextRecognizer, make_text_recognizer  # noqa: E402

FIELDS = {  # IdCardInfo key → attribute on CardFront / CardBack
    "Name": "name",
    "Sex": "sex",
    "Nationality": "nationality",
    "Birth": "birth",
    "Address": "address",
    "Number": "number",
    "Authority": "authority",
    "StartDate": "start_date",
    "EndDate": "end_date",
}
FRONT = ("name", "sex", "nationality", "birth", "address", "number")


def _ms(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1), "n": len(ms)}


def run_set(n: int, hard: bool, offset: int, ocr: TextRecognizer) -> dict[str, Any]:
    hits: Counter[str] = Counter()
    flagged_wrong: Counter[str] = Counter()
    wrong_total: Counter[str] = Counter()
    evidence: Counter[str] = Counter()
    found_front = found_back = genuine_front = genuine_back = all_exact = 0
    t_card, t_front, t_back, cpu_card = [], [], [], []
    mismatches: list[dict[str, Any]] = []
    for seed in range(offset, offset + n):
        sample = make_card(seed, hard=hard)
        front_img, back_img = decode_image(sample.front), decode_image(sample.back)
        c0, t0 = time.process_time(), time.perf_counter()
        # The back uses the front's address (签发机关 repair).
        reading = read_card(front_img, back_img, ocr=ocr)
        t1, c1 = time.perf_counter(), time.process_time()
        front, back = reading.front, reading.back
        assert back is not None
        t_front.append(front.elapsed_ms / 1000)
        t_back.append(back.elapsed_ms / 1000)
        t_card.append(t1 - t0)
        cpu_card.append(c1 - c0)
        found_front += front.found
        found_back += back.found
        genuine_front += front.genuine
        genuine_back += back.genuine
        evidence.update(e.code for e in front.evidence + back.evidence + reading.evidence)
        exact = True
        for key, attr in FIELDS.items():
            side = front if attr in FRONT else back
            got, want = getattr(side, attr), getattr(sample.truth, attr)
            if got == want:
                hits[key] += 1
                continue
            exact = False
            wrong_total[key] += 1
            if side.confidence.get(attr, 0.0) < LOW_CONFIDENCE:
                flagged_wrong[key] += 1
            if len(mismatches) < 25:
                mismatches.append({"seed": seed, "field": key, "got": got, "want": want})
        all_exact += exact
    return {
        "cards": n,
        "fields": {k: round(hits[k] / n, 3) for k in FIELDS},
        "all_fields_exact": round(all_exact / n, 3),
        "found": {"front": round(found_front / n, 3), "back": round(found_back / n, 3)},
        "genuine": {"front": round(genuine_front / n, 3), "back": round(genuine_back / n, 3)},
        "wrong_fields_flagged_low_confidence": {
            k: f"{flagged_wrong[k]}/{wrong_total[k]}" for k in FIELDS if wrong_total[k]
        },
        "evidence_counts": dict(evidence.most_common()),
        "time_card_both_sides": _ms(t_card),
        "time_front": _ms(t_front),
        "time_back": _ms(t_back),
        "cpu_card_both_sides": _ms(cpu_card),
        "mismatches": mismatches,
    }


def run_negatives(n: int, ocr: TextRecognizer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, make in (("face_photo", make_face_photo), ("document_photo", make_document_photo)):
        found = 0
        times = []
        for seed in range(n):
            img = decode_image(make(seed))
            t0 = time.perf_counter()
            front, back = read_front(img, ocr=ocr), read_back(img, ocr=ocr)
            times.append((time.perf_counter() - t0) / 2)
            found += front.found + back.found
        out[kind] = {"photos": n, "false_found_rate": round(found / (2 * n), 3), "time_per_side": _ms(times)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", type=int, default=50)
    ap.add_argument("--hard", type=int, default=50)
    ap.add_argument("--negatives", type=int, default=10)
    ap.add_argument("--offset", type=int, default=1000, help="first seed (the tests use small seeds)")
    args = ap.parse_args()

    ocr = make_text_recognizer("rapidocr")
    warm = make_card(0)
    read_front(decode_image(warm.front), ocr=ocr)
    read_back(decode_image(warm.back), ocr=ocr)
    load_before = os.getloadavg()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "ocr": ocr.version,
        "clean": run_set(args.clean, False, args.offset, ocr),
        "hard": run_set(args.hard, True, args.offset, ocr),
        "no_card": run_negatives(args.negatives, ocr),
    }
    results["machine"]["loadavg_1m_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]

    clean, hard = results["clean"], results["hard"]
    print(f"ID card reading ({ocr.version}), {clean['cards']} clean / {hard['cards']} hard generated cards")
    print(f"{'field':<22}{'clean':>9}{'hard':>9}")
    for key in FIELDS:
        print(f"{key:<22}{clean['fields'][key]:>9.1%}{hard['fields'][key]:>9.1%}")
    rows = [
        ("all fields exact", clean["all_fields_exact"], hard["all_fields_exact"]),
        ("found (front)", clean["found"]["front"], hard["found"]["front"]),
        ("found (back)", clean["found"]["back"], hard["found"]["back"]),
        ("genuine (front)", clean["genuine"]["front"], hard["genuine"]["front"]),
        ("genuine (back)", clean["genuine"]["back"], hard["genuine"]["back"]),
    ]
    for label, a, b in rows:
        print(f"{label:<22}{a:>9.1%}{b:>9.1%}")
    for label, key in (("ms/card p50 (2 sides)", "p50_ms"), ("ms/card p95 (2 sides)", "p95_ms")):
        print(
            f"{label:<22}{clean['time_card_both_sides'][key]:>9.0f}{hard['time_card_both_sides'][key]:>9.0f}"
        )
    cpu = clean["cpu_card_both_sides"]["p50_ms"], hard["cpu_card_both_sides"]["p50_ms"]
    print(f"{'cpu ms/card p50':<22}{cpu[0]:>9.0f}{cpu[1]:>9.0f}")
    for kind, r in results["no_card"].items():
        rate, ms = r["false_found_rate"], r["time_per_side"]["p50_ms"]
        print(f"no card, {kind}: found in {rate:.1%} of sides, {ms:.0f} ms/side p50")
    print(f"wrong fields flagged low-confidence (hard): {hard['wrong_fields_flagged_low_confidence']}")
    print(f"load average before/after: {results['machine']['loadavg_1m_before_after']}")
    write_results("idcard_accuracy", results)


if __name__ == "__main__":
    main()
