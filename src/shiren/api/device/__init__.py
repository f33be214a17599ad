"""The device protocol (docs/device-protocol.md): what the SDKs and the hosted H5 page call."""

from .routes import install_device_api

__all__ = ["install_device_api"]
