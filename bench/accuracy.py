"""Accuracy figures of the decision engine, on fixtures only (no external data):

1. genuine and impostor score distributions (calibrated 0-100) over every face of the fixture photographs;
2. exact-match rate per IdCardInfo field over generated ID cards, clean and hard;
3. the confusion table of expected vs returned VerifyStatus over generated RPMin cases (authority none).

    .venv/bin/python bench/accuracy.py [--cards 50] [--cases 5]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import itertools
import random
import statistics
from collections import Counter, defaultdict
from datetime import date

import cv2
import numpy as np

from _common import percentile, write_results
from face_corpus import load_corpus
from shiren.authority import Authorities
from shiren.domain.idnumber import random_id_number
from shiren.domain.scores import similarity_score
from shiren.engine import idcard
from shiren.engine.models import Models
from shiren.intake import decode_image
from shiren.runtime import models_from
from shiren.services.decision import DecisionModels, evaluate
from shiren.services.verify_material import MaterialRequest, decision_inputs
from shiren.settings import get_settings
from shiren.storage.models import Scene
from tests.api.test_verify_material import card
from tests.fixtures.idcards import make_card, make_document_photo
from tests.fixtures.photos import photo

FIELDS = ("name", "sex", "nationality", "birth", "address", "number", "authority", "start_date", "end_date")
TODAY = date(2026, 11, 28)


def score_distributions(models: Models) -> dict:
    embedder = models.embedder
    corpus = [c for c in load_corpus(models) if c.source != "obama_partial_face2.jpg"]
    embs = [embedder.embed(c.image, c.face) for c in corpus]
    genuine, impostor = [], []
    for i, j in itertools.combinations(range(len(corpus)), 2):
        s = similarity_score(float(np.linalg.norm(embs[i] - embs[j])))
        (genuine if corpus[i].identity == corpus[j].identity else impostor).append(s)

    def describe(xs: list[float]) -> dict:
        return {
            "n": len(xs),
            "min": round(min(xs), 1),
            "p50": round(statistics.median(xs), 1),
            "p99": round(percentile(xs, 99), 1),
            "max": round(max(xs), 1),
            "at_or_above_60": sum(x >= 60 for x in xs),
            "at_or_above_80": sum(x >= 80 for x in xs),
        }

    out = {
        "embedder": models.embedder_id,
        "genuine": describe(genuine),
        "impostor": describe(impostor),
    }
    print(f"scores ({out['embedder']}):")
    for k in ("genuine", "impostor"):
        print(f"  {k:<9} {out[k]}")
    return out


def field_accuracy(n: int, models: Models) -> dict:
    ocr = models.ocr
    results = {}
    for hard in (False, True):
        hits: Counter[str] = Counter()
        for seed in range(n):
            sample = make_card(seed, hard=hard)
            decode = lambda b: cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)  # noqa: E731
            front = idcard.read_front(decode(sample.front), ocr=ocr)
            back = idcard.read_back(decode(sample.back), ocr=ocr)
            got = {f: getattr(front, f) for f in FIELDS[:6]} | {f: getattr(back, f) for f in FIELDS[6:]}
            for f in FIELDS:
                hits[f] += got[f] == getattr(sample.truth, f)
        label = "hard" if hard else "clean"
        results[label] = {f: round(hits[f] / n, 3) for f in FIELDS}
        print(
            f"field exact match, {n} {label} cards: "
            + ", ".join(f"{f} {v:.0%}" for f, v in results[label].items())
        )
    return results


def confusion(cases: int, models: Models) -> dict:
    settings = get_settings()
    scene = Scene(tenant_id=0, authority="none", thresholds={}, scheme="RPMin", biz_type="bench")
    deps = DecisionModels(models, Authorities({}), settings)  # authority none: no lookup
    rng = random.Random(11)

    def img(data: bytes, field: str):
        return decode_image(data, field, settings)

    table: dict[int, Counter[int]] = defaultdict(Counter)
    faces = {"same": ["obama2.jpg", "obama3.jpg"], "other": ["biden.jpg"]}
    for k in range(cases):
        number = random_id_number(rng, birth=date(1960 + k, 5, 17), sex="男")
        front, back, _ = card("王建国", number, seed=100 + k)
        _, old_back, _ = card("王建国", number, start="20050101", end="20250101", seed=200 + k)
        other_front, _, _ = card("王建国", random_id_number(rng, sex="男"), seed=300 + k)
        same = img(photo(faces["same"][k % 2]).read_bytes(), "FaceImageUrl")
        other = img(photo("biden.jpg").read_bytes(), "FaceImageUrl")
        bad_number = number[:-1] + ("0" if number[-1] != "0" else "1")
        plan = {
            1: ("王建国", number, same, front, back),
            2: ("王建国", bad_number, same, front, back),
            3: ("王建民", number, same, front, back),
            4: ("王建国", number, same, other_front, back),
            5: ("王建国", number, same, front, old_back),
            6: ("王建国", number, other, front, back),
            8: ("王建国", number, same, make_document_photo(k), back),
        }
        for expected, (name, num, face, f, b) in plan.items():
            req = MaterialRequest(f"c{k}", name, num, face_url="bench")
            images = {
                "FaceImageUrl": face,
                "IdCardFrontImageUrl": img(f, "IdCardFrontImageUrl"),
                "IdCardBackImageUrl": img(b, "IdCardBackImageUrl"),
            }
            table[expected][evaluate(deps, decision_inputs(scene, req, images), TODAY).status] += 1
    statuses = sorted({s for row in table.values() for s in row} | set(table))
    print("\nconfusion (rows: expected, columns: returned)")
    print("exp\\got " + "".join(f"{s:>5}" for s in statuses))
    for exp in sorted(table):
        print(f"{exp:>7} " + "".join(f"{table[exp][s]:>5}" for s in statuses))
    correct = sum(table[e][e] for e in table)
    total = sum(sum(r.values()) for r in table.values())
    print(f"correct {correct}/{total}")
    return {"table": {str(e): dict(table[e]) for e in sorted(table)}, "correct": correct, "total": total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cards", type=int, default=50)
    ap.add_argument("--cases", type=int, default=5)
    args = ap.parse_args()
    models = models_from(get_settings())  # one bundle for the three parts, as in a server process
    data = {
        "scores": score_distributions(models),
        "fields": field_accuracy(args.cards, models),
        "confusion": confusion(args.cases, models),
    }
    write_results("accuracy", data)


if __name__ == "__main__":
    main()
