"""The ASGI application: the signed API at ``/``, media links, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from shiren import __version__
from shiren.api.device import install_device_api
from shiren.api.h5 import router as h5_router
from shiren.api.media import make_media_endpoint
from shiren.api.rpc.endpoint import make_rpc_endpoint
from shiren.runtime import Runtime
from shiren.settings import Settings, get_settings
from shiren.storage.repo.nonces import purge_nonces
from shiren.workers.callbacks import CallbackWorker
from shiren.workers.retention import RetentionWorker

log = logging.getLogger("shiren")


async def _purge_nonces_forever(runtime: Runtime) -> None:
    window = timedelta(seconds=2 * runtime.settings.timestamp_window_s)
    while True:
        try:
            await run_in_threadpool(purge_nonces, runtime.sessions, window)
        except Exception:
            log.exception("nonce purge failed")
        await asyncio.sleep(300)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime.build(settings or get_settings())

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        purger = asyncio.create_task(_purge_nonces_forever(runtime))
        callbacks = CallbackWorker(runtime)  # durable outbox: every server process sends its share
        callbacks.start()
        retention = RetentionWorker(runtime)  # erases what is due; safe in every process at once
        retention.start()
        try:
            yield
        finally:
            purger.cancel()
            await retention.stop()
            await callbacks.stop()

    app = FastAPI(title="shiren", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.runtime = runtime
    rpc = make_rpc_endpoint(runtime)
    app.add_route("/", rpc, methods=["GET", "POST"], include_in_schema=False)
    app.add_route("/media/{blob_id}", make_media_endpoint(runtime), methods=["GET"], include_in_schema=False)
    install_device_api(app, runtime)
    app.include_router(h5_router)
    if runtime.settings.demo:
        from shiren.demo import make_demo_router

        app.include_router(make_demo_router(runtime))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
