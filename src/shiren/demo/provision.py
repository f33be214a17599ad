"""The demo's own integrator account, created on first start and reused afterwards (idempotent).

A tenant ``demo`` with one AccessKey and three scenes, one per integration mode. The H5 scene allows
redirects back to shiren's own origin, where the demo's pages live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from shiren.domain.redirects import normalise_origin
from shiren.runtime import Runtime
from shiren.storage.repo import scenes as scene_repo
from shiren.storage.repo import tenants as tenant_repo

log = logging.getLogger("shiren.demo")

TENANT = "demo"
H5_SCENE = "DemoH5"
MIN_SCENE = "DemoMin"
SDK_SCENE = "DemoBasic"
SCENES = (
    (H5_SCENE, "RPH5BioOnly", "Demo: hosted H5 page"),
    (MIN_SCENE, "RPMin", "Demo: server only"),
    (SDK_SCENE, "RPBasic", "Demo: JavaScript SDK"),
)


@dataclass(frozen=True)
class DemoAccount:
    access_key_id: str
    access_key_secret: str
    origin: str  # shiren's own origin, allowed as a redirect target


def _provision_once(runtime: Runtime) -> DemoAccount:
    origin = normalise_origin(runtime.settings.base_url)
    with runtime.sessions() as session, session.begin():
        tenant = tenant_repo.get_or_create_tenant(session, TENANT)
        key = None
        for row in tenant_repo.list_access_keys(session, TENANT):
            if row["Enabled"]:
                key = tenant_repo.load_access_key(session, runtime.crypto, str(row["AccessKeyId"]))
                break
        if key is None:
            key = tenant_repo.create_access_key(session, runtime.crypto, TENANT)
            log.info("demo: created AccessKey %s for tenant %s", key.access_key_id, TENANT)
        for biz_type, scheme, name in SCENES:
            scene = scene_repo.get_scene(session, tenant.id, biz_type)
            if scene is None:
                scene_repo.create_scene(
                    session,
                    runtime.crypto,
                    tenant.id,
                    biz_type,
                    scheme,
                    name=name,
                    authority="none",
                    redirect_origins=[origin],
                    retention_days=runtime.settings.default_retention_days,
                )
                log.info("demo: created scene %s (%s)", biz_type, scheme)
            elif origin not in scene.redirect_origins:
                scene_repo.update_scene(session, scene, redirect_origins=[*scene.redirect_origins, origin])
        return DemoAccount(key.access_key_id, key.secret, origin)


def provision(runtime: Runtime) -> DemoAccount:
    """Create what is missing; a second process starting at the same moment just reads what the first made."""
    try:
        return _provision_once(runtime)
    except IntegrityError:
        return _provision_once(runtime)
