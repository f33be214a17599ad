"""Use cases: plain functions that tie the domain, the engine and storage together for the API layer."""
