"""The face-verify family end to end through Alibaba's Tea SDK against a real server, per liveness Model,
and its server-only calls next to the raw inference they run.

- Per Model (ID_PRO, registry authority): InitFaceVerify, then the device side through shiren's device
  protocol (consent, challenge, the capture rendered for that challenge from a real photograph and
  uploaded after as long as recording it takes, submit), then DescribeFaceVerify. Reported: the pass rate,
  the server's share (init + upload + submit + describe, the recording itself left out) and the submit
  (the decision) alone, p50 / p95.
- ContrastFaceVerify (ID_MIN: a photo against the registry photo) and CompareFaceVerify (PV_FC: two photos)
  end to end, next to the same model calls made in this process on the same images (detection, landmarks,
  quality, embedding of each face).

    .venv/bin/python bench/face_verify.py [--runs 5]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import base64
import csv
import json
import random
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from _common import summary_ms, write_results
from shiren.domain.consent import CONSENT_VERSION
from shiren.domain.faceverify import MODELS
from shiren.domain.idnumber import random_id_number
from shiren.runtime import models_from
from shiren.sdk import DeviceClient, encode_video
from shiren.services.faces import analyse_face
from shiren.settings import get_settings
from tests.fixtures.photos import photo
from tests.sdk import models, tea
from tests.sdk_e2e.sources import RenderedFace
from tests.support import ShirenServer

META = json.dumps({"zimVer": "3.0.0", "bioMetaInfo": "4.1.0:gum=1,mr=1,gl=1", "deviceType": "h5"})


def one_capture(server: ShirenServer, client, scene_id: int, name: str, number: str, model: str, i: int):
    """One verification of ``model``: (passed, server seconds, submit seconds)."""
    t0 = time.perf_counter()
    init = client.init_face_verify(
        models.InitFaceVerifyRequest(
            scene_id=scene_id, outer_order_no=f"{model[:20]}-{i}", product_code="ID_PRO", model=model,
            cert_type="IDENTITY_CARD", cert_name=name, cert_no=number, meta_info=META,
        )
    ).body  # fmt: skip
    server_s = time.perf_counter() - t0
    certify_id = init.result_object.certify_id
    face = RenderedFace.of("obama.jpg", realtime=False)
    with DeviceClient(server.url, certify_id) as device:
        device.consent(CONSENT_VERSION, "zh")
        plan = device.challenge()
        started = time.monotonic()
        rec = face.record(plan)
        video = encode_video(rec.frames, rec.timestamps_ms)
        time.sleep(max(0.0, plan.capture_ms / 1000 - (time.monotonic() - started)))  # as long as recording
        t1 = time.perf_counter()
        device.upload("video", video.data, video.content_type, plan.challenge_id)
        t2 = time.perf_counter()
        device.submit(plan.challenge_id)
        t3 = time.perf_counter()
    answer = client.describe_face_verify(
        models.DescribeFaceVerifyRequest(scene_id=scene_id, certify_id=certify_id)
    ).body
    t4 = time.perf_counter()
    server_s += t4 - t1
    return answer.result_object.passed == "T", server_s, t3 - t2


def raw_faces(bundle, images: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    for image in images:
        assert analyse_face(bundle, image) is not None
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="verifications per Model (at most 50)")
    ap.add_argument("--server-only", action="store_true", help="only ContrastFaceVerify / CompareFaceVerify")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shiren-fv-"))
    rng = random.Random(11)
    name = "王建国"
    # One identity per verification: an identity is shown at most 20 challenges a day (domain/limits.py).
    numbers = [random_id_number(rng, birth=date(1970, 3, 15), sex="男") for _ in range(len(MODELS) * 50)]
    number = numbers.pop()
    roster = tmp / "roster"
    roster.mkdir()
    cv2.imwrite(str(roster / "p.jpg"), cv2.imread(str(photo("obama.jpg"))))
    with open(roster / "r.csv", "w", newline="") as fh:
        rows = [[name, n, "p.jpg"] for n in [number, *numbers]]
        csv.writer(fh).writerows([["name", "id_number", "photo"], *rows])
    # The captures are re-renders of one photograph: the same pictures, which the content check refuses.
    server = ShirenServer(tmp / "data", env={"SHIREN_CONTENT_REPLAY_CHECK": "false"})
    server.start()
    results: dict[str, object] = {}
    try:
        key = server.new_tenant("bench")
        scene = server.cli_json(
            "scene", "create", "Fv", "--scheme", "RPBioOnly", "--tenant", "bench", "--authority", "registry"
        )
        scene_id = int(scene["SceneId"])
        server.cli_json("registry", "import", str(roster / "r.csv"), "--tenant", "bench")
        client = tea(server, key)
        one_capture(server, client, scene_id, name, number, "LIVENESS", -1)  # loads the models
        per_model = {}
        print(f"{'Model':16} {'passed':>7} {'server p50':>11} {'p95':>8} {'submit p50':>11} {'p95':>8}")
        for model in () if args.server_only else MODELS:
            runs = [
                one_capture(server, client, scene_id, name, numbers.pop(), model, i) for i in range(args.runs)
            ]
            srv, sub = summary_ms([r[1] for r in runs]), summary_ms([r[2] for r in runs])
            passed = sum(r[0] for r in runs)
            per_model[model] = {"passed": passed, "runs": len(runs), "server": srv, "submit": sub}
            print(
                f"{model:16} {passed:>3}/{len(runs):<3} {srv['p50_ms']:>9.0f}ms {srv['p95_ms']:>6.0f}ms "
                f"{sub['p50_ms']:>9.0f}ms {sub['p95_ms']:>6.0f}ms"
            )
        results["per_model"] = per_model
        live = base64.b64encode(photo("obama2.jpg").read_bytes()).decode()
        other = base64.b64encode(photo("obama3.jpg").read_bytes()).decode()
        contrast, compare = [], []
        for i in range(args.runs + 1):
            t0 = time.perf_counter()
            body = client.contrast_face_verify(
                models.ContrastFaceVerifyRequest(
                    scene_id=scene_id, outer_order_no=f"min-{i}", product_code="ID_MIN",
                    cert_type="IDENTITY_CARD", cert_name=name, cert_no=number, face_contrast_picture=live,
                )
            ).body  # fmt: skip
            t1 = time.perf_counter()
            cmp = client.compare_face_verify(
                models.CompareFaceVerifyRequest(
                    scene_id=scene_id, outer_order_no=f"cmp-{i}", product_code="PV_FC",
                    source_face_contrast_picture=live, target_face_contrast_picture=other,
                )
            ).body  # fmt: skip
            t2 = time.perf_counter()
            assert body.code == "200" and cmp.code == "200", (body.message, cmp.message)
            if i:
                contrast.append(t1 - t0)
                compare.append(t2 - t1)
        bundle = models_from(get_settings())
        images = [cv2.imread(str(photo(n))) for n in ("obama2.jpg", "obama.jpg", "obama3.jpg")]
        raw_faces(bundle, images)  # loads the models
        raw_contrast = summary_ms([raw_faces(bundle, images[:2]) for _ in range(args.runs)])
        raw_compare = summary_ms([raw_faces(bundle, [images[0], images[2]]) for _ in range(args.runs)])
        c_s, p_s = summary_ms(contrast), summary_ms(compare)
        results["contrast"] = {"end_to_end": c_s, "raw_inference": raw_contrast}
        results["compare"] = {"end_to_end": p_s, "raw_inference": raw_compare}
        for label, e2e, raw in (
            ("ContrastFaceVerify", c_s, raw_contrast),
            ("CompareFaceVerify", p_s, raw_compare),
        ):
            ratio = e2e["p50_ms"] / raw["p50_ms"]
            print(
                f"{label:19} p50 {e2e['p50_ms']:.0f} ms  p95 {e2e['p95_ms']:.0f} ms   "
                f"raw inference p50 {raw['p50_ms']:.0f} ms  (ratio {ratio:.2f})"
            )
    finally:
        server.stop()
    write_results("face_verify_server" if args.server_only else "face_verify", results)


if __name__ == "__main__":
    main()
