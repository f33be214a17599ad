"""Throughput and latency of the signed API over loopback, next to a bare Starlette baseline.

Both servers run as separate processes under uvicorn in the same run and get the same load: C concurrent
clients sending RPC-v1-signed POSTs. The baseline endpoint does the same database write as
DescribeVerifyToken (one row into a SQLite WAL database) and nothing else, so the ratio shows what
signature checking, nonce claiming, validation, encryption and the ORM cost. Goal: ratio >= 0.4.

    .venv/bin/python bench/api_throughput.py [--requests 1500] [--concurrency 16]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from _common import summary_ms, write_results
from tests.support import ShirenServer, free_port, signed_v1

BASELINE_APP = """
import os, secrets, sqlite3, threading
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.concurrency import run_in_threadpool

DB = os.environ["BASELINE_DB"]
_local = threading.local()

def _conn():
    c = getattr(_local, "c", None)
    if c is None:
        c = sqlite3.connect(DB, timeout=30)
        c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=NORMAL")
        c.execute("CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY, token TEXT, body BLOB)")
        _local.c = c
    return c

def write():
    token = secrets.token_hex(16)
    c = _conn()
    with c:
        c.execute("INSERT INTO attempts (token, body) VALUES (?, ?)", (token, secrets.token_bytes(64)))
    return token

async def endpoint(request):
    await request.body()
    token = await run_in_threadpool(write)
    return JSONResponse({"RequestId": "x", "VerifyToken": token, "VerifyStatus": -1})

app = Starlette(routes=[Route("/", endpoint, methods=["GET", "POST"])])
"""


def signed(key: dict[str, str], action: str, **params: str) -> str:
    return "/?" + urlencode(signed_v1(key, action, **params))


async def load(base: str, make_path, total: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                path = make_path(i)
                t0 = time.perf_counter()
                resp = await client.post(path)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, errors


def run_case(name: str, base: str, make_path, total: int, concurrency: int) -> dict:
    asyncio.run(load(base, make_path, min(100, total), concurrency))  # warm-up
    elapsed, latencies, errors = asyncio.run(load(base, make_path, total, concurrency))
    row = {"rps": round(total / elapsed, 1), "errors": errors, **summary_ms(latencies)}
    print(
        f"{name:<28} {row['rps']:>8.1f} req/s  p50 {row['p50_ms']:>7.2f} ms  p99 {row['p99_ms']:>7.2f} ms"
        f"  errors {errors}"
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shiren-bench-"))
    server = ShirenServer(tmp / "data", env={"SHIREN_RATE_LIMIT_QPS": "0"})
    server.start()
    key = server.new_tenant("bench", [("Bench", "RPBioOnly")])
    app_file = tmp / "baseline_app.py"
    app_file.write_text(BASELINE_APP)
    port = free_port()
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "baseline_app:app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=tmp,
        env={**os.environ, "BASELINE_DB": str(tmp / "baseline.db")},
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        n, c = args.requests, args.concurrency
        print(f"{n} requests, {c} concurrent clients, loopback, {os.cpu_count()} CPUs\n")
        results = {
            "baseline_starlette_write": run_case(
                "bare Starlette + write",
                f"http://127.0.0.1:{port}",
                lambda i: signed(key, "DescribeVerifyToken", BizId=f"b{i}", BizType="Bench"),
                n,
                c,
            ),
            "DescribeVerifyToken": run_case(
                "DescribeVerifyToken",
                server.url,
                lambda i: signed(
                    key,
                    "DescribeVerifyToken",
                    BizId=f"b{i % 200}",
                    BizType="Bench",
                    Name="张三",
                    IdCardNumber="11010519491231002X",
                ),
                n,
                c,
            ),
            "DescribeVerifyResult": run_case(
                "DescribeVerifyResult",
                server.url,
                lambda i: signed(key, "DescribeVerifyResult", BizId=f"b{i % 200}", BizType="Bench"),
                n,
                c,
            ),
        }
        base_rps = results["baseline_starlette_write"]["rps"]
        for action in ("DescribeVerifyToken", "DescribeVerifyResult"):
            results[action]["ratio_to_baseline"] = round(results[action]["rps"] / base_rps, 3)
            print(f"ratio {action} / baseline: {results[action]['ratio_to_baseline']:.3f}  (goal >= 0.4)")
        write_results("api_throughput", {"requests": n, "concurrency": c, "cpus": os.cpu_count(), **results})
    finally:
        baseline.terminate()
        server.stop()


if __name__ == "__main__":
    main()
