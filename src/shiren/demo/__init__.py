"""A tiny integrator app at ``/demo`` (``SHIREN_DEMO=true``): the three integration modes, end to end.

It plays the integrator: its own tenant and AccessKey, its server side calling shiren's signed API over
HTTP, its pages following the same strict CSP as the hosted page. Not for production use.
"""

from __future__ import annotations

from fastapi import APIRouter

from shiren.runtime import Runtime


def make_demo_router(runtime: Runtime) -> APIRouter:
    """Provision the demo account (idempotent) and return the ``/demo`` routes."""
    from shiren.demo.client import CloudauthClient
    from shiren.demo.provision import provision
    from shiren.demo.routes import make_demo_router as routes
    from shiren.demo.service import DemoService

    account = provision(runtime)
    settings = runtime.settings
    client = CloudauthClient(settings.base_url, account.access_key_id, account.access_key_secret)
    return routes(DemoService(client, settings.base_url, settings.fetch_allowed))


__all__ = ["make_demo_router"]
