"""How long does building a suite take? Prints seconds per category, cold and with warm caches.

    python benchmarks/suite_build.py [--seed 0] [--category numeric ...]

The first build trains the MLP-approximated numeric functions and loads the embedding model; the
second reuses the MLP weight cache (under a temporary AIA_CACHE_DIR, so your own cache is untouched),
which is what `aia bench --suite default` pays after its first run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--category", action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AIA_CACHE_DIR"] = str(Path(tmp) / "cache")
        from find_functions.build import build_suite
        from find_functions.layout import load_suite

        rows = []
        for label in ("cold", "warm"):
            start = time.perf_counter()
            path = build_suite(Path(tmp) / label, seed=args.seed, categories=args.category)
            total = time.perf_counter() - start
            manifest = load_suite(path).manifest
            rows.append((label, total, manifest["build_seconds"], manifest["counts"]))
        for label, total, per_cat, counts in rows:
            detail = ", ".join(f"{c} {s:.1f} s ({1000 * s / counts[c]:.1f} ms/function)" for c, s in per_cat.items())
            print(f"{label}: {total:.1f} s total (generation + writing) · {detail}")
        print(f"warm/cold ratio: {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
