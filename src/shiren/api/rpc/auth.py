"""Authenticating a signed API request: which algorithm, which key, is it fresh, is it a replay."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError

from shiren.api.rpc import signing
from shiren.api.rpc.errors import RpcError, invalid, missing
from shiren.api.rpc.params import RawRequest
from shiren.api.rpc.throttle import WarnAtMostEvery
from shiren.runtime import Runtime
from shiren.storage.nonces_redis import claim_nonce_redis
from shiren.storage.repo.nonces import claim_nonce
from shiren.storage.repo.tenants import KeyMaterial, load_access_key

# Headers an ACS3 signature must cover, or an attacker could change them without breaking it.
ACS3_REQUIRED_SIGNED = ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")


def _mismatch(string_to_sign: str) -> RpcError:
    return RpcError(
        400,
        "SignatureDoesNotMatch",
        f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
        "Check the AccessKeySecret, the clock, and that nothing rewrote the request on its way.",
    )


def _parse_timestamp(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise RpcError(
            400, "InvalidTimeStamp.Format", f"{name} must look like 2019-03-07T12:00:00Z."
        ) from None


def _check_fresh(stamp: datetime, now: datetime, window_s: int) -> None:
    if abs(now - stamp) > timedelta(seconds=window_s):
        raise RpcError(
            400,
            "InvalidTimeStamp.Expired",
            f"Specified time stamp or date value is expired; it must be within {window_s // 60} minutes "
            "of the server clock.",
            "Synchronise the client clock (NTP).",
        )


def _load_key(runtime: Runtime, key_id: str) -> KeyMaterial:
    with runtime.sessions() as session:
        key = load_access_key(session, runtime.crypto, key_id)
    if key is None:
        raise RpcError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if not key.enabled:
        raise RpcError(400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
    return key


def action_is_signed(req: RawRequest) -> bool:
    """True when the Action the server will run is covered by the signature."""
    if "Action" in req.params:
        return True
    auth = signing.parse_acs3_authorization(req.headers.get("authorization", ""))
    return auth is not None and "x-acs-action" in auth.signed_headers


log = logging.getLogger("shiren.api")
_warn_nonces = WarnAtMostEvery()


def claim_nonce_shared(runtime: Runtime, access_key_id: str, nonce: str) -> bool:
    """Record a request's nonce where every replica sees it: Redis when configured, else the database."""
    if runtime.redis is not None:
        # Kept for twice the window, as the database purge keeps rows: a request stamped up to a window
        # ahead of the server clock is accepted, and its replay stays acceptable a window after that stamp.
        ttl_s = 2 * runtime.settings.timestamp_window_s
        try:
            return claim_nonce_redis(
                runtime.redis, access_key_id, nonce, ttl_s, prefix=runtime.settings.redis_prefix
            )
        except RedisError as exc:
            # Falling back is safe among requests made during the outage: the database is shared by all
            # replicas too, so a nonce claimed there by one is refused by the others. Across the switch
            # it is not: a nonce claimed in Redis just before the outage (or in the database during it)
            # is not in the other store, so its replay within the window could pass once. Refusing every
            # request instead would stop the service.
            _warn_nonces(log, "nonces: Redis unavailable (%s); using the database", type(exc).__name__)
    return claim_nonce(runtime.sessions, access_key_id, nonce)


def authenticate(runtime: Runtime, req: RawRequest, now: datetime | None = None) -> KeyMaterial:
    """Verify the request's signature (ACS3 or RPC v1), its freshness and its nonce; return the key."""
    now = now or datetime.now(UTC)
    window = runtime.settings.timestamp_window_s
    authorization = req.headers.get("authorization", "")
    if authorization.startswith(signing.ACS3):
        key, nonce = _authenticate_acs3(runtime, req, authorization, now, window)
    elif "Signature" in req.params:
        key, nonce = _authenticate_v1(runtime, req, now, window)
    else:
        raise missing("Signature")
    if not claim_nonce_shared(runtime, key.access_key_id, nonce):
        raise RpcError(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
            "Use a new random SignatureNonce for every request.",
        )
    return key


def _authenticate_v1(
    runtime: Runtime, req: RawRequest, now: datetime, window: int
) -> tuple[KeyMaterial, str]:
    p = req.params
    for name in ("AccessKeyId", "SignatureNonce", "Timestamp"):
        if not p.get(name):
            raise missing(name)
    if p.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise invalid("SignatureMethod", "only HMAC-SHA1 is supported with RPC signatures")
    if p.get("SignatureVersion", "1.0") != "1.0":
        raise invalid("SignatureVersion", "only 1.0 is supported")
    stamp = _parse_timestamp(p["Timestamp"], "Timestamp")
    key = _load_key(runtime, p["AccessKeyId"])
    _check_fresh(stamp, now, window)
    string_to_sign = signing.v1_string_to_sign(req.method, p)
    if not signing.same(signing.v1_signature(key.secret, string_to_sign), p["Signature"]):
        raise _mismatch(string_to_sign)
    return key, p["SignatureNonce"]


def _authenticate_acs3(
    runtime: Runtime, req: RawRequest, authorization: str, now: datetime, window: int
) -> tuple[KeyMaterial, str]:
    auth = signing.parse_acs3_authorization(authorization)
    if auth is None:
        raise RpcError(400, "InvalidAuthorization", "The Authorization header is malformed.")
    h = req.headers
    for name in ACS3_REQUIRED_SIGNED:
        if not h.get(name):
            raise missing(name)
        if name not in auth.signed_headers:
            raise invalid("Authorization", f"SignedHeaders must include {name}")
    stamp = _parse_timestamp(h["x-acs-date"], "x-acs-date")
    key = _load_key(runtime, auth.access_key_id)
    _check_fresh(stamp, now, window)
    canonical = signing.acs3_canonical_request(
        req.method, req.path, req.query, h, auth.signed_headers, h["x-acs-content-sha256"]
    )
    string_to_sign = signing.acs3_string_to_sign(canonical)
    if not signing.same(signing.acs3_signature(key.secret, string_to_sign), auth.signature):
        raise _mismatch(string_to_sign)
    if not signing.same(hashlib.sha256(req.body).hexdigest(), h["x-acs-content-sha256"].lower()):
        raise RpcError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    return key, h["x-acs-signature-nonce"]
