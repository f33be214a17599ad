"""``/metrics`` of a real server after real calls, and the recording functions in process."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shiren.domain.decision import DEFAULT_THRESHOLDS
from shiren.domain.schemes import SCHEMES
from shiren.observability.metrics import PROCESS_METRICS, observe_verdict, rpc_code
from shiren.observability.outbox import OutboxCollector
from shiren.runtime import Runtime
from shiren.services.decision.evaluation import Outcome
from shiren.services.decision.inputs import DecisionInputs
from shiren.services.decision.recording import NewAttempt, record
from shiren.services.workload import CPU_SLOTS
from shiren.settings import Settings
from shiren.storage.models import CallbackOutbox, utcnow
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.services.fakes import fake_models
from tests.support import ShirenServer, signed_v1

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(server: ShirenServer) -> Samples:
    resp = httpx.get(server.url + "/metrics", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    return parse(resp.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def in_process() -> Samples:
    registry = CollectorRegistry()
    for metric in PROCESS_METRICS:
        registry.register(metric)
    return parse(generate_latest(registry).decode())


def post(server: ShirenServer, params: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + "/?" + urlencode(params), timeout=30)


@pytest.fixture(scope="module")
def key(server: ShirenServer) -> dict[str, str]:
    return server.new_tenant("obs-metrics", [("FDTest", "FDBioOnly")])


def test_rpc_calls_are_counted_by_action_and_code(server: ShirenServer, key: dict[str, str]) -> None:
    before = scrape(server)
    params = signed_v1(key, "DescribeVerifyResult", BizId="obs-1", BizType="FDTest")
    assert post(server, params).status_code == 200
    replayed = post(server, params)
    assert replayed.status_code == 400 and replayed.json()["Code"] == "SignatureNonceUsed"
    unknown = httpx.post(server.url + "/", headers={"x-acs-action": "Anything-At-All"}, timeout=30)
    assert unknown.status_code == 404 and unknown.json()["Code"] == "InvalidAction.NotFound"
    after = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    action = "DescribeVerifyResult"
    assert delta("shiren_rpc_requests_total", action=action, code="OK") == 1
    assert delta("shiren_rpc_requests_total", action=action, code="SignatureNonceUsed") == 1
    # An action the API does not have is counted under "-", never under the caller's text.
    assert delta("shiren_rpc_requests_total", action="-", code="InvalidAction.NotFound") == 1
    assert not any("Anything-At-All" in str(labels) for _, labels in after)
    assert delta("shiren_rpc_request_seconds_count", action=action) == 2
    assert delta("shiren_rpc_request_seconds_bucket", action=action, le="60.0") == 2
    assert delta("shiren_rpc_request_seconds_bucket", action=action, le="+Inf") == 2
    assert delta("shiren_rpc_request_seconds_sum", action=action) > 0
    assert ("shiren_cpu_slots_waiting", frozenset()) in after


def test_device_requests_are_counted_by_route_template(server: ShirenServer) -> None:
    before = scrape(server)
    resp = httpx.put(server.url + "/device/v1/uploads/video", content=b"x", timeout=30)
    assert resp.status_code == 401  # no VerifyToken
    after = scrape(server)
    route = "/device/v1/uploads/{kind}"
    assert (
        value(after, "shiren_device_requests_total", route=route, status="401")
        - value(before, "shiren_device_requests_total", route=route, status="401")
        == 1
    )


def pending_row(tenant_id: int, age: timedelta) -> CallbackOutbox:
    now = utcnow()
    return CallbackOutbox(
        webhook_id=f"msg_obs_{time.time_ns()}",
        tenant_id=tenant_id,
        url="http://127.0.0.1:9/never",
        body="{}",
        state="pending",
        created_at=now - age,
        next_at=now + timedelta(days=1),  # the server's sender leaves it alone meanwhile
    )


def test_outbox_gauges(server: ShirenServer, key: dict[str, str]) -> None:
    db = Runtime.build(Settings(data_dir=server.data_dir))
    try:
        with db.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, "obs-metrics")
            row = pending_row(tenant.id, timedelta(hours=2))
            session.add(row)
        try:
            samples = scrape(server)
            assert value(samples, "shiren_outbox_pending") >= 1
            assert value(samples, "shiren_outbox_oldest_pending_seconds") >= 2 * 3600
        finally:
            with db.sessions() as session, session.begin():
                session.delete(session.get(CallbackOutbox, row.id))
        assert value(scrape(server), "shiren_outbox_oldest_pending_seconds") < 2 * 3600
    finally:
        db.close()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    master_key = base64.b64encode(bytes(range(32))).decode()
    rt = Runtime.build(Settings(data_dir=tmp_path, master_key=master_key), models=fake_models())
    yield rt
    rt.close()


def test_outbox_backlog_is_capped_and_its_oldest_is_the_first_queued(runtime: Runtime) -> None:
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "obs-outbox")
        for hours in (3, 2, 1):
            session.add(pending_row(tenant.id, timedelta(hours=hours)))
            session.flush()
        delivered = pending_row(tenant.id, timedelta(hours=9))
        delivered.state = "delivered"
        session.add(delivered)
    pending, oldest = [f.samples[0] for f in OutboxCollector(runtime.sessions, cap=2).collect()]
    assert pending.value == 2  # capped
    assert 3 * 3600 <= oldest.value < 3 * 3600 + 60  # the delivered one is not waiting


def test_a_recorded_verdict_counts_and_times_its_stages(runtime: Runtime) -> None:
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "obs-verdicts")
        scene = create_scene(session, runtime.crypto, tenant.id, "RPMinObs", "RPMin")
    inputs = DecisionInputs(
        scheme=SCHEMES["RPMin"], tenant_id=tenant.id, authority="none", thresholds=dict(DEFAULT_THRESHOLDS)
    )
    outcome = Outcome(2, [], "n", "x", None, None, None, {})
    outcome.timings_ms = {"face": 12.0, "card": 250.0, "identity": 0.4, "Not A Stage!": 1.0}
    before = in_process()
    record(runtime, scene, inputs, outcome, NewAttempt("obs-biz-1"))
    after = in_process()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("shiren_verdicts_total", status="2", scheme="RPMin") == 1
    assert delta("shiren_stage_seconds_count", stage="card") == 1
    assert delta("shiren_stage_seconds_bucket", stage="card", le="0.25") == 1
    assert delta("shiren_stage_seconds_bucket", stage="card", le="0.1") == 0
    assert delta("shiren_stage_seconds_sum", stage="face") == pytest.approx(0.012)
    assert not any("Not A Stage" in str(labels) for _, labels in after)


def test_observe_functions_never_raise() -> None:
    observe_verdict(1, "RPMin", {"face": "not a number"})  # type: ignore[dict-item]
    assert rpc_code(200, None, {"Code": "401"}) == "401"  # the face-verify family's business code
    assert rpc_code(500) == "InternalError" and rpc_code(200, None, {"RequestId": "x"}) == "OK"


def test_waiting_for_a_cpu_slot_is_a_gauge() -> None:
    held = [CPU_SLOTS.acquire(timeout=10) for _ in range(2)]
    assert all(held)
    waiter = threading.Thread(target=lambda: CPU_SLOTS.__enter__() and CPU_SLOTS.release())
    try:
        waiter.start()
        deadline = time.monotonic() + 10
        while value(in_process(), "shiren_cpu_slots_waiting") != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert value(in_process(), "shiren_cpu_slots_waiting") == 1
    finally:
        CPU_SLOTS.release()
        CPU_SLOTS.release()
        waiter.join(10)
    assert value(in_process(), "shiren_cpu_slots_waiting") == 0
