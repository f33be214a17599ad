"""The operator console's use cases: accounts, records, cases, audit, statistics, management."""
