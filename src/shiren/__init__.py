"""shiren (实人): self-hostable real-person identity verification, wire-compatible with Cloudauth."""

__version__ = "0.1.0"
