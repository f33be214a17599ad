"""Fixtures of the in-process service tests: a real runtime on fake models, and no real model ever."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import shiren.engine.models as engine_models
from shiren.runtime import Runtime
from tests.services.fakes import fake_runtime


@pytest.fixture(autouse=True)
def no_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model the fakes do not cover would load real weights: make that fail loudly instead."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a real model was loaded")

    for factory in ("make_detector", "make_embedder", "make_landmarker", "make_text_recognizer"):
        monkeypatch.setattr(engine_models, factory, refuse)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = fake_runtime(tmp_path / "data")
    yield rt
    rt.close()
