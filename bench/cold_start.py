"""Cold start: seconds from ``shiren serve`` to the first answered request.

Measured for a new data directory (migrations run, key file created) and for an existing one, a few times
each; the model-loading cost of later stages shows up here too once models load at start.

    .venv/bin/python bench/cold_start.py [--runs 3]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import write_results
from tests.support import ShirenServer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    results: dict[str, list[float]] = {"new_data_dir_s": [], "existing_data_dir_s": []}
    for _ in range(args.runs):
        data = Path(tempfile.mkdtemp(prefix="shiren-cold-")) / "data"
        for label in ("new_data_dir_s", "existing_data_dir_s"):
            server = ShirenServer(data)
            results[label].append(round(server.start(), 3))
            server.stop()
    for label, values in results.items():
        print(f"{label:<22} median {statistics.median(values):.2f} s   runs {values}")
    write_results("cold_start", {k: {"median": statistics.median(v), "runs": v} for k, v in results.items()})


if __name__ == "__main__":
    main()
