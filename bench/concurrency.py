"""One replica under concurrent load: VerifyMaterial (face + both card sides, registry authority) and device
submits, at concurrency 1, 2, 4, 8, through Alibaba's Tea SDK and shiren's device protocol.

Reported per level: verifications per second (completed calls / wall time of the level), p50 and p99
latency, and the ratio of each level's rate to the rate at concurrency 1 (issue goal: >= 0.9 at 8, i.e.
concurrency must not collapse throughput). The machine is shared and noisy: compare ratios within a run.

    .venv/bin/python bench/concurrency.py [--calls 16] [--levels 1,2,4,8] [--skip-device]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import cv2

from _common import summary_ms, write_results
from shiren.domain.consent import CONSENT_VERSION
from shiren.domain.idnumber import random_id_number
from shiren.sdk import DeviceClient, encode_video
from tests.api.test_verify_material import card
from tests.fixtures.photos import photo
from tests.peers import ImageHost
from tests.sdk import models, tea
from tests.sdk_e2e.sources import RenderedFace
from tests.support import ShirenServer


def level(calls: int, concurrency: int, one) -> dict[str, float]:  # noqa: ANN001 - a callable of an index
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(calls)))
    wall = time.perf_counter() - t0
    return {"per_s": round(calls / wall, 3), **summary_ms(latencies)}


def report(name: str, rows: dict[int, dict[str, float]]) -> None:
    base = rows[min(rows)]["per_s"]
    print(f"\n{name}")
    print(f"{'concurrency':>11} {'verif/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for c, row in rows.items():
        row["ratio_to_1"] = round(row["per_s"] / base, 3)
        print(
            f"{c:>11} {row['per_s']:>8.2f} {row['ratio_to_1']:>6.2f} "
            f"{row['p50_ms']:>8.0f} {row['p99_ms']:>8.0f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=16, help="calls per level")
    ap.add_argument("--levels", default="1,2,4,8")
    ap.add_argument("--skip-device", action="store_true")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="shiren-conc-"))
    host = ImageHost()
    rng = random.Random(3)
    name = "王建国"
    numbers = [random_id_number(rng, birth=date(1970, 3, 15), sex="男") for _ in range(400)]
    roster = tmp / "roster"
    roster.mkdir()
    cv2.imwrite(str(roster / "p.jpg"), cv2.imread(str(photo("obama.jpg"))))
    with open(roster / "r.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["name", "id_number", "photo"], *[[name, n, "p.jpg"] for n in numbers]])
    env = {"SHIREN_FETCH_ALLOW_HOSTS": host.authority, "SHIREN_CONTENT_REPLAY_CHECK": "false"}
    env["SHIREN_RATE_LIMIT_QPS"] = "1000"
    server = ShirenServer(tmp / "data", env=env)
    server.start()
    results: dict[str, object] = {}
    try:
        key = server.new_tenant("bench")
        server.cli_json(
            "scene", "create", "Min", "--scheme", "RPMin", "--tenant", "bench", "--authority", "registry"
        )
        server.cli_json("scene", "create", "Bio", "--scheme", "FDBioOnly", "--tenant", "bench")
        server.cli_json("registry", "import", str(roster / "r.csv"), "--tenant", "bench")
        front, back, _ = card(name, numbers[0])
        face_url = host.put("f.jpg", photo("obama2.jpg").read_bytes())
        front_url, back_url = host.put("front.jpg", front), host.put("back.jpg", back)
        counter = iter(range(10**6))

        def material(_: int) -> float:
            client = tea(server, key)
            t0 = time.perf_counter()
            body = client.verify_material(
                models.VerifyMaterialRequest(
                    biz_id=f"m{next(counter)}", biz_type="Min", name=name, id_card_number=numbers[0],
                    face_image_url=face_url, id_card_front_image_url=front_url,
                    id_card_back_image_url=back_url,
                )
            ).body  # fmt: skip
            assert body.verify_status is not None
            return time.perf_counter() - t0

        material(0)  # loads the models
        results["verify_material"] = {c: level(args.calls, c, material) for c in levels}
        report("VerifyMaterial (face + both card sides)", results["verify_material"])
        if not args.skip_device:
            results["device_submit"] = {c: device_level(server, key, args.calls, c) for c in levels}
            report("device submit (FDBioOnly, two actions)", results["device_submit"])
    finally:
        server.stop()
        host.close()
    write_results("concurrency", {k: {str(c): v for c, v in rows.items()} for k, rows in results.items()})


def device_level(server: ShirenServer, key: dict[str, str], calls: int, concurrency: int) -> dict[str, float]:
    """Prepare ``calls`` attempts (challenge, capture rendered, uploaded after its recording time), then
    time only their submits, ``concurrency`` at a time."""
    client = tea(server, key)
    ready = []
    for i in range(calls):
        token = client.describe_verify_token(
            models.DescribeVerifyTokenRequest(biz_id=f"d{concurrency}-{i}", biz_type="Bio")
        ).body.verify_token
        device = DeviceClient(server.url, token)
        device.consent(CONSENT_VERSION, "zh")
        plan = device.challenge()
        rec = RenderedFace.of("obama.jpg", realtime=False).record(plan)
        ready.append((device, plan, encode_video(rec.frames, rec.timestamps_ms), time.monotonic()))
    longest = max(p.capture_ms for _, p, _, _ in ready) / 1000
    time.sleep(max(0.0, longest - (time.monotonic() - ready[-1][3])))
    for device, plan, video, _ in ready:
        device.upload("video", video.data, video.content_type, plan.challenge_id)

    def submit(i: int) -> float:
        device, plan, _, _ = ready[i]
        t0 = time.perf_counter()
        device.submit(plan.challenge_id)
        return time.perf_counter() - t0

    try:
        return level(calls, concurrency, submit)
    finally:
        for device, *_ in ready:
            device.close()


if __name__ == "__main__":
    main()
