"""The console's management and audit pages: scenes, access keys, console users, the audit trail."""

from __future__ import annotations

from fastapi import APIRouter

from shiren.api.console.web import Guard
from shiren.runtime import Runtime


def add_manage_routes(router: APIRouter, runtime: Runtime, guard: Guard) -> None:
    """Adds the management pages to the console's router (they need MANAGE or AUDIT)."""
