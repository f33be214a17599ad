"""The same server on PostgreSQL, chosen by configuration alone (SHIREN_DATABASE_URL)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from Tea.exceptions import TeaException

from tests.sdk import models, tea
from tests.support import ShirenServer


def test_two_replicas_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    # Replicas share the database and the master key; each has its own local data dir.
    env = {"SHIREN_DATABASE_URL": pg_url, "SHIREN_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    first, second = ShirenServer(tmp_path / "a", env=env), ShirenServer(tmp_path / "b", env=env)
    first.start()
    second.start()
    try:
        key = first.new_tenant("pg", [("PgScene", "RPBioOnly")])
        token = (
            tea(first, key)
            .describe_verify_token(
                models.DescribeVerifyTokenRequest(
                    biz_id="pg-1", biz_type="PgScene", name="张三", id_card_number="11010519491231002X"
                )
            )
            .body.verify_token
        )
        assert len(token) == 32
        res = tea(second, key, "v2").describe_verify_result(
            models.DescribeVerifyResultRequest(biz_id="pg-1", biz_type="PgScene")
        )
        assert res.body.verify_status == -1
        with pytest.raises(TeaException) as err:
            tea(second, key).describe_verify_result(
                models.DescribeVerifyResultRequest(biz_id="x", biz_type="Nope")
            )
        assert err.value.code == "InvalidParameter"
    finally:
        first.stop()
        second.stop()


def test_replicas_starting_together_migrate_one_at_a_time(pg_url: str) -> None:
    """Several processes starting at once on a new database: each applies the migrations under one
    advisory lock, so none fails on a table another one just created."""
    import threading

    from sqlalchemy import create_engine, inspect

    from shiren.storage import migrate

    errors: list[str] = []

    def start() -> None:
        engine = create_engine(pg_url)
        try:
            migrate.upgrade(engine)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(repr(exc))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = create_engine(pg_url)
    try:
        assert "attempts" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_roster_with_photos_imports_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The face template's model id is long (name, weight hashes, runtime): PostgreSQL enforces column
    widths that SQLite ignores."""
    import csv

    import cv2

    from tests.fixtures.photos import photo

    cv2.imwrite(str(tmp_path / "p.jpg"), cv2.imread(str(photo("obama.jpg"))))
    with open(tmp_path / "r.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["name", "id_number", "photo"], ["王建国", "11010519491231002X", "p.jpg"]])
    env = {"SHIREN_DATABASE_URL": pg_url, "SHIREN_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    report = ShirenServer(tmp_path / "data", env=env).cli_json(
        "registry", "import", str(tmp_path / "r.csv"), "--tenant", "pg"
    )
    assert report["Imported"] == 1 and report["UnusablePhotos"] == []
