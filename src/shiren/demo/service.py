"""What the demo integrator does on its server side, one method per flow; the routes stay thin.

Every call goes to shiren's signed API over HTTP (``CloudauthClient``). BizIds carry the flow in their
prefix (``h5-…``, ``sdk-…``, ``min-…``), so the result page knows which BizType to ask about without
keeping any state.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shiren.demo.client import CloudauthClient
from shiren.demo.files import FileShelf
from shiren.demo.provision import H5_SCENE, MIN_SCENE, SDK_SCENE

BIZ_ID_RE = re.compile(r"^(h5|sdk|min)-[0-9a-f]{16}$")
SCENE_BY_PREFIX = {"h5": H5_SCENE, "sdk": SDK_SCENE, "min": MIN_SCENE}


def new_biz_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def scene_for(biz_id: str) -> str | None:
    match = BIZ_ID_RE.match(biz_id)
    return SCENE_BY_PREFIX[match.group(1)] if match else None


@dataclass
class DemoService:
    client: CloudauthClient
    base_url: str  # shiren's public base URL: the demo lives under it at /demo
    fetch_allowed: frozenset[str]
    files: FileShelf = field(default_factory=FileShelf)

    @property
    def host_key(self) -> str:
        """``host:port`` of this server, as SHIREN_FETCH_ALLOW_HOSTS must list it for the RPMin flow."""
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}".lower()

    @property
    def can_fetch_own_files(self) -> bool:
        return self.host_key in self.fetch_allowed

    def start_h5(self, name: str, id_number: str) -> str:
        """DescribeVerifyToken for the hosted page; returns the VerifyPageUrl to send the browser to."""
        done = f"{self.base_url}/demo/done"
        response = self.client.call(
            "DescribeVerifyToken",
            BizType=H5_SCENE,
            BizId=new_biz_id("h5"),
            Name=name,
            IdCardNumber=id_number,
            PassedRedirectUrl=done,
            FailedRedirectUrl=done,
        )
        return str(response["VerifyPageUrl"])

    def start_sdk(self) -> dict[str, str]:
        """A VerifyToken for the in-page JS SDK (RPBasic: the user supplies everything)."""
        biz_id = new_biz_id("sdk")
        response = self.client.call("DescribeVerifyToken", BizType=SDK_SCENE, BizId=biz_id)
        return {"token": str(response["VerifyToken"]), "bizId": biz_id}

    def file_url(self, key: str) -> str:
        return f"{self.base_url}/demo/files/{key}"

    def verify_min(
        self, name: str, id_number: str, face: str, front: str | None, back: str | None
    ) -> tuple[str, dict[str, Any]]:
        """VerifyMaterial with URLs of files the browser uploaded to the demo a moment ago."""
        biz_id = new_biz_id("min")
        params = {
            "BizType": MIN_SCENE,
            "BizId": biz_id,
            "Name": name,
            "IdCardNumber": id_number,
            "FaceImageUrl": self.file_url(face),
        }
        if front:
            params["IdCardFrontImageUrl"] = self.file_url(front)
        if back:
            params["IdCardBackImageUrl"] = self.file_url(back)
        try:
            return biz_id, self.client.call("VerifyMaterial", **params)
        finally:
            self.files.discard(face, front, back)

    def result(self, biz_id: str) -> dict[str, Any]:
        """DescribeVerifyResult: the only trusted verdict."""
        biz_type = scene_for(biz_id)
        if biz_type is None:
            raise ValueError("unknown BizId")
        return self.client.call("DescribeVerifyResult", BizId=biz_id, BizType=biz_type)
