"""The operator's command line (SPEC section 9). Reads the same SHIREN_* settings as the server."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shiren.domain.roles import ROLES
from shiren.domain.schemes import AUTHORITIES, SCHEMES
from shiren.observability.logging import configure_logging
from shiren.runtime import Runtime
from shiren.settings import Settings, get_settings
from shiren.storage.repo import scenes as scene_repo
from shiren.storage.repo import tenants as tenant_repo

DEFAULT_TENANT = "default"


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=None if isinstance(data, dict) else 2))
        return
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from shiren.app import create_app

    settings = settings.model_copy(
        update={"host": args.host or settings.host, "port": args.port or settings.port}
    )
    app = create_app(settings)
    json_logs = settings.log_format == "json"  # then every line is a JSON object, uvicorn's too
    for line in (
        f"shiren listening on {settings.base_url}  (data: {settings.data_dir})",
        "Create an AccessKey for your server:  shiren accesskey create --tenant NAME --json",
    ):
        if json_logs:
            logging.getLogger("shiren").info(line)
        else:
            print(line, flush=True)
    # log_config=None: uvicorn's loggers go through configure_logging's handler, not its own.
    logs: dict[str, Any] = {"log_config": None} if json_logs else {}
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="info", **logs)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from shiren.workers.service import serve_workers

    runtime = Runtime.build(settings)
    print(f"shiren worker running  (data: {settings.data_dir})", flush=True)
    try:
        serve_workers(runtime)
    finally:
        runtime.close()
    return 0


def cmd_accesskey(args: argparse.Namespace, settings: Settings) -> int:
    runtime = Runtime.build(settings)
    with runtime.sessions() as session, session.begin():
        if args.ak_command == "create":
            key = tenant_repo.create_access_key(session, runtime.crypto, args.tenant)
            _print(
                {"AccessKeyId": key.access_key_id, "AccessKeySecret": key.secret, "Tenant": key.tenant},
                args.json,
            )
        elif args.ak_command == "list":
            _print(tenant_repo.list_access_keys(session, args.tenant), args.json)
        elif args.ak_command == "disable":
            if not tenant_repo.disable_access_key(session, args.id):
                return _fail(f"no AccessKey {args.id}")
            _print({"AccessKeyId": args.id, "Enabled": False}, args.json)
    return 0


def _thresholds(pairs: list[str]) -> dict[str, float]:
    """``authority=85`` → {"authority": 85.0}; keys and the 0-100 scale are checked by the scene repo."""
    out: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise scene_repo.SceneError(f"--threshold wants NAME=SCORE, got {pair!r}") from None
        if not sep:
            raise scene_repo.SceneError(f"--threshold wants NAME=SCORE, got {pair!r}")
    return out


def cmd_scene(args: argparse.Namespace, settings: Settings) -> int:
    runtime = Runtime.build(settings)
    with runtime.sessions() as session, session.begin():
        tenant = tenant_repo.get_or_create_tenant(session, args.tenant)
        if args.scene_command == "create":
            try:
                scene = scene_repo.create_scene(
                    session,
                    runtime.crypto,
                    tenant.id,
                    args.biz_type,
                    args.scheme,
                    name=args.name or "",
                    authority=args.authority,
                    callback_url=args.callback_url,
                    redirect_origins=args.redirect_origin,
                    retention_days=args.retention_days or settings.default_retention_days,
                    media_retention_days=args.media_retention_days,
                    thresholds=_thresholds(args.threshold),
                    liveness={
                        "actions": args.liveness_actions.split(",") if args.liveness_actions else None,
                        "count": args.liveness_count,
                        "timed": False if args.untimed_liveness else None,
                    },
                    review={
                        "face_from": args.review_face_from,
                        "card_confidence_below": args.review_card_confidence_below,
                    },
                )
            except scene_repo.SceneError as exc:
                return _fail(str(exc))
            # Shown once at creation (and by `scene show --secret`): the key of callbacks without a seed.
            view = scene_repo.scene_view(scene, tenant.name)
            view["CallbackSecret"] = scene_repo.scene_secret(runtime.crypto, scene)
            _print(view, args.json)
        elif args.scene_command == "list":
            _print(
                [scene_repo.scene_view(s, tenant.name) for s in scene_repo.list_scenes(session, tenant.id)],
                args.json,
            )
        else:
            scene = scene_repo.get_scene(session, tenant.id, args.biz_type)
            if scene is None:
                return _fail(f"no scene {args.biz_type} for tenant {tenant.name}")
            if args.scene_command == "disable":
                scene_repo.update_scene(session, scene, enabled=False)
            view = scene_repo.scene_view(scene, tenant.name)
            if getattr(args, "secret", False):
                view["CallbackSecret"] = scene_repo.scene_secret(runtime.crypto, scene)
            _print(view, args.json)
    return 0


def cmd_registry(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from shiren.services.registry_import import import_csv, read_rows

    path = Path(args.file)
    if not path.is_file():
        return _fail(f"no such file: {path}")
    runtime = Runtime.build(settings)
    try:
        total = sum(1 for _ in read_rows(path))
    except ValueError as exc:
        return _fail(str(exc))
    with tqdm(total=total, unit="row", file=sys.stderr, disable=args.json) as bar:
        report = import_csv(runtime, args.tenant, path, progress=bar.update)
    bad = [{"line": line, "reason": reason} for line, reason in report.bad]
    unusable = [{"line": line, "reason": reason} for line, reason in report.unusable_photos]
    if args.json:
        _print({"Imported": report.imported, "Bad": bad, "UnusablePhotos": unusable}, True)
    else:
        print(f"imported {report.imported} row(s); {len(bad)} bad; {len(unusable)} without a usable photo")
        for row in bad:
            print(f"  line {row['line']}: not imported: {row['reason']}")
        for row in unusable:
            print(f"  line {row['line']}: imported, photo unusable (verifications get 11): {row['reason']}")
    return 0 if report.imported or not bad else 1


def cmd_key(args: argparse.Namespace, settings: Settings) -> int:
    from shiren.services import keys
    from shiren.services.errors import ServiceError

    runtime = Runtime.build(settings)
    if args.key_command == "rotate":
        new_id, count = keys.rotate(runtime)
        _print({"Current": new_id, "Rewrapped": count}, args.json)
    elif args.key_command == "destroy":
        try:
            keys.destroy(runtime, args.key_id)
        except ServiceError as exc:
            return _fail(exc.message)
        _print({"Destroyed": args.key_id}, args.json)
    else:
        status = keys.key_status(runtime)
        _print({"Current": status.current, "Wraps": status.wraps}, args.json)
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from shiren.services.retention import run_retention

    runtime = Runtime.build(settings)
    report = run_retention(runtime, dry_run=args.dry_run, actor="cli")
    if args.json:
        _print(report.as_dict(), True)
        return 1 if report.failed else 0
    counts = report.counts() if args.dry_run else report.erased
    verb = "would erase" if args.dry_run else "erased"
    print(f"{verb}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), end="")
    print(f"; {report.failed} failed" if report.failed else "", end="")
    print(" (more remain beyond this batch)" if args.dry_run and report.more else "")
    for item in report.due:
        print(f"  {item.kind:9} attempt={item.attempt_id} tenant={item.tenant} biz_type={item.biz_type} "
              f"biz_id={item.biz_id} created={item.created_at.isoformat()}")  # fmt: skip
    return 1 if report.failed else 0


def cmd_verification(args: argparse.Namespace, settings: Settings) -> int:
    from shiren.services.errors import NotFound
    from shiren.services.retention import erase_verification

    runtime = Runtime.build(settings)
    with runtime.sessions() as session:
        tenant = tenant_repo.find_tenant(session, args.tenant)
    if tenant is None:
        return _fail(f"no tenant {args.tenant}")
    try:
        deleted = erase_verification(runtime, tenant.id, args.biz_type, args.biz_id, actor="cli")
    except NotFound as exc:
        return _fail(exc.message)
    _print(
        {"Tenant": tenant.name, "BizType": args.biz_type, "BizId": args.biz_id, "Deleted": deleted}, args.json
    )
    return 0


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    """Console users: ``create`` and ``reset-password`` print a one-time password, once."""
    from shiren.services.console import accounts
    from shiren.services.errors import ServiceError

    runtime = Runtime.build(settings)
    try:
        if args.user_command == "create":
            new = accounts.create_user(runtime, args.name, args.role, args.tenant)
        elif args.user_command == "reset-password":
            new = accounts.reset_password(runtime, None, args.name)
        else:
            from shiren.domain.roles import OPERATOR, Actor

            everyone = Actor(0, "cli", OPERATOR, None)
            _print(
                [
                    {"Name": u.name, "Role": u.role, "Tenant": u.tenant or "", "Enabled": u.enabled}
                    for u in accounts.list_users(runtime, everyone)
                ],
                args.json,
            )
            return 0
    except ServiceError as exc:
        return _fail(exc.message)
    view = {
        "Name": new.name,
        "Role": new.role,
        "Tenant": new.tenant or "",
        "OneTimePassword": new.one_time_password,
    }
    _print(view, args.json)
    if not args.json:
        print(f"Sign in at {settings.base_url}/console/ ; the first sign-in sets a new password.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiren", description="Self-hosted real-person identity verification."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser(
        "worker", help="run the callback sender and the retention worker apart from the API servers"
    )
    worker.set_defaults(func=cmd_worker)

    ak = sub.add_parser("accesskey", help="manage tenants' AccessKeys")
    ak_sub = ak.add_subparsers(dest="ak_command", required=True)
    for name in ("create", "list"):
        p = ak_sub.add_parser(name)
        p.add_argument("--tenant", default=DEFAULT_TENANT if name == "create" else None)
        p.add_argument("--json", action="store_true")
    p = ak_sub.add_parser("disable")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    ak.set_defaults(func=cmd_accesskey)

    scene = sub.add_parser("scene", help="manage scenes (BizTypes)")
    scene_sub = scene.add_subparsers(dest="scene_command", required=True)
    create = scene_sub.add_parser("create")
    create.add_argument("biz_type", metavar="BIZTYPE")
    create.add_argument("--scheme", required=True, choices=sorted(SCHEMES))
    create.add_argument("--name")
    create.add_argument("--authority", default="none", choices=AUTHORITIES)
    create.add_argument("--callback-url")
    create.add_argument("--redirect-origin", action="append", default=[])
    create.add_argument("--retention-days", type=int, help="personal fields and the result (default 30)")
    create.add_argument("--media-retention-days", type=int, help="images and video (default 7)")
    create.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=SCORE",
        help="authority|idcard|retained on the calibrated 0-100 scale (default 80 = FAR 1e-3)",
    )
    create.add_argument(
        "--liveness-actions",
        metavar="A,B,...",
        help="pool of challenge actions: blink,open_mouth,turn_left,turn_right,nod (default: all)",
    )
    create.add_argument("--liveness-count", type=int, help="actions per challenge (1-3, default 2)")
    create.add_argument(
        "--untimed-liveness",
        action="store_true",
        help="prompts at fixed moments the capture need not follow (weaker: only for cameras that cannot "
        "follow prompts, such as a looped test clip)",
    )
    create.add_argument(
        "--review-face-from",
        type=float,
        metavar="SCORE",
        help="hold for a person's review the verdicts whose only failures are face scores from SCORE up to "
        "the threshold (e.g. 60)",
    )
    create.add_argument(
        "--review-card-confidence-below",
        type=float,
        metavar="C",
        help="hold the verdicts whose only failures are card names or numbers read with OCR confidence "
        "under C (0-1)",
    )
    for name in ("show", "disable"):
        p = scene_sub.add_parser(name)
        p.add_argument("biz_type", metavar="BIZTYPE")
        if name == "show":
            p.add_argument("--secret", action="store_true", help="also print the callback signing secret")
    scene_sub.add_parser("list")
    for p in scene_sub.choices.values():
        p.add_argument("--tenant", default=DEFAULT_TENANT)
        p.add_argument("--json", action="store_true")
    scene.set_defaults(func=cmd_scene)

    registry = sub.add_parser("registry", help="the registry authority's reference identities")
    reg_sub = registry.add_subparsers(dest="registry_command", required=True)
    imp = reg_sub.add_parser("import", help="import name,id_number,photo rows from a CSV")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--tenant", default=DEFAULT_TENANT)
    imp.add_argument("--json", action="store_true")
    registry.set_defaults(func=cmd_registry)

    key = sub.add_parser("key", help="the master key: status, rotate (while servers run), destroy an old one")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    for name in ("status", "rotate"):
        key_sub.add_parser(name).add_argument("--json", action="store_true")
    destroy = key_sub.add_parser("destroy", help="delete an old master key that wraps nothing any more")
    destroy.add_argument("key_id", metavar="KEY_ID")
    destroy.add_argument("--json", action="store_true")
    key.set_defaults(func=cmd_key)

    retention = sub.add_parser("retention", help="erase what is past its retention (the worker does it too)")
    ret_sub = retention.add_subparsers(dest="retention_command", required=True)
    run = ret_sub.add_parser("run", help="erase everything due now")
    run.add_argument("--dry-run", action="store_true", help="only say what would be erased")
    run.add_argument("--json", action="store_true")
    retention.set_defaults(func=cmd_retention)

    verification = sub.add_parser("verification", help="one BizId's verifications")
    ver_sub = verification.add_subparsers(dest="verification_command", required=True)
    erase = ver_sub.add_parser("erase", help="erase every attempt of a BizId now (audited)")
    erase.add_argument("biz_type", metavar="BIZTYPE")
    erase.add_argument("biz_id", metavar="BIZID")
    erase.add_argument("--tenant", required=True)
    erase.add_argument("--json", action="store_true")
    verification.set_defaults(func=cmd_verification)

    user = sub.add_parser("user", help="operator console users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create_user = user_sub.add_parser("create", help="a new console user; prints a one-time password")
    create_user.add_argument("name", metavar="NAME")
    create_user.add_argument("--role", required=True, choices=sorted(ROLES))
    create_user.add_argument("--tenant", help="the tenant of an admin, reviewer or auditor (not an operator)")
    reset = user_sub.add_parser("reset-password", help="a new one-time password; the user's sessions end")
    reset.add_argument("name", metavar="NAME")
    user_sub.add_parser("list")
    for p in user_sub.choices.values():
        p.add_argument("--json", action="store_true")
    user.set_defaults(func=cmd_user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)  # SHIREN_LOG_FORMAT: text or json
    return int(args.func(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
