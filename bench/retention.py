"""Retention: verifications erased per second, on SQLite and on PostgreSQL.

For each database, N decided verifications are stored the way the decision core stores them (each with its
own data keys, ``--blobs`` small encrypted images in the local blob store, encrypted name / number /
material, a verdict with evidence), backdated, then erased through ``services.retention.run_retention``
(bounded passes of ``retention_batch``, one transaction per verification, files deleted after each commit):

1. record: N verifications past their scene's retention (30 days): everything erased, tombstone kept;
2. record, two runners: the same on another N, with two concurrent runs (as two server processes would do):
   each erasure is claimed by one of them, none fails;
3. media: N verifications past the media retention (7 days) only: images and the media key erased.

Rates are wall-clock verifications per second including the planning queries and the file deletions. The
PostgreSQL run uses the local server (127.0.0.1:5432, user postgres) and a scratch database it drops.

    .venv/bin/python bench/retention.py [--n 2000] [--blobs 2] [--skip-postgres]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import base64
import os
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from _common import write_results
from shiren.runtime import Runtime
from shiren.services.media import store_blob
from shiren.services.retention import RetentionReport, plan_retention, run_retention
from shiren.settings import Settings
from shiren.storage.models import Attempt, Blob, Scene, utcnow
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tasks import new_attempt_keys, set_verdict, start_attempt
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.support import scratch_postgres

CHUNK = 200  # verifications stored per transaction while populating
EVIDENCE = {
    "checks": [
        {"name": "id_number", "fails_with": 2, "passed": True},
        {"name": "face_vs_card_portrait", "fails_with": 6, "passed": True, "score": 96.1, "threshold": 80.0},
        {"name": "card_name", "fails_with": 3, "passed": True, "detail": "王建国"},
    ],
    "models": {"face_detector": "mediapipe:1", "face_embedder": "dlib-onnx:1"},
    "timings_ms": {"total": 812.0},
}


def populate(
    runtime: Runtime, scene: Scene, prefix: str, n: int, blobs: int, blob_bytes: int, age: timedelta
) -> None:
    """``n`` decided verifications created ``age`` ago, each with ``blobs`` encrypted images."""
    created = utcnow() - age
    for start in range(0, n, CHUNK):
        with runtime.sessions() as session, session.begin():
            for i in range(start, min(n, start + CHUNK)):
                keys = new_attempt_keys(runtime.crypto)
                stored = [
                    store_blob(
                        runtime,
                        os.urandom(blob_bytes),
                        tenant_id=scene.tenant_id,
                        attempt_id=None,
                        kind="face",
                        content_type="image/jpeg",
                        cipher=keys.media,
                    )
                    for _ in range(blobs)
                ]
                attempt = start_attempt(
                    session,
                    runtime.crypto,
                    scene,
                    f"{prefix}-{i}",
                    ttl=timedelta(0),
                    name="王建国",
                    id_number="11010519491231002X",
                    inputs={"UserId": f"u-{i}"},
                    now=created,
                    keys=keys,
                )
                set_verdict(
                    session,
                    runtime.crypto,
                    attempt,
                    status=1,
                    scores={"idcard": 96.1},
                    evidence=EVIDENCE,
                    material={"FaceImageBlob": stored[0].id, "VideoBlobs": [b.id for b in stored[1:]]},
                    now=created,
                )
                for blob in stored:
                    blob.attempt_id = attempt.id
                    session.add(blob)


def timed_run(runtime: Runtime, runners: int) -> tuple[float, list[RetentionReport]]:
    reports: list[RetentionReport] = []
    barrier = threading.Barrier(runners)

    def run() -> None:
        barrier.wait()
        reports.append(run_retention(runtime, actor="bench"))

    threads = [threading.Thread(target=run) for _ in range(runners)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, reports


def measure(runtime: Runtime, scene: Scene, kind: str, args: argparse.Namespace, runners: int = 1) -> dict:
    age = timedelta(days=31 if kind == "record" else 8)
    prefix = f"{kind}-{runners}"
    t0 = time.perf_counter()
    populate(runtime, scene, prefix, args.n, args.blobs, args.blob_bytes, age)
    populate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = plan_retention(runtime)
    plan_ms = (time.perf_counter() - t0) * 1000
    assert len(plan.due) == min(args.n, runtime.settings.retention_batch), len(plan.due)
    elapsed, reports = timed_run(runtime, runners)
    erased = sum(r.erased[kind] for r in reports)
    failed = sum(r.failed for r in reports)
    assert erased == args.n and failed == 0, (erased, failed)
    with runtime.sessions() as session:
        left = session.scalar(select(func.count()).select_from(Blob))
        assert left == 0, left
        if kind == "record":
            alive = session.scalar(select(func.count()).where(Attempt.state != "erased"))
            assert alive == 0, alive
    return {
        "kind": kind,
        "runners": runners,
        "n": args.n,
        "files": sum(r.files for r in reports),
        "seconds": round(elapsed, 3),
        "per_s": round(args.n / elapsed, 1),
        "plan_first_batch_ms": round(plan_ms, 1),
        "populate_s": round(populate_s, 2),
        "per_runner": [r.erased[kind] for r in reports],
    }


def bench_database(
    label: str, data_dir: Path, database_url: str | None, args: argparse.Namespace
) -> list[dict]:
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        retention_interval_s=0,
    )
    runtime = Runtime.build(settings)
    try:
        with runtime.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, "bench")
            scene = create_scene(session, runtime.crypto, tenant.id, "Bench", "RPMin")
        rows = [
            measure(runtime, scene, "record", args),
            measure(runtime, scene, "record", args, runners=2),
            measure(runtime, scene, "media", args),
        ]
    finally:
        runtime.close()
    for row in rows:
        row["database"] = label
        print(
            f"{label:10}  {row['kind']:6}  runners {row['runners']}  {row['n']} verifications "
            f"({row['files']} files) in {row['seconds']:.2f} s  = {row['per_s']:7.1f}/s   "
            f"plan of one batch {row['plan_first_batch_ms']:.1f} ms   split {row['per_runner']}"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--blobs", type=int, default=2)
    ap.add_argument("--blob-bytes", type=int, default=4096)
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shiren-retention-") as tmp:
        results += bench_database("sqlite", Path(tmp) / "sqlite", None, args)
        if not args.skip_postgres:
            with scratch_postgres("shiren_bench") as url:
                results += bench_database("postgresql", Path(tmp) / "pg", url, args)
    write_results(
        "retention",
        {
            "n": args.n,
            "blobs_per_verification": args.blobs,
            "blob_bytes": args.blob_bytes,
            "batch": Settings().retention_batch,
            "runs": results,
        },
    )


if __name__ == "__main__":
    main()
