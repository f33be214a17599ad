"""Callback delivery: delay from a committed verdict to the receiver, and recovery after kill -9.

A real server (default callback settings unless overridden) sends to a local receiver in this process.

1. In-process wake: a few real official-SDK VerifyMaterial completions; delay = receiver arrival minus the
   body's Timestamp (taken inside the verdict's transaction, just before its commit).
2. Burst: 200 completions recorded by *this* process into the server's database through the real service
   functions (``start_attempt`` + verdict + ``enqueue_callback`` in one transaction each, as VerifyMaterial
   does) — VerifyMaterial itself costs ~1 s of CPU each. The server finds these rows by polling
   (``callback_poll_s``), as a replica does for rows queued by another replica. Delay = arrival minus
   commit.
3. Recovery: another 200, the server killed with SIGKILL mid-burst and restarted; recovery = restart (new
   process launched) → every remaining callback received. Rows leased at the kill wait for their lease
   (``callback_timeout_s`` + 5 s). Checks that none is lost and counts duplicates (a try in flight at the
   kill may have reached the receiver without its outcome being saved: at-least-once, deduplicated by
   ``webhook-id``).

    .venv/bin/python bench/callbacks.py [--burst 200] [--poll-s 0.5]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import collections
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from _common import summary_ms, write_results
from shiren.runtime import Runtime
from shiren.services.callbacks import enqueue_callback
from shiren.settings import Settings
from shiren.storage.models import CallbackDelivery, CallbackOutbox, utcnow
from shiren.storage.repo.scenes import get_scene
from shiren.storage.repo.tasks import start_attempt
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.fixtures.photos import photo
from tests.peers import ImageHost
from tests.sdk import models, tea
from tests.support import ShirenServer
from tests.workers.test_callbacks import Receiver, successes

TENANT = "bench"
ID_NUMBER = "11010519491231002X"


def complete(runtime: Runtime, biz_ids: list[str]) -> dict[str, float]:
    """Record one decided attempt + its callback per BizId, one transaction each; webhook id → commit time."""
    committed: dict[str, float] = {}
    for biz_id in biz_ids:
        with runtime.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, TENANT)
            scene = get_scene(session, tenant.id, "Hooks")
            assert scene is not None
            attempt = start_attempt(
                session, runtime.crypto, scene, biz_id, ttl=timedelta(0), name="王建国", id_number=ID_NUMBER
            )
            attempt.state, attempt.verify_status, attempt.decided_at = "decided", 1, utcnow()
            row = enqueue_callback(session, scene, attempt)
            assert row is not None
        committed[row.webhook_id] = time.time()
    return committed


def wait_all(receiver: Receiver, ids: set[str], timeout: float) -> float:
    """Wait until every webhook id in ``ids`` got a 2xx; returns the time.time() it happened."""
    receiver.wait_for(lambda: ids <= {h.webhook_id for h in successes(receiver.hits)}, timeout)
    return time.time()


def wait_states(runtime: Runtime, ids: set[str], timeout: float = 60) -> float:
    """Wait until no row of ``ids`` is pending any more; returns the time.time() it happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(CallbackOutbox)
                .where(CallbackOutbox.webhook_id.in_(ids), CallbackOutbox.state == "pending")
            )
        if not pending:
            return time.time()
        time.sleep(0.05)
    raise TimeoutError("callbacks still pending")


def arrivals(receiver: Receiver, ids: set[str]) -> dict[str, float]:
    first: dict[str, float] = {}
    for h in successes(receiver.hits):
        if h.webhook_id in ids:
            first.setdefault(h.webhook_id, h.at)
    return first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--wake-runs", type=int, default=5)
    ap.add_argument("--poll-s", type=float, default=None, help="SHIREN_CALLBACK_POLL_S (default: settings)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shiren-cb-"))
    receiver, host = Receiver(), ImageHost()
    face = host.put("face.jpg", photo("obama2.jpg").read_bytes())
    env = {"SHIREN_FETCH_ALLOW_HOSTS": f"{receiver.authority},{host.authority}"}
    if args.poll_s is not None:
        env["SHIREN_CALLBACK_POLL_S"] = str(args.poll_s)
    server = ShirenServer(tmp / "data", env=env)
    server.start()
    settings = Settings(data_dir=server.data_dir)
    runtime = Runtime.build(settings)
    try:
        key = server.new_tenant(TENANT)
        server.cli_json(
            "scene", "create", "Hooks", "--scheme", "RPMin", "--tenant", TENANT,
            "--authority", "registry", "--callback-url", receiver.url(),
        )  # fmt: skip

        # 1. real VerifyMaterial completions: the worker is woken in-process
        client = tea(server, key)
        wake: list[float] = []
        for i in range(args.wake_runs + 1):
            client.verify_material(
                models.VerifyMaterialRequest(
                    biz_id=f"vm-{i}", biz_type="Hooks", name="王建国", id_card_number=ID_NUMBER,
                    face_image_url=face,
                )
            )  # fmt: skip
            receiver.wait_for(lambda i=i: any(h.doc["BizId"] == f"vm-{i}" for h in successes(receiver.hits)))
            hit = next(h for h in successes(receiver.hits) if h.doc["BizId"] == f"vm-{i}")
            if i:  # the first call loads the models
                wake.append(hit.at - hit.doc["Timestamp"] / 1000)

        # 2. a burst of completions committed by another process: found by polling
        t0 = time.time()
        committed = complete(runtime, [f"burst-{i}" for i in range(args.burst)])
        insert_s = time.time() - t0
        done = wait_all(receiver, set(committed), timeout=120)
        got = arrivals(receiver, set(committed))
        burst_delays = [got[w] - committed[w] for w in committed]
        throughput = len(committed) / (done - t0)

        # 3. kill -9 mid-burst (completions keep coming while the server is down), restart, wait for the rest
        crash_ids = [f"crash-{i}" for i in range(args.burst)]
        proc = server.proc
        assert proc is not None
        killed_at: list[float] = []

        def kill_at_a_quarter() -> None:
            receiver.wait_for(
                lambda: sum(h.doc["BizId"].startswith("crash-") for h in receiver.hits) >= args.burst // 4, 60
            )
            proc.kill()
            killed_at.append(time.time())
            proc.wait()

        killer = threading.Thread(target=kill_at_a_quarter)
        killer.start()
        committed2 = complete(runtime, crash_ids)
        ids2 = set(committed2)
        killer.join()
        committed_after_kill = sum(1 for t in committed2.values() if t > killed_at[0])
        received_before = len({h.webhook_id for h in successes(receiver.hits)} & ids2)
        with runtime.sessions() as session:
            leased = session.scalar(
                select(func.count())
                .select_from(CallbackOutbox)
                .where(CallbackOutbox.state == "pending", CallbackOutbox.lease_until.is_not(None))
            )
        restart_at = time.time()
        ready_s = server.start()
        wait_all(receiver, ids2, timeout=120)
        all_done = wait_states(runtime, ids2)  # a leased row may have reached the receiver already
        per_id = collections.Counter(h.webhook_id for h in successes(receiver.hits) if h.webhook_id in ids2)
        lost = len(ids2 - set(per_id))
        duplicated = sum(1 for n in per_id.values() if n > 1)
        with runtime.sessions() as session:
            states = dict(
                session.execute(
                    select(CallbackOutbox.state, func.count())
                    .where(CallbackOutbox.webhook_id.in_(ids2))
                    .group_by(CallbackOutbox.state)
                ).all()
            )
            tries = session.scalar(
                select(func.count())
                .select_from(CallbackDelivery)
                .join(CallbackOutbox, CallbackOutbox.id == CallbackDelivery.outbox_id)
                .where(CallbackOutbox.webhook_id.in_(ids2))
            )
        # Nothing is sent again once delivered: wait a few poll periods and count again.
        time.sleep(3 * settings.callback_poll_s + 1)
        later = collections.Counter(h.webhook_id for h in successes(receiver.hits) if h.webhook_id in ids2)
    finally:
        server.stop()
        runtime.close()
        receiver.close()
        host.close()

    wake_s, burst_s = summary_ms(wake), summary_ms(burst_delays)
    recovery_s = all_done - restart_at
    poll = float(env.get("SHIREN_CALLBACK_POLL_S", settings.callback_poll_s))
    timeout = settings.callback_timeout_s
    print(f"settings: poll {poll} s, timeout {timeout} s, lease {timeout + 5} s")
    print(
        f"in-process wake (VerifyMaterial)   p50 {wake_s['p50_ms']:8.1f} ms   p99 {wake_s['p99_ms']:8.1f} ms"
    )
    print(
        f"burst of {len(committed)} (other process)   p50 {burst_s['p50_ms']:8.1f} ms   "
        f"p99 {burst_s['p99_ms']:8.1f} ms   ({throughput:.0f}/s incl. {insert_s:.2f} s of inserts)"
    )
    print(
        f"kill -9 after {received_before}/{len(ids2)} delivered ({leased} leased at the kill, "
        f"{committed_after_kill} committed after it); "
        f"server ready in {ready_s:.2f} s; all delivered {recovery_s:.2f} s after the restart"
    )
    print(f"lost {lost}, delivered twice {duplicated}, states {states}, delivery rows {tries}")
    assert lost == 0 and later == per_id and states == {"delivered": len(ids2)}
    write_results(
        "callbacks",
        {
            "settings": {
                "callback_poll_s": poll,
                "callback_timeout_s": settings.callback_timeout_s,
                "lease_s": settings.callback_timeout_s + 5,
            },
            "completions_source": {
                "wake": "official SDK VerifyMaterial (server process)",
                "burst": "start_attempt + verdict + enqueue_callback from the bench process",
            },
            "wake_delay": wake_s,
            "burst": {
                "n": len(committed),
                "delay": burst_s,
                "throughput_per_s": round(throughput, 1),
                "insert_s": round(insert_s, 2),
            },
            "kill9": {
                "n": len(ids2),
                "delivered_before_kill": received_before,
                "committed_after_kill": committed_after_kill,
                "leased_at_kill": leased,
                "server_ready_s": round(ready_s, 2),
                "recovery_s": round(recovery_s, 2),
                "down_s": round(restart_at - killed_at[0], 3),
                "lost": lost,
                "delivered_twice": duplicated,
                "delivery_rows": tries,
            },
        },
    )


if __name__ == "__main__":
    main()
