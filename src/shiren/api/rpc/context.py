"""What an action function receives: the authenticated caller and its parameters."""

from __future__ import annotations

from dataclasses import dataclass

from shiren.api.rpc.errors import invalid, missing
from shiren.api.rpc.params import RawRequest
from shiren.runtime import Runtime
from shiren.storage.repo.tenants import KeyMaterial


@dataclass
class RpcContext:
    runtime: Runtime
    key: KeyMaterial
    request: RawRequest
    request_id: str

    @property
    def tenant_id(self) -> int:
        return self.key.tenant_id

    @property
    def params(self) -> dict[str, str]:
        return self.request.params

    def required(self, name: str, max_len: int | None = None) -> str:
        value = self.params.get(name, "").strip()
        if not value:
            raise missing(name)
        if max_len is not None and len(value) > max_len:
            raise invalid(name, f"at most {max_len} characters")
        return value

    def optional(self, name: str, max_len: int = 2048) -> str | None:
        value = self.params.get(name, "").strip()
        if not value:
            return None
        if len(value) > max_len:
            raise invalid(name, f"at most {max_len} characters")
        return value

    def optional_bool(self, name: str) -> bool | None:
        value = self.optional(name, 8)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise invalid(name, "must be true or false")
        return value.lower() == "true"

    def optional_int(self, name: str) -> int | None:
        value = self.optional(name, 20)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise invalid(name, "must be an integer") from None
