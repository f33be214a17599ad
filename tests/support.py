"""Running a real shiren server and its command line in tests."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shiren.api.rpc.signing import v1_signature, v1_string_to_sign


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ShirenServer:
    """A ``shiren serve`` process on a free port, with its own data directory (or a shared one)."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        *,
        prefix: list[str] | None = None,
    ) -> None:
        """``prefix``: a command to run the server under (``["taskset", "-c", "0"]``)."""
        self.prefix = list(prefix or [])
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "SHIREN_DATA_DIR": str(data_dir),
            "SHIREN_PORT": str(self.port),
            "SHIREN_HOST": "127.0.0.1",
            **(env or {}),
        }
        self.log_path = data_dir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> float:
        """Start and wait for the first answered request; returns the seconds that took."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "shiren.cli", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shiren exited: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(self.log())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shiren.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def new_tenant(
        self, tenant: str, scenes: Sequence[tuple[str, str]] = (), **scene_opts: str
    ) -> dict[str, str]:
        key = self.cli_json("accesskey", "create", "--tenant", tenant)
        for biz_type, scheme in scenes:
            extra: list[str] = []
            for opt, value in scene_opts.items():
                extra += [f"--{opt.replace('_', '-')}", value]
            self.cli_json("scene", "create", biz_type, "--scheme", scheme, "--tenant", tenant, *extra)
        return key


def signed_v1(
    key: dict[str, str], action: str, *, when: datetime | None = None, nonce: str | None = None, **params: str
) -> dict[str, str]:
    """A request signed the way aliyun-python-sdk-core signs it, with a chosen timestamp and nonce."""
    p = {
        "Action": action,
        "Version": "2019-03-07",
        "Format": "JSON",
        "AccessKeyId": key["AccessKeyId"],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    p["Signature"] = v1_signature(key["AccessKeySecret"], v1_string_to_sign("POST", p))
    return p


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def scratch_postgres(prefix: str = "shiren_test") -> Iterator[str]:
    """A fresh database on the machine's local PostgreSQL (trust auth), dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
