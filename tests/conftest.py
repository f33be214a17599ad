from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support import ShirenServer

ALL_SCENES = [
    ("RPBasicTest", "RPBasic"),
    ("RPManualTest", "RPManual"),
    ("RPBioIDTest", "RPBioID"),
    ("RPBioOnlyTest", "RPBioOnly"),
    ("RPBioOnlyProTest", "RPBioOnlyPro"),
    ("RPH5Test", "RPH5BioOnly"),
    ("RPMinTest", "RPMin"),
    ("FVTest", "FVBioOnly"),
    ("FDTest", "FDBioOnly"),
]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShirenServer]:
    """One real server for the session; tests create their own tenants on it."""
    srv = ShirenServer(tmp_path_factory.mktemp("shiren-data"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def tenant_a(server: ShirenServer) -> dict[str, str]:
    return server.new_tenant("tenant-a", ALL_SCENES, redirect_origin="https://app.example.com")


@pytest.fixture(scope="session")
def tenant_b(server: ShirenServer) -> dict[str, str]:
    return server.new_tenant("tenant-b", [("RPBasicTest", "RPBasic")])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (the machine's local server), dropped afterwards."""
    name = f"shiren_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
