"""A fleet on three "hosts" (network namespaces on a bridge), under load, with one replica killed mid-load.

Topology (X random, free on this machine; names carry a random suffix of the run):

    root namespace   bridge 10.231.X.1/24: PostgreSQL and Redis (loopback only) through TCP relays of this
                     process, SeaweedFS (S3), the image host, the callback receiver, the load generator
    api-a            10.231.X.11  `shiren serve` replica A (SHIREN_RUN_WORKERS=false)
    api-b            10.231.X.12  `shiren serve` replica B
    worker           10.231.X.13  `shiren worker` (the callback sender)

All three share one PostgreSQL database, the master key, the bucket and a Redis prefix; each has a data
dir of its own. From the root namespace, a few threads send DescribeVerifyToken, VerifyMaterial (real
photographs against a registry roster; the scene has a callback URL) and device flows (shiren.sdk with a
rendered face, in real time) alternately to A and B. Mid-load A is SIGKILLed; calls keep going to B and
those sent to A count as not accepted; then A starts again and gets calls again.

Then: every verdict answered is read by DescribeVerifyResult from both replicas with the same VerifyStatus;
every accepted verdict's callback arrives exactly once (signed); a face image decided on A is served by B
through the link A handed out (host rewritten: links are signed with the shared keys); a burst split over
A and B gets the shared rate limit, not twice it; nothing of the run is left afterwards.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import cv2
import httpx
import numpy as np
import pytest
from redis import Redis
from Tea.exceptions import TeaException, UnretryableException

from shiren.domain.idnumber import random_id_number
from shiren.sdk import DeviceClient, SdkResult, Verification
from tests.fixtures.photos import photo
from tests.fleet.netns import Host, HostProcess, TcpRelay, Topology, unavailable
from tests.peers import ImageHost, Receiver, signature_valid
from tests.s3server import SeaweedS3
from tests.sdk import models, tea
from tests.sdk_e2e.sources import RenderedFace
from tests.support import scratch_postgres, signed_v1

pytestmark = pytest.mark.timeout(400)

PORT = 8080  # every replica in its own namespace: the same port on each host
QPS = 25  # SHIREN_RATE_LIMIT_QPS (burst: two seconds' worth), per tenant and action, shared through Redis
KILL_AT_S = 8.0  # into the load, replica A is SIGKILLed
DOWN_S = 3.0  # A stays down this long before it is started again
AFTER_BACK_S = 8.0  # the load goes on this long after A is ready again
LOAD_MIN_S = 24.0
MATERIAL_THREADS = 2
BURST_THREADS, BURST_CALLS = 8, 480
DEVICE_THREADS = 2
DEVICE_ROUTES = ("BB", "AB", "BA", "AA")  # token replica, device replica; thread k starts at k
TOKEN_READS = 24  # undecided tokens read back from both replicas (a sample: reads share the limit)

HOLDER = "王建国"
HOLDER_ID = random_id_number(random.Random(20261207), birth=date(1970, 3, 15), sex="男")
FACE = "obama.jpg"  # the roster photo and the device's face
MIN_SCENE, BIO_SCENE, LIMIT_SCENE = "FleetMin", "FleetBio", "LimitFD"


# ---------------------------------------------------------------------------------------------- the fleet


@dataclass
class Replica:
    """One `shiren serve` in a host; ``start`` again after a kill makes a new process (same data dir)."""

    name: str
    host: Host
    env: dict[str, str]
    logs: Path
    proc: HostProcess | None = None
    starts: int = 0

    @property
    def endpoint(self) -> str:  # what tests.sdk.tea wants
        return f"{self.host.address}:{PORT}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self) -> None:
        self.starts += 1
        args = [sys.executable, "-m", "shiren.cli", "serve"]
        log = self.logs / f"serve-{self.name}-{self.starts}.log"
        self.proc = HostProcess(self.host, args, self.env, log).start()

    def wait_ready(self, timeout: float = 150) -> float:
        """Until /healthz and then /readyz answer 200 (asked from the root namespace); returns the seconds."""
        assert self.proc is not None
        started = time.monotonic()
        for path in ("/healthz", "/readyz"):
            while True:
                if not self.proc.alive():
                    raise RuntimeError(f"replica {self.name} exited: {self.proc.log()}")
                if time.monotonic() - started > timeout:
                    raise TimeoutError(
                        f"replica {self.name}: {path} not 200 in {timeout}s: {self.proc.log()}"
                    )
                try:
                    if httpx.get(self.url + path, timeout=3).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


@dataclass
class Fleet:
    topology: Topology
    relays: list[TcpRelay]
    s3: SeaweedS3
    images: ImageHost
    receiver: Receiver
    a: Replica
    b: Replica
    worker: HostProcess
    key: dict[str, str]  # tenant "fleet"
    limit_key: dict[str, str]  # tenant "limit": only the burst
    callback_secrets: dict[str, bytes]  # scene -> callback signing secret, as `scene create` printed it
    setup_s: float = 0.0

    @property
    def replicas(self) -> tuple[Replica, Replica]:
        return self.a, self.b

    def replica(self, name: str) -> Replica:
        return self.a if name == "A" else self.b


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SHIREN_")}


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "shiren.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, (args, out.stderr[-3000:])
    return json.loads(out.stdout)


def build_fleet(stack: ExitStack, tmp: Path) -> Fleet:
    started = time.monotonic()
    topology = stack.enter_context(Topology(["api-a", "api-b", "worker"]))
    bridge = topology.bridge_address
    prefix = f"shiren-fleet-{topology.suffix}:"
    stack.callback(_drop_redis_keys, prefix)
    pg = stack.enter_context(TcpRelay(bridge, ("127.0.0.1", 5432)))
    redis = stack.enter_context(TcpRelay(bridge, ("127.0.0.1", 6379)))
    db_url = stack.enter_context(scratch_postgres("shiren_fleet"))
    db_name = db_url.rsplit("/", 1)[1]
    s3 = SeaweedS3(bucket=f"fleet-{topology.suffix}", host=bridge)
    s3.start()
    stack.callback(s3.stop)
    images = ImageHost(host=bridge)
    stack.callback(images.close)
    for name in (FACE, "obama2.jpg"):
        images.put(name, photo(name).read_bytes())
    receiver = Receiver(host=bridge)
    stack.callback(receiver.close)

    shared = {
        **_base_env(),
        **s3.env(),
        "SHIREN_DATABASE_URL": f"postgresql+psycopg://postgres@{pg.address}/{db_name}",
        "SHIREN_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SHIREN_REDIS_URL": f"redis://{redis.address}/0",
        "SHIREN_REDIS_PREFIX": prefix,
        "SHIREN_RATE_LIMIT_QPS": str(QPS),
        "SHIREN_RUN_WORKERS": "false",
        "SHIREN_FETCH_ALLOW_HOSTS": f"{images.authority},{receiver.authority}",
        # Every device flow films the same photograph: the content replay check would refuse the repeats.
        "SHIREN_CONTENT_REPLAY_CHECK": "false",
        "SHIREN_CALLBACK_POLL_S": "0.2",
        "SHIREN_CALLBACK_BACKOFF_BASE_S": "0.3",
        "SHIREN_CALLBACK_BACKOFF_MAX_S": "2",
        "SHIREN_PORT": str(PORT),
    }

    def env_for(name: str, host: Host) -> dict[str, str]:
        return {**shared, "SHIREN_HOST": host.address, "SHIREN_DATA_DIR": str(tmp / name)}

    hosts = topology.hosts
    a = Replica("A", hosts["api-a"], env_for("a", hosts["api-a"]), tmp / "logs")
    b = Replica("B", hosts["api-b"], env_for("b", hosts["api-b"]), tmp / "logs")
    worker = HostProcess(
        hosts["worker"],
        [sys.executable, "-m", "shiren.cli", "worker"],
        env_for("worker", hosts["worker"]),
        tmp / "logs" / "worker.log",
    )
    stack.callback(worker.stop)
    stack.callback(b.stop)
    stack.callback(a.stop)
    for replica in (a, b):
        replica.start()
    worker.start()

    # The operator's side, from the root namespace straight to PostgreSQL (the same database).
    cli_env = {**shared, "SHIREN_DATABASE_URL": db_url, "SHIREN_DATA_DIR": str(tmp / "cli")}
    roster = tmp / "roster"
    roster.mkdir()
    cv2.imwrite(str(roster / "holder.jpg"), cv2.imread(str(photo(FACE))))
    with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["name", "id_number", "photo"], [HOLDER, HOLDER_ID, "holder.jpg"]])
    with ThreadPoolExecutor(3) as pool:
        key, limit_key = pool.map(
            lambda tenant: _cli(cli_env, "accesskey", "create", "--tenant", tenant), ("fleet", "limit")
        )
        hook = receiver.url()
        made = list(
            pool.map(
                lambda args: _cli(cli_env, *args),
                [
                    ("scene", "create", MIN_SCENE, "--scheme", "RPMin", "--tenant", "fleet",
                     "--authority", "registry", "--callback-url", hook),
                    ("scene", "create", BIO_SCENE, "--scheme", "RPBioOnly", "--tenant", "fleet",
                     "--authority", "registry", "--callback-url", hook),
                    ("scene", "create", LIMIT_SCENE, "--scheme", "FDBioOnly", "--tenant", "limit"),
                    ("registry", "import", str(roster / "roster.csv"), "--tenant", "fleet"),
                ],
            )
        )  # fmt: skip
    assert made[3]["Imported"] == 1, made[3]
    scene_secrets = {
        MIN_SCENE: made[0]["CallbackSecret"].encode(),
        BIO_SCENE: made[1]["CallbackSecret"].encode(),
    }
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(Replica.wait_ready, (a, b)))
    deadline = time.monotonic() + 60
    while "shiren worker running" not in worker.log():
        assert worker.alive() and time.monotonic() < deadline, worker.log()
        time.sleep(0.2)
    for proc in (a.proc, b.proc, worker):
        assert proc is not None and proc.in_its_namespace(), proc and proc.args
    return Fleet(
        topology, [pg, redis], s3, images, receiver, a, b, worker, key, limit_key, scene_secrets,
        setup_s=time.monotonic() - started,
    )  # fmt: skip


def _drop_redis_keys(prefix: str) -> None:
    r = Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=5)
    try:
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        if keys:
            r.delete(*keys)
    finally:
        r.close()


# ---------------------------------------------------------------------------------------------- the load


@dataclass
class Call:
    kind: str  # token | material | device
    replica: str  # where it was sent ("A" / "B"); for a device flow, where the device calls went
    biz_type: str
    biz_id: str
    started: float  # seconds into the load
    ended: float | None = None
    outcome: str = ""  # accepted | refused | dropped | throttled | error
    failed_at: str | None = None  # the replica that refused or dropped it
    status: int | None = None  # the VerifyStatus answered (material, device)
    token_replica: str | None = None  # device flows: where DescribeVerifyToken went
    face_url: str | None = None
    detail: str = ""
    connect_refused: bool = False  # a transport failure: the connection itself was refused


class QuietUI:
    """The device's user: agrees to the consent, shows nothing."""

    def consent(self, text: str, version: str) -> bool:
        return True

    def status(self, message: str) -> None:
        pass

    def hint(self, hint: str) -> None:
        pass

    def prompt(self, action: str) -> None:
        pass

    def flash(self, color: str | None) -> None:
        pass

    def ask_card(self, side: str) -> None:
        pass

    def manual_input(self) -> tuple[str, str] | None:
        return None

    def confirm(self, fields: dict[str, str], low_confidence: list[str]) -> tuple[str, str] | None:
        return fields["name"], fields["idNumber"]

    def result(self, result: SdkResult) -> None:
        pass


@dataclass
class Load:
    fleet: Fleet
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    t0: float = 0.0
    kill_sent_at: float | None = None
    killed_at: float | None = None  # A reaped
    restarted_at: float | None = None
    back_at: float | None = None
    ended_at: float | None = None
    in_flight_at_kill: list[Call] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(secrets.randbits(32)))

    def now(self) -> float:
        return time.monotonic() - self.t0

    def begin(self, call: Call) -> Call:
        with self.lock:
            self.calls.append(call)
        return call

    def transport_failure(self, call: Call, where: str, detail: str) -> None:
        call.outcome = "transport"  # dropped or refused: told apart once the kill's times are known
        call.failed_at = where
        call.connect_refused = any(
            m in detail for m in ("Connection refused", "NewConnectionError", "ConnectError")
        )
        call.detail = detail if len(detail) < 200 else f"{detail[:80]} … {detail[-110:]}"

    def rpc(self, call: Call, replica: Replica, fn: Callable[[Any], Any], *, last: bool = True) -> Any:
        """One official-SDK call; fills in the outcome (and the end, when it is the call's ``last`` step).
        Returns the body when accepted."""
        try:
            body = fn(tea(replica, self.fleet.key)).body
        except UnretryableException as exc:  # no HTTP answer: connection refused, reset, closed
            self.transport_failure(call, replica.name, str(getattr(exc, "inner_exception", exc)))
            return None
        except TeaException as exc:
            call.outcome = "throttled" if exc.code == "Throttling.User" else "error"
            call.failed_at, call.detail = replica.name, f"{exc.code}: {exc.message}"
            return None
        finally:
            if last or call.outcome:
                call.ended = self.now()
        call.outcome = "accepted"
        return body

    # ------------------------------------------------------------------ the callers

    def material_caller(self, k: int) -> None:
        a, b = self.fleet.replicas
        i = 0
        while not self.stop.is_set():
            i += 1
            first, second = (a, b) if (i + k) % 2 else (b, a)
            token = self.begin(Call("token", first.name, BIO_SCENE, f"tok-{k}-{i}", self.now()))
            self.rpc(
                token,
                first,
                lambda c, biz_id=token.biz_id: c.describe_verify_token(
                    models.DescribeVerifyTokenRequest(
                        biz_id=biz_id, biz_type=BIO_SCENE, name=HOLDER, id_card_number=HOLDER_ID
                    )
                ),
            )
            # Now and then a number the registry does not know: a failed verdict. Each such number fails
            # once (ten failures of one number in a day refuse it: Throttling.TooManyFailures).
            number = HOLDER_ID if i % 4 else random_id_number(self.rng, birth=date(1980, 1, 1), sex="男")
            mat = self.begin(Call("material", second.name, MIN_SCENE, f"mat-{k}-{i}", self.now()))
            body = self.rpc(
                mat,
                second,
                lambda c, biz_id=mat.biz_id, number=number: c.verify_material(
                    models.VerifyMaterialRequest(
                        biz_id=biz_id,
                        biz_type=MIN_SCENE,
                        name=HOLDER,
                        id_card_number=number,
                        face_image_url=f"http://{self.fleet.images.authority}/obama2.jpg",
                    )
                ),
            )
            if body is not None:
                mat.status = int(body.verify_status)
                mat.face_url = body.material.face_image_url if body.material else None

    def device_caller(self, k: int, face: np.ndarray) -> None:
        fleet = self.fleet
        j = k
        while not self.stop.is_set():
            # Token replica, device replica: B/B, A/B, B/A, A/A, … (half the flows cross replicas); the
            # first flows (in flight when A is killed) have their device on B.
            tok, dev = (fleet.replica(n) for n in DEVICE_ROUTES[j % len(DEVICE_ROUTES)])
            j += 1
            call = self.begin(
                Call("device", dev.name, BIO_SCENE, f"dev-{k}-{j}", self.now(), token_replica=tok.name)
            )
            body = self.rpc(
                call,
                tok,
                lambda c, biz_id=call.biz_id: c.describe_verify_token(
                    models.DescribeVerifyTokenRequest(
                        biz_id=biz_id, biz_type=BIO_SCENE, name=HOLDER, id_card_number=HOLDER_ID
                    )
                ),
                last=False,
            )
            if body is None:
                continue
            with DeviceClient(dev.url, body.verify_token, retries=1, backoff_s=0.2, timeout=60) as client:
                verification = Verification(client, RenderedFace(face), ui=QuietUI(), decision_wait_s=5)
                outcome = verification.run()
            call.ended = self.now()
            if outcome.state in (1, 2):
                call.outcome, call.status = "accepted", outcome.code
            elif outcome.error is not None and outcome.error.status == 0:
                self.transport_failure(call, dev.name, outcome.message)
            else:
                call.outcome, call.failed_at, call.detail = "error", dev.name, outcome.message

    def guarded(self, fn: Callable[..., None], *args: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                self.stop.set()

        return run

    # ------------------------------------------------------------------ the run

    def run(self) -> None:
        fleet = self.fleet
        face = cv2.imread(str(photo(FACE)), cv2.IMREAD_COLOR)
        self.t0 = time.monotonic()
        threads = [
            threading.Thread(target=self.guarded(self.material_caller, k), name=f"material-{k}", daemon=True)
            for k in range(MATERIAL_THREADS)
        ]
        threads += [
            threading.Thread(
                target=self.guarded(self.device_caller, k, face), name=f"device-{k}", daemon=True
            )
            for k in range(DEVICE_THREADS)
        ]
        for t in threads:
            t.start()
        try:
            self.stop.wait(max(0.0, KILL_AT_S - self.now()))
            assert fleet.a.proc is not None
            # Kill while a VerifyMaterial is being decided on A (sent to it at least 50 ms ago), if one comes.
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not self.stop.is_set():
                with self.lock:
                    if any(
                        c.kind == "material"
                        and c.replica == "A"
                        and c.ended is None
                        and self.now() - c.started > 0.05
                        for c in self.calls
                    ):
                        break
                time.sleep(0.01)
            with self.lock:
                self.in_flight_at_kill = [
                    c for c in self.calls if c.ended is None and "A" in (c.replica, c.token_replica)
                ]
                self.kill_sent_at = self.now()
            assert fleet.a.proc.kill() == -9
            # Reaped: its sockets are closed. Until then the dying process's listener still completes
            # handshakes (then resets them): calls started before this count as in flight, not refused.
            self.killed_at = self.now()
            self.stop.wait(DOWN_S)
            self.restarted_at = self.now()
            fleet.a.start()
            fleet.a.wait_ready()
            assert fleet.a.proc is not None and fleet.a.proc.in_its_namespace()
            self.back_at = self.now()
            self.stop.wait(max(LOAD_MIN_S - self.now(), AFTER_BACK_S))
        finally:
            self.stop.set()
            for t in threads:
                t.join(180)
            self.ended_at = self.now()
        # Sent before A was reaped (in flight at the kill, or to the dying process): dropped; after it,
        # while nothing listened: refused.
        for c in self.calls:
            if c.outcome == "transport":
                dropped = self.killed_at is None or c.started < self.killed_at
                c.outcome = "dropped" if dropped else "refused"
        assert not any(t.is_alive() for t in threads), "a load thread hangs"
        if self.errors:
            raise self.errors[0]

    # ------------------------------------------------------------------ figures

    @staticmethod
    def route(call: Call) -> str:
        """Where it went: A or B; a device flow: token replica, then device replica (AB: token on A)."""
        return f"{call.token_replica}{call.replica}" if call.token_replica else call.replica

    def window(self, call: Call) -> str:
        assert self.killed_at is not None and self.back_at is not None
        if call.started < self.killed_at:
            return "before"
        return "A down" if call.started < self.back_at else "after"

    def summary(self) -> str:
        table = Counter((c.kind, self.route(c), c.outcome) for c in self.calls)
        windows = Counter((self.window(c), self.route(c), c.outcome) for c in self.calls)
        problems = Counter(
            (c.kind, c.failed_at, c.outcome, c.detail[:90])
            for c in self.calls
            if c.outcome not in ("accepted",)
        )
        lines = [
            f"load {self.ended_at:.1f} s: A SIGKILLed at {self.kill_sent_at:.2f} s, reaped at "
            f"{self.killed_at:.2f} s, restarted at "
            f"{self.restarted_at:.1f} s, ready at {self.back_at:.1f} s "
            f"(down {self.back_at - self.killed_at:.1f} s); "
            f"{len(self.in_flight_at_kill)} calls in flight at A when killed",
            "by kind: " + ", ".join(f"{k}/{r}/{o}={n}" for (k, r, o), n in sorted(table.items())),
            "by window: " + ", ".join(f"{w}/{r}/{o}={n}" for (w, r, o), n in sorted(windows.items())),
            "in flight at A when killed: "
            + ", ".join(
                f"{c.kind} {c.biz_id} → {c.outcome} at {c.ended:.1f} s" for c in self.in_flight_at_kill
            ),
            "verdicts: " + str(dict(Counter((c.kind, c.status) for c in self.calls if c.status is not None))),
            "not accepted: "
            + "; ".join(f"{k} at {r} {o} x{n}: {d}" for (k, r, o, d), n in problems.most_common(12)),
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- checks


def read_result(fleet: Fleet, replica: Replica, biz_type: str, biz_id: str) -> dict[str, Any]:
    """DescribeVerifyResult through the official SDK, waiting out the (shared) rate limit; an error answer
    as ``{"Code": …}``."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return (
                tea(replica, fleet.key)
                .describe_verify_result(models.DescribeVerifyResultRequest(biz_id=biz_id, biz_type=biz_type))
                .body.to_map()
            )
        except TeaException as exc:
            if exc.code != "Throttling.User":
                return {"Code": exc.code}
            if time.monotonic() > deadline:
                raise
            time.sleep(0.15)


def on_replica(url: str, replica: Replica) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=replica.endpoint))


def burst(fleet: Fleet) -> dict[str, Any]:
    """BURST_CALLS signed DescribeVerifyResult calls of tenant "limit", as fast as BURST_THREADS callers can,
    each alternating between A and B."""
    accepted: Counter[str] = Counter()
    throttled: Counter[str] = Counter()
    others: list[dict[str, Any]] = []
    times: list[tuple[float, float]] = []
    lock = threading.Lock()
    gate = threading.Barrier(BURST_THREADS)
    per_thread = BURST_CALLS // BURST_THREADS

    def caller(k: int) -> None:
        clients = {r.name: httpx.Client(base_url=r.url, timeout=30) for r in fleet.replicas}
        signed = [
            signed_v1(fleet.limit_key, "DescribeVerifyResult", BizId="nobody", BizType=LIMIT_SCENE)
            for _ in range(per_thread)
        ]
        try:
            gate.wait(30)
            for i, params in enumerate(signed):
                name = "AB"[(i + k) % 2]
                sent = time.monotonic()
                body = clients[name].post("/?" + urlencode(params)).json()
                with lock:
                    times.append((sent, time.monotonic()))
                    if body.get("Code") == "Throttling.User":
                        throttled[name] += 1
                    elif "Code" in body:
                        others.append(body)
                    else:
                        accepted[name] += 1
        finally:
            for client in clients.values():
                client.close()

    with ThreadPoolExecutor(BURST_THREADS) as pool:
        list(pool.map(caller, range(BURST_THREADS)))
    elapsed = max(e for _, e in times) - min(s for s, _ in times)
    return {
        "calls": len(times),
        "elapsed": elapsed,
        "accepted": dict(accepted),
        "throttled": dict(throttled),
        "others": others,
        "shared": 2 * QPS + QPS * elapsed,  # one bucket for both replicas; separate ones: twice that
    }


# ---------------------------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def namespaces() -> Iterator[None]:
    reason = unavailable()
    if reason:
        pytest.skip(f"network namespaces unavailable here: {reason}")
    yield


def test_fleet_on_three_hosts_survives_a_replica_killed_under_load(
    namespaces: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_started = time.monotonic()
    report: list[str] = []
    try:
        _fleet_test(tmp_path, report, test_started)
    finally:
        with capsys.disabled():
            print("\n" + "\n".join(report))


def _fleet_test(tmp_path: Path, report: list[str], test_started: float) -> None:
    processes: list[HostProcess] = []
    with ExitStack() as stack:
        fleet = build_fleet(stack, tmp_path)
        topology = fleet.topology
        report += [
            f"topology {topology.subnet}: bridge {topology.bridge} {topology.bridge_address}; "
            + ", ".join(f"{h.name} {h.netns} {h.address}" for h in topology.hosts.values())
            + f"; relays {[r.address for r in fleet.relays]}; S3 {fleet.s3.endpoint_url}; images "
            f"{fleet.images.authority}; receiver {fleet.receiver.authority}; setup {fleet.setup_s:.1f} s"
        ]
        assert fleet.a.proc is not None
        processes += [fleet.a.proc, fleet.worker]

        load = Load(fleet)
        try:
            load.run()
        finally:
            if fleet.a.proc is not None and fleet.a.proc not in processes:
                processes.append(fleet.a.proc)
            assert fleet.b.proc is not None
            processes.append(fleet.b.proc)
        report.append(load.summary())
        calls = load.calls
        assert load.killed_at is not None and load.back_at is not None
        accepted = [c for c in calls if c.outcome == "accepted"]
        verdicts = [c for c in accepted if c.kind in ("material", "device")]
        by_kind = Counter(c.kind for c in verdicts)
        assert by_kind["material"] >= 6 and by_kind["device"] >= 2, load.summary()

        # B served throughout; A refused while it was down, and served again once back.
        failed_at_b = [c for c in calls if c.failed_at == "B"]
        assert not failed_at_b, [(c.kind, c.outcome, c.detail) for c in failed_at_b]
        unexpected = [c for c in calls if c.outcome == "error"]
        assert not unexpected, [(c.kind, c.replica, c.detail) for c in unexpected]
        down = [c for c in calls if c.failed_at == "A" and load.window(c) == "A down"]
        assert down and all(c.outcome == "refused" for c in down), [(c.kind, c.detail) for c in down]
        assert all(c.connect_refused for c in down), [
            (c.kind, round(c.started - load.killed_at, 3), c.detail) for c in down if not c.connect_refused
        ]
        served_b_while_a_down = [c for c in accepted if load.window(c) == "A down" and c.replica == "B"]
        assert served_b_while_a_down
        after = [c for c in calls if load.window(c) == "after" and "A" in (c.replica, c.token_replica)]
        assert after and all(c.outcome == "accepted" for c in after), [
            (c.kind, c.outcome, c.detail) for c in after
        ]
        assert not [c for c in calls if c.failed_at == "A" and load.window(c) == "after"]

        # Every answered verdict (and a sample of the undecided tokens) reads the same from either replica.
        read_started = time.monotonic()
        tokens = [c for c in accepted if c.kind == "token"]
        answered = [c for c in calls if c.outcome == "dropped"] + verdicts
        answered += tokens[:: max(1, len(tokens) // TOKEN_READS)][:TOKEN_READS]
        reads: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}

        def read_both(c: Call) -> None:
            reads[(c.biz_type, c.biz_id)] = (
                read_result(fleet, fleet.a, c.biz_type, c.biz_id),
                read_result(fleet, fleet.b, c.biz_type, c.biz_id),
            )

        with ThreadPoolExecutor(3) as pool:
            list(pool.map(read_both, answered))
        mismatched = []
        for c in answered:
            on_a, on_b = reads[(c.biz_type, c.biz_id)]
            if on_a.get("VerifyStatus") != on_b.get("VerifyStatus"):
                mismatched.append((c.biz_id, on_a.get("VerifyStatus"), on_b.get("VerifyStatus")))
            elif c.status is not None and on_a.get("VerifyStatus") != c.status:
                mismatched.append((c.biz_id, c.status, on_a.get("VerifyStatus")))
        assert not mismatched, mismatched
        token_statuses = Counter(
            reads[(c.biz_type, c.biz_id)][0].get("VerifyStatus") for c in answered if c.kind == "token"
        )
        dropped = [
            (c.kind, c.biz_id, (r := reads[(c.biz_type, c.biz_id)][0]).get("VerifyStatus", r.get("Code")))
            for c in calls
            if c.outcome == "dropped"
        ]
        report.append(
            f"reads: {2 * len(answered)} DescribeVerifyResult in {time.monotonic() - read_started:.1f} s; "
            f"undecided tokens read {dict(token_statuses)}; dropped calls read {dropped}"
        )

        # Callbacks: each accepted verdict's, exactly once, signed with its scene's key, with its status.
        receiver = fleet.receiver
        cb_started = time.monotonic()

        def delivered(biz_id: str) -> list[Any]:
            return [h for h in receiver.for_biz(biz_id) if h.status is not None and 200 <= h.status < 300]

        receiver.wait_for(lambda: all(delivered(c.biz_id) for c in verdicts), timeout=90)
        waited = time.monotonic() - cb_started
        time.sleep(2.0)  # a second delivery of any of them would show by now
        for c in verdicts:
            # The receiver dedups by webhook-id: one message per verdict (a resend after a lost answer
            # would carry the same id and body, and is counted below).
            hits = receiver.for_biz(c.biz_id)
            assert len({h.webhook_id for h in hits}) == 1, (
                c.biz_id,
                [(h.webhook_id, h.status) for h in hits],
            )
            assert len({h.body for h in hits}) == 1 and delivered(c.biz_id), (
                c.biz_id,
                [h.status for h in hits],
            )
            hit = hits[0]
            assert hit.doc["VerifyStatus"] == c.status and hit.doc["BizType"] == c.biz_type, hit.doc
            assert signature_valid(fleet.callback_secrets[c.biz_type], hit)
        with receiver.cond:
            posts = [h for h in receiver.hits if h.method == "POST"]
        ours = {c.biz_id: c for c in calls}
        webhook_ids = Counter(h.webhook_id for h in posts if h.status is not None and 200 <= h.status < 300)
        resent = sum(n - 1 for n in webhook_ids.values())
        strangers = [h.doc.get("BizId") for h in posts if h.doc.get("BizId") not in ours]
        assert not strangers, strangers
        never_reached = [h.doc["BizId"] for h in posts if ours[h.doc["BizId"]].outcome == "refused"]
        assert not never_reached, never_reached
        for c in calls:
            if c.outcome == "dropped":
                assert len({h.webhook_id for h in receiver.for_biz(c.biz_id)}) <= 1
        report.append(
            f"callbacks: {len(posts)} POSTs, {len(webhook_ids)} webhook ids, all {len(verdicts)} accepted "
            f"verdicts delivered once after dedup, {resent} resent ({waited:.1f} s after the reads)"
        )

        # A face image decided on A (before the kill, and after the restart) served by B from A's link.
        on_a = [c for c in verdicts if c.kind == "material" and c.replica == "A" and c.face_url]
        picks = [c for c in on_a if load.window(c) == "before"][:2] + [
            c for c in on_a if load.window(c) == "after"
        ][:1]
        assert picks, "no material verdict on A with a face link"
        for c in picks:
            assert c.face_url and urlsplit(c.face_url).netloc == fleet.a.endpoint
            from_b = httpx.get(on_replica(c.face_url, fleet.b), timeout=30)
            from_a = httpx.get(c.face_url, timeout=30)  # the restarted A, for comparison
            assert from_b.status_code == 200 and from_b.headers["content-type"].startswith("image/jpeg")
            assert from_b.content[:2] == b"\xff\xd8" and from_b.content == from_a.content
            forged = on_replica(c.face_url, fleet.b).replace("&s=", "&s=0")
            assert httpx.get(forged, timeout=30).status_code == 403
        device_on_a = [c for c in verdicts if c.kind == "device" and c.replica == "A"]
        if device_on_a:
            link = reads[(device_on_a[0].biz_type, device_on_a[0].biz_id)][0]["Material"]["FaceImageUrl"]
            assert httpx.get(on_replica(link, fleet.b), timeout=30).status_code == 200
        report.append(
            f"media: {len(picks)} face links of A's verdicts served by B"
            + (", and a device verdict's" if device_on_a else "")
        )

        # The rate limit holds for both replicas together.
        limit = burst(fleet)
        report.append(
            f"burst: {limit['calls']} calls in {limit['elapsed']:.2f} s, accepted {limit['accepted']}, "
            f"throttled {limit['throttled']}, shared limit {limit['shared']:.1f}"
        )
        assert not limit["others"], limit["others"][:3]
        total = sum(limit["accepted"].values())
        assert limit["calls"] > 2 * limit["shared"], limit  # above what two separate buckets would allow
        assert limit["shared"] - 4 <= total <= limit["shared"] + 2, limit
        assert set(limit["accepted"]) == set(limit["throttled"]) == {"A", "B"}, limit
        pg, redis = fleet.relays
        report.append(
            f"relays carried {pg.accepted} PostgreSQL and {redis.accepted} Redis connections; "
            f"checks done at {time.monotonic() - test_started:.1f} s"
        )

    # Nothing of the run is left: namespaces, links, processes (in or out of them), relays, S3.
    left = topology.leftovers()
    assert left == [], left
    assert not [p.args for p in processes if p.alive()]
    assert not [r.address for r in fleet.relays if r.running]
    assert fleet.s3.proc is None
    report.append(f"total {time.monotonic() - test_started:.1f} s; leftovers none")
