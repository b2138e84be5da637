"""Time the synthetic sports shop generator and report its peak memory.

Run it in a fresh process so the peak resident set size is the generator's own::

    python benchmarks/generate.py --customers 1000000 --seed 0

It prints the command line, the machine, the table sizes, the wall-clock seconds of
``sports_shop_tables`` and the process's peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``), both
in total and on top of what the imports alone used.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="number of customers (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--days", type=int, default=730, help="length of the history in days (default 730)")
    args = parser.parse_args(argv)

    try:
        import recokit  # noqa: F401
    except ImportError:  # running from a checkout without an install
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import numpy as np
    import polars as pl

    from recokit.datasets import sports_shop_tables

    base_mb = _peak_mb()
    t0 = time.perf_counter()
    tables = sports_shop_tables(args.customers, seed=args.seed, days=args.days)
    seconds = time.perf_counter() - t0
    peak_mb = _peak_mb()

    it = tables.interactions
    print(f"command: {Path(sys.executable).name} {shlex.join(sys.argv)}")
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
        f"numpy {np.__version__}, polars {pl.__version__}"
    )
    print(f"customers: {args.customers:,}  seed: {args.seed}  days: {args.days}")
    print(
        f"rows: {it.height:,} order lines, {it['order_id'].n_unique():,} orders, "
        f"{it['customer_id'].n_unique():,} buying customers, {tables.catalog.height} items"
    )
    print(f"interactions in memory: {it.estimated_size('mb'):.0f} MB")
    print(f"seconds: {seconds:.2f}")
    print(f"peak RSS: {peak_mb:.0f} MB ({peak_mb - base_mb:.0f} MB above the {base_mb:.0f} MB after imports)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
