"""All configuration in one place: environment variables with the ``SHIREN_`` prefix.

Every process (server, command line, workers) reads the same settings, so the command line works on the
data of a running server.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHIREN_", extra="ignore")

    # Storage
    data_dir: Path = Path("./shiren-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) in data_dir/shiren.db"
    )
    master_key: str | None = Field(
        default=None, description="base64 of 32 bytes; default: data_dir/master.key created with mode 0600"
    )
    previous_master_keys: str | None = Field(
        default=None, description="comma-separated base64 keys that still unwrap older data keys (rotation)"
    )

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        default=None, description="Base URL for links handed out; default http://host:port"
    )

    # Signed API
    timestamp_window_s: int = 15 * 60
    max_request_bytes: int = 8 * 1024 * 1024
    verify_token_ttl_s: int = 30 * 60
    media_link_ttl_s: int = 5 * 60
    rate_limit_qps: int = 50

    # Image intake (SPEC 4.6)
    fetch_allow_hosts: str = Field(
        default="", description="comma-separated host:port reachable despite being private"
    )
    fetch_timeout_s: float = 5.0
    max_image_bytes: int = 2 * 1024 * 1024
    max_image_pixels: int = 16_000_000  # a 4000×3000 phone photo is 12 M; peak memory ~10 bytes a pixel

    # Authorities (per scene: none | registry | http)
    authority_http_url: str | None = None
    authority_http_token: str | None = None
    authority_http_timeout_s: float = 5.0

    # Device protocol (SDK and hosted H5 page; authenticated by the VerifyToken alone)
    max_video_bytes: int = 16 * 1024 * 1024
    max_video_seconds: float = 12.0
    challenge_ttl_s: int = 120
    max_challenges_per_attempt: int = 5
    device_rate_per_minute: int = 300  # per VerifyToken, all device calls together (live hints: ~3/s)
    result_token_ttl_s: int = 10 * 60
    # Refuse a capture whose pictures match an earlier capture's (capture_content_fresh): a replay with other
    # bytes. Off only where every capture is rendered from one photograph (the end-to-end test servers).
    content_replay_check: bool = True

    # Callbacks (Standard Webhooks, durable outbox)
    callback_timeout_s: float = 5.0
    callback_max_tries: int = 12
    callback_backoff_base_s: float = 2.0  # delay before try n+1 = base * 2**(n-1), capped below
    callback_backoff_max_s: float = 3600.0
    callback_poll_s: float = 0.5

    # Retention (SPEC 7): per scene; these are the defaults of scenes that do not say otherwise
    default_retention_days: int = 30  # personal fields and the result (Alibaba keeps records 180 days)
    default_media_retention_days: int = 7  # images and video: needed only to look into a disputed verdict
    retention_interval_s: float = 300.0  # how often each server process erases what is due; 0: never
    retention_batch: int = 500  # attempts per kind per pass (bounded queries and transactions)

    # Past one machine (docs/deployment.md). Blobs: "local" (data_dir/blobs) or "s3" (any S3-compatible
    # store; objects are encrypted by shiren before upload, exactly as on disk).
    blob_store: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="e.g. http://10.0.0.5:8333; None: AWS")
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"
    # Shared rate limits and signature nonces across replicas; None: per process (limits) and the
    # database (nonces).
    redis_url: str | None = Field(default=None, description="e.g. redis://127.0.0.1:6379/0")
    redis_prefix: str = "shiren:"  # of every key shiren writes there (several deployments, one Redis)
    # Whether this server process also runs the callback sender and the retention worker; false when
    # `shiren worker` processes run them apart.
    run_workers: bool = True
    log_format: Literal["text", "json"] = "text"

    # The operator console at /console (docs/console.md)
    console_idle_timeout_s: int = 15 * 60  # a session unused this long is signed out
    console_session_max_s: int = 12 * 60 * 60  # and any session ends this long after sign-in
    console_login_max_failures: int = 5  # failed sign-ins per account, and 4x that per address, ...
    console_login_window_s: int = 15 * 60  # ... within this window, before further tries are refused
    console_page_size: int = 50

    # The demo integrator app at /demo (`make run` turns it on)
    demo: bool = False

    # Models (plugins chosen by name)
    face_detector: str = "mediapipe"
    face_embedder: str = "dlib-onnx"
    ocr: str = "rapidocr"

    @property
    def database_url_resolved(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shiren.db').resolve()}"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def fetch_allowed(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.fetch_allow_hosts.split(",") if h.strip())


@lru_cache
def get_settings() -> Settings:
    return Settings()
