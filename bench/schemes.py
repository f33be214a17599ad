"""Decision latency per SDK scheme: submit → answer, through the Python SDK against a real server.

For each scheme a real server gets DescribeVerifyToken from the official SDK, then shiren.sdk runs the
device side with a rendered face that performs the drawn challenge (tests/sdk_e2e/sources.py), card photos
where the scheme takes them, consent, uploads and submit. The figure is the wall time of the submit call
(the server decodes the video, runs every liveness and identity check and stores the verdict before it
answers); the server's own stage times come from each attempt's stored evidence. Recording takes the
challenge's real length (~4.4 s) because the server refuses captures uploaded faster than they can have
been recorded, so the runs are sequential and few. The first decision (model loading) is not counted.

    .venv/bin/python bench/schemes.py [--runs 4]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2

from _common import summary_ms, write_results
from shiren.sdk import DeviceClient, Verification
from tests.fixtures.photos import photo
from tests.peers import ImageHost
from tests.sdk import models, tea
from tests.sdk_e2e.conftest import FACE, HOLDER, HOLDER_ID, SCENES
from tests.sdk_e2e.flows import RecordingUI
from tests.fixtures.idcards import beijing_card
from tests.sdk_e2e.sources import CardPhotos, RenderedFace
from tests.support import ShirenServer

SCHEMES = ("RPBasic", "RPManual", "RPBioID", "RPBioOnly", "RPBioOnlyPro", "FVBioOnly", "FDBioOnly")


class TimedClient(DeviceClient):
    """Times the submit call: from sending the request to holding the decision."""

    submit_s: float = float("nan")

    def submit(self, *args: Any, **kw: Any) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            return super().submit(*args, **kw)
        finally:
            self.submit_s = time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4, help="counted decisions per scheme")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shiren-schemes-"))
    host = ImageHost()
    retained = host.put("retained.jpg", photo("obama2.jpg").read_bytes())
    # Every run films the same rendered face, pixel for pixel (the generator), so the content-replay check
    # would rightly call each run after the first a replay: it is off here (bench/replay.py measures it).
    env = {"SHIREN_FETCH_ALLOW_HOSTS": host.authority, "SHIREN_CONTENT_REPLAY_CHECK": "false"}
    server = ShirenServer(tmp / "data", env=env)
    server.start()
    scene_of = {scheme: biz_type for biz_type, scheme, extra in SCENES if "--liveness-actions" not in extra}
    try:
        key = server.new_tenant("bench")
        for biz_type, scheme, extra in SCENES:
            server.cli_json("scene", "create", biz_type, "--scheme", scheme, "--tenant", "bench", *extra)
        roster = tmp / "roster"
        roster.mkdir()
        cv2.imwrite(str(roster / "p.jpg"), cv2.imread(str(photo(FACE))))
        with open(roster / "r.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["name", "id_number", "photo"], [HOLDER, HOLDER_ID, "p.jpg"]])
        server.cli_json("registry", "import", str(roster / "r.csv"), "--tenant", "bench")
        stills = CardPhotos(beijing_card(HOLDER, HOLDER_ID), FACE)
        identity = {"name": HOLDER, "id_card_number": HOLDER_ID}
        token_params = {
            "RPBioID": identity,
            "RPBioOnly": identity,
            "RPBioOnlyPro": identity,
            "FVBioOnly": {"face_retained_image_url": retained},
        }
        client_tea = tea(server, key)
        submit: dict[str, list[float]] = {s: [] for s in SCHEMES}
        statuses: dict[str, list[int]] = {s: [] for s in SCHEMES}
        tokens: dict[str, list[str]] = {s: [] for s in SCHEMES}
        for i in range(args.runs + 1):
            for scheme in SCHEMES:
                if i == 0 and scheme != SCHEMES[0]:
                    continue  # one warm-up decision loads the models
                biz_type, biz_id = scene_of[scheme], f"{scheme}-{i}"
                token = client_tea.describe_verify_token(
                    models.DescribeVerifyTokenRequest(
                        biz_id=biz_id, biz_type=biz_type, **token_params.get(scheme, {})
                    )
                ).body.verify_token
                with TimedClient(server.url, token) as client:
                    outcome = Verification(
                        client,
                        RenderedFace.of(FACE),
                        stills if scheme in ("RPBasic", "RPBioID") else None,
                        RecordingUI(),
                    ).run(name=HOLDER, id_number=HOLDER_ID)
                status = client_tea.describe_verify_result(
                    models.DescribeVerifyResultRequest(biz_id=biz_id, biz_type=biz_type)
                ).body.verify_status
                assert status == outcome.code, (scheme, outcome, status)
                if i:
                    submit[scheme].append(client.submit_s)
                    statuses[scheme].append(status)
                    tokens[scheme].append(token)
        with sqlite3.connect(tmp / "data" / "shiren.db") as conn:
            evidence = {
                row[0]: json.loads(row[1])
                for row in conn.execute(
                    "select verify_token, evidence from attempts where evidence is not null"
                )
            }
    finally:
        server.stop()
        host.close()
    results: dict[str, Any] = {}
    print(f"{'scheme':14} {'n':>2} {'p50 ms':>8} {'p95 ms':>8}  statuses  server stages p50 (ms)")
    for scheme in SCHEMES:
        s = summary_ms(submit[scheme])
        stages = [evidence[t]["timings_ms"] for t in tokens[scheme] if t in evidence]
        keys = sorted({k for st in stages for k in st})
        stage_p50 = {k: round(statistics.median(st[k] for st in stages if k in st), 1) for k in keys}
        results[scheme] = {"submit": s, "statuses": statuses[scheme], "server_stages_p50_ms": stage_p50}
        seen = sorted(set(statuses[scheme]))
        stage_text = ", ".join(f"{k} {v}" for k, v in stage_p50.items())
        print(f"{scheme:14} {s['n']:>2} {s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f}  {seen}  {stage_text}")
    write_results("schemes", {"runs_per_scheme": args.runs, "schemes": results})


if __name__ == "__main__":
    main()
