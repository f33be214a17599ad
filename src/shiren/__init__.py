"""shiren (实人): self-hostable real-person identity verification, wire-compatible with Cloudauth 2019-03-07."""

__version__ = "0.1.0"
