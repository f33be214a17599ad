"""Scaling out: one replica pinned to one core against two replicas each pinned to its own core, sharing
PostgreSQL, an S3 blob store (SeaweedFS) and Redis; then 50 QPS of DescribeVerifyToken held through two
replicas.

- Throughput: VerifyMaterial (face + both card sides, registry authority) at 4 concurrent calls per
  replica, verifications per second over the level's wall time. Goal: two replicas >= 1.8 x one.
- Steady load: DescribeVerifyToken sent open-loop at 50 per second for ``--seconds``, alternating between
  the two replicas (the tenant's limit, 50 QPS, is shared through Redis); p50 / p99 and refusals.

The load generator, PostgreSQL, SeaweedFS and Redis share the same machine (2 cores here): on such a
machine two pinned replicas compete with them, so the ratio understates what separate hosts give.

    .venv/bin/python bench/scale.py [--calls 16] [--seconds 20]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import base64
import csv
import os
import random
import secrets
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import cv2
from Tea.exceptions import TeaException

from _common import summary_ms, write_results
from shiren.domain.idnumber import random_id_number
from tests.api.test_verify_material import card
from tests.fixtures.photos import photo
from tests.peers import ImageHost
from tests.s3server import SeaweedS3
from tests.sdk import models, tea
from tests.support import ShirenServer, scratch_postgres

NAME = "王建国"


def throughput(
    servers: list[ShirenServer], key: dict, urls: tuple[str, str, str], number: str, calls: int
) -> float:
    """Verifications per second with 4 concurrent calls per replica, spread over ``servers``."""
    counter = iter(range(10**9))
    lock = threading.Lock()

    def one(i: int) -> None:
        with lock:
            n = next(counter)
        body = tea(servers[i % len(servers)], key).verify_material(
            models.VerifyMaterialRequest(
                biz_id=f"s{len(servers)}-{n}-{secrets.token_hex(3)}", biz_type="Min", name=NAME,
                id_card_number=number, face_image_url=urls[0], id_card_front_image_url=urls[1],
                id_card_back_image_url=urls[2],
            )
        ).body  # fmt: skip
        assert body.verify_status == 1, body.verify_status

    total = calls * len(servers)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(4 * len(servers)) as pool:
        list(pool.map(one, range(total)))
    return total / (time.perf_counter() - t0)


def steady(servers: list[ShirenServer], key: dict, qps: float, seconds: float) -> dict[str, float]:
    """Open-loop DescribeVerifyToken at ``qps``: each call is sent at its scheduled time."""
    latencies: list[float] = []
    refused = 0
    lock = threading.Lock()
    clients = [tea(s, key) for s in servers]

    def one(i: int) -> None:
        nonlocal refused
        t0 = time.perf_counter()
        try:
            clients[i % len(clients)].describe_verify_token(
                models.DescribeVerifyTokenRequest(biz_id=f"q{i}", biz_type="Face")
            )
        except TeaException:
            with lock:
                refused += 1
            return
        with lock:
            latencies.append(time.perf_counter() - t0)

    n = int(qps * seconds)
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(32) as pool:
        for i in range(n):
            time.sleep(max(0.0, start + i / qps - time.perf_counter()))
            pool.submit(one, i)
    wall = time.perf_counter() - start
    out = summary_ms(latencies)
    return {**out, "sent": n, "refused": refused, "achieved_qps": round(len(latencies) / wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=16, help="VerifyMaterial calls per replica")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("needs two cores")
    tmp = Path(tempfile.mkdtemp(prefix="shiren-scale-"))
    rng = random.Random(5)
    number = random_id_number(rng, birth=date(1970, 3, 15), sex="男")
    roster = tmp / "roster"
    roster.mkdir()
    cv2.imwrite(str(roster / "p.jpg"), cv2.imread(str(photo("obama.jpg"))))
    with open(roster / "r.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["name", "id_number", "photo"], [NAME, number, "p.jpg"]])
    host, s3 = ImageHost(), SeaweedS3()
    s3.start()
    results: dict[str, object] = {}
    servers: list[ShirenServer] = []
    try:
        with scratch_postgres("shiren_scale") as pg:
            env = {
                **s3.env(),
                "SHIREN_DATABASE_URL": pg,
                "SHIREN_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
                "SHIREN_REDIS_URL": "redis://127.0.0.1:6379/0",
                "SHIREN_REDIS_PREFIX": f"shiren-bench-{secrets.token_hex(4)}:",
                "SHIREN_FETCH_ALLOW_HOSTS": host.authority,
                "SHIREN_RUN_WORKERS": "false",
            }
            servers = [
                ShirenServer(tmp / f"r{i}", env=env, prefix=["taskset", "-c", str(cores[i])]) for i in (0, 1)
            ]
            servers[0].start()
            key = servers[0].new_tenant("bench")
            servers[0].cli_json(
                "scene", "create", "Min", "--scheme", "RPMin", "--tenant", "bench", "--authority", "registry"
            )
            servers[0].cli_json("scene", "create", "Face", "--scheme", "FDBioOnly", "--tenant", "bench")
            servers[0].cli_json("registry", "import", str(roster / "r.csv"), "--tenant", "bench")
            front, back, _ = card(NAME, number)
            urls = (
                host.put("f.jpg", photo("obama2.jpg").read_bytes()),
                host.put("front.jpg", front),
                host.put("back.jpg", back),
            )
            throughput(servers[:1], key, urls, number, 2)  # warm-up: loads the models
            one = throughput(servers[:1], key, urls, number, args.calls)
            servers[1].start()
            throughput(servers[1:], key, urls, number, 2)
            two = throughput(servers, key, urls, number, args.calls)
            results["throughput"] = {
                "one_replica_per_s": round(one, 3),
                "two_replicas_per_s": round(two, 3),
                "ratio": round(two / one, 3),
            }
            print(f"one replica (core {cores[0]}):     {one:.2f} verifications/s")
            print(
                f"two replicas (cores {cores[0]}, {cores[1]}): {two:.2f} verifications/s   "
                f"ratio {two / one:.2f}"
            )
            results["steady_50_qps"] = steady(servers, key, 50.0, args.seconds)
            st = results["steady_50_qps"]
            print(
                f"DescribeVerifyToken at 50 QPS over two replicas for {args.seconds:.0f} s: "
                f"sent {st['sent']}, refused {st['refused']}, "
                f"p50 {st['p50_ms']:.0f} ms, p99 {st['p99_ms']:.0f} ms"
            )
    finally:
        for s in servers:
            s.stop()
        s3.stop()
        host.close()
    write_results("scale", results)


if __name__ == "__main__":
    main()
