"""The ASGI application: the signed API at ``/``, media links, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from shiren import __version__
from shiren.api.console.routes import make_console_router
from shiren.api.device import install_device_api
from shiren.api.h5 import router as h5_router
from shiren.api.landing import make_front_door
from shiren.api.media import make_media_endpoint
from shiren.api.rpc.endpoint import make_rpc_endpoint
from shiren.observability.health import make_readyz_endpoint
from shiren.observability.metrics import make_metrics_endpoint
from shiren.observability.request_id import RequestIdMiddleware
from shiren.runtime import Runtime
from shiren.settings import Settings, get_settings
from shiren.workers.callbacks import CallbackWorker
from shiren.workers.retention import RetentionWorker
from shiren.workers.service import purge_nonces_forever

log = logging.getLogger("shiren")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime.build(settings or get_settings())

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        purger = asyncio.create_task(purge_nonces_forever(runtime))
        workers: list[CallbackWorker | RetentionWorker] = []
        if runtime.settings.run_workers:  # else `shiren worker` processes run them (docs/deployment.md)
            # The durable outbox: every process sends its share; retention: safe in every process at once.
            workers = [CallbackWorker(runtime), RetentionWorker(runtime)]
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            purger.cancel()
            for worker in reversed(workers):
                await worker.stop()

    # No /docs: Swagger UI loads its script from a CDN, and shiren serves nothing from third parties.
    app = FastAPI(title="shiren", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    rpc = make_rpc_endpoint(runtime)
    app.add_route("/", make_front_door(runtime, rpc), methods=["GET", "POST"], include_in_schema=False)
    app.add_route("/media/{blob_id}", make_media_endpoint(runtime), methods=["GET"], include_in_schema=False)
    install_device_api(app, runtime)
    app.include_router(h5_router)
    app.include_router(make_console_router(runtime))
    if runtime.settings.demo:
        from shiren.demo import make_demo_router

        app.include_router(make_demo_router(runtime))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_route("/readyz", make_readyz_endpoint(runtime), methods=["GET"], include_in_schema=False)
    app.add_route("/metrics", make_metrics_endpoint(runtime), methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, so every log line has the id

    return app
