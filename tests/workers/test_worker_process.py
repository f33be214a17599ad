"""``shiren worker``: the callback sender in processes of its own, apart from an API server that runs none
(``SHIREN_RUN_WORKERS=false``). Two workers side by side deliver each callback once; stopped with SIGTERM,
they exit cleanly and what they had not sent waits in the outbox for the next one."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.photos import photo
from tests.peers import ImageHost, Receiver
from tests.sdk import models, tea
from tests.support import ShirenServer

pytestmark = pytest.mark.timeout(120)
ENV = {"SHIREN_CALLBACK_POLL_S": "0.2", "SHIREN_CALLBACK_BACKOFF_BASE_S": "0.3"}


class Worker:
    """One ``shiren worker`` process on the server's data directory."""

    def __init__(self, server: ShirenServer, name: str) -> None:
        self.log_path: Path = server.data_dir / f"worker-{name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shiren.cli", "worker"],
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(20)


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ShirenServer, dict, Receiver, ImageHost]]:
    receiver, host = Receiver(), ImageHost()
    host.put("face.jpg", photo("obama2.jpg").read_bytes())
    srv = ShirenServer(
        tmp_path_factory.mktemp("worker"),
        env={
            **ENV,
            "SHIREN_RUN_WORKERS": "false",
            "SHIREN_FETCH_ALLOW_HOSTS": f"{host.authority},{receiver.authority}",
        },
    )
    srv.start()
    key = srv.new_tenant("w")
    srv.cli_json(
        "scene", "create", "WMin", "--scheme", "RPMin", "--tenant", "w", "--authority", "registry",
        "--callback-url", receiver.url(),
    )  # fmt: skip
    yield srv, key, receiver, host
    srv.stop()
    receiver.close()
    host.close()


def verify(srv: ShirenServer, key: dict, host: ImageHost, biz_id: str) -> None:
    tea(srv, key).verify_material(
        models.VerifyMaterialRequest(
            biz_id=biz_id,
            biz_type="WMin",
            name="王建国",
            id_card_number="11010519491231002X",
            face_image_url=f"http://{host.authority}/face.jpg",
        )
    )


def test_callbacks_wait_for_a_worker_and_two_workers_deliver_each_once(setup) -> None:  # noqa: ANN001
    srv, key, receiver, host = setup
    for i in range(4):
        verify(srv, key, host, f"w-{i}")
    time.sleep(2)
    assert receiver.hits == []  # the API server sends nothing itself
    workers = [Worker(srv, "a"), Worker(srv, "b")]
    try:
        receiver.wait_for(lambda: len({h.doc["BizId"] for h in receiver.hits}) == 4, timeout=40)
        time.sleep(1)  # a second delivery of any of them would show now
        assert sorted(h.doc["BizId"] for h in receiver.hits) == [f"w-{i}" for i in range(4)]
    finally:
        codes = [w.stop() for w in workers]
    assert codes == [0, 0]
    assert "shiren worker stopped" in workers[0].log_path.read_text()
    verify(srv, key, host, "w-later")  # no worker runs: it waits in the outbox
    time.sleep(1.5)
    assert "w-later" not in {h.doc["BizId"] for h in receiver.hits}
    third = Worker(srv, "c")
    try:
        receiver.wait_for(lambda: "w-later" in {h.doc["BizId"] for h in receiver.hits}, timeout=40)
    finally:
        assert third.stop() == 0
