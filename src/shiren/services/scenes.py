"""Scenes of the caller: find one, create, list and change them (CreateVerifySetting and its siblings).

Another tenant's scene is simply not found. Storage's ``SceneError`` names the setting at fault; it leaves
here as ``Invalid`` on that field.
"""

from __future__ import annotations

from shiren.runtime import Runtime
from shiren.services.errors import Disabled, Invalid, NotFound
from shiren.storage.models import Scene
from shiren.storage.repo.scenes import (
    SceneError,
    create_scene,
    get_scene,
    get_scene_by_id,
    list_scenes,
    update_scene,
)

DEFAULT_STEPS = {"guide": True, "privacy": True, "result": True}


class SceneExists(Invalid):
    """A scene of that BizType exists already; changing it is another call, not a second create."""

    def __init__(self, biz_type: str) -> None:
        super().__init__("BizType", f"scene {biz_type!r} already exists.")
        self.biz_type = biz_type


def _usable(scene: Scene | None, name: str, field: str) -> Scene:
    """The scene if it exists and is enabled (``name``: how the caller named it)."""
    if scene is None:
        named = f"named {name}" if field == "BizType" else name
        raise NotFound(f"no scene {named} in this account.", field=field)
    if not scene.enabled:
        raise Disabled(f"scene {name} is disabled.")
    return scene


def load_scene(runtime: Runtime, tenant_id: int, biz_type: str) -> Scene:
    """The caller's own enabled scene named ``biz_type``."""
    with runtime.sessions() as session:
        scene = get_scene(session, tenant_id, biz_type)
    return _usable(scene, repr(biz_type), "BizType")


def load_scene_by_id(runtime: Runtime, tenant_id: int, scene_id: int) -> Scene:
    """The caller's own enabled scene of numeric ``scene_id`` (the face-verify family)."""
    with runtime.sessions() as session:
        scene = get_scene_by_id(session, tenant_id, scene_id)
    return _usable(scene, str(scene_id), "SceneId")


def create_setting(
    runtime: Runtime,
    tenant_id: int,
    biz_type: str,
    scheme: str,
    *,
    name: str | None = None,
    steps: dict[str, bool] | None = None,
) -> Scene:
    """A new scene; the steps not given are shown, retention is the operator's default."""
    try:
        with runtime.sessions() as session, session.begin():
            # Checked here (create_scene checks too) for the message that points at UpdateVerifySetting.
            if get_scene(session, tenant_id, biz_type) is not None:
                raise SceneExists(biz_type)
            return create_scene(
                session,
                runtime.crypto,
                tenant_id,
                biz_type,
                scheme,
                name=name or biz_type,
                steps={**DEFAULT_STEPS, **(steps or {})},
                retention_days=runtime.settings.default_retention_days,
            )
    except SceneError as exc:
        raise Invalid(exc.field, str(exc)) from None


def list_settings(runtime: Runtime, tenant_id: int) -> list[Scene]:
    """Every scene of the caller, disabled ones included, oldest first."""
    with runtime.sessions() as session:
        return list_scenes(session, tenant_id)


def update_setting(
    runtime: Runtime,
    scene: Scene,
    *,
    scheme: str | None = None,
    name: str | None = None,
    steps: dict[str, bool] | None = None,
) -> Scene:
    """``scene`` renamed or with steps shown or hidden; its scheme is fixed (attempts were made under it)."""
    if scheme is not None and scheme != scene.scheme:
        raise Invalid("Solution", "a scene's scheme cannot change; create a new scene instead")
    try:
        with runtime.sessions() as session, session.begin():
            return update_scene(session, session.merge(scene), name=name, steps=steps or None)
    except SceneError as exc:
        raise Invalid(exc.field, str(exc)) from None
