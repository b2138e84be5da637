"""How long does the condition grammar take, and what did handing text to ``pl.sql_expr`` cost?

Three claims of docs/rules.md ("What a condition may contain"), each timed here:

* every attack of issue 10 (file readers, URLs, subqueries, 10,000 parentheses, 2,000 / 20,000
  ORs, ...) is refused by :func:`recokit.rules.grammar.compile_condition` in milliseconds;
* a condition at the limits (``MAX_CHARS`` characters, ``MAX_NODES`` parts) is checked, built and
  evaluated on a 50,000-item catalogue well under a second;
* recokit's own build (balanced ``AND`` / ``OR`` trees) against the path it replaced,
  ``pl.sql_expr(text)`` (parse + evaluate on the same catalogue): same masks, and the ratio.

Medians of ``--repeat`` runs (default 5). No external data. Run::

    PYTHONPATH=src python benchmarks/conditions.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import polars as pl

from recokit import RuleError
from recokit.rules.grammar import MAX_CHARS, MAX_NODES, compile_condition


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def attacks() -> dict[str, str]:
    ors = lambda n: " OR ".join(f"stock = {i}" for i in range(n))  # noqa: E731
    return {
        "read_csv subquery": "item_id IN (SELECT item_id FROM read_csv('/etc/hostname'))",
        "read_parquet subquery": "item_id IN (SELECT * FROM read_parquet('x.parquet'))",
        "URL": "item_id IN (SELECT item_id FROM read_csv('http://127.0.0.1:9/x.csv'))",
        "subquery": "stock > (SELECT MAX(stock) FROM self)",
        "table function": "item_id IN (SELECT * FROM generate_series(1, 10))",
        "UNION": "stock > 0 UNION SELECT 1",
        "two statements": "stock > 0; SELECT 1",
        "comment": "stock > 0 -- AND price < 10",
        "10,000 parentheses": "(" * 10_000 + "stock > 0" + ")" * 10_000,
        "4,000 parentheses (8,009 chars)": "(" * 4_000 + "stock > 0" + ")" * 4_000,
        "2,000 NOTs": "NOT " * 2_000 + "eco_label",
        "2,000 ORs": ors(2_000),
        "20,000 ORs": ors(20_000),
        "700 ORs in 9,096 chars (parts limit)": " OR ".join(["eco_label"] * 700),
    }


def catalogue(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({"item_id": [f"P{i:05d}" for i in range(n)], "stock": rng.integers(0, 2_000, n), "eco_label": rng.random(n) < 0.3})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cat = catalogue(args.items)

    print("attack -> RuleError (compile_condition, median ms)")
    for name, text in attacks().items():

        def refuse(text: str = text, name: str = name) -> None:
            try:
                compile_condition(text)
            except RuleError:
                return
            raise AssertionError(f"{name} was accepted")

        print(f"  {name:<40} {median_s(refuse, args.repeat) * 1e3:8.2f} ms")

    print(f"\nat the limits ({args.items:,} items): check + build + evaluate (median ms)")
    n_in = MAX_NODES - 2
    widest = "stock IN (" + ", ".join(str(i % 10) for i in range(n_in)) + ")"
    n_or = (MAX_NODES + 1) // 4  # stock = i: 3 parts + 1 OR each
    longest = " OR ".join(f"stock = {i}" for i in range(n_or))
    for label, text in [(f"IN list of {n_in} values ({len(widest):,} chars)", widest), (f"{n_or} ORs ({len(longest):,} chars)", longest)]:
        assert len(text) <= MAX_CHARS
        t = median_s(lambda text=text: cat.select(compile_condition(text).expr), args.repeat)
        print(f"  {label:<40} {t * 1e3:8.2f} ms")

    print(f"\nN ORs of 'stock = i' on {args.items:,} items: pl.sql_expr(text) vs recokit's build (parse + evaluate, median ms)")
    for n in (50, 100, n_or):
        text = " OR ".join(f"stock = {i}" for i in range(n))
        ours = cat.select(compile_condition(text).expr.alias("m")).to_series()
        theirs = cat.select(pl.sql_expr(text).alias("m")).to_series()
        assert ours.equals(theirs), "the two paths disagree"
        t_ours = median_s(lambda text=text: cat.select(compile_condition(text).expr), args.repeat)
        t_sql = median_s(lambda text=text: cat.select(pl.sql_expr(text)), args.repeat)
        print(f"  N={n:<5} pl.sql_expr {t_sql * 1e3:9.2f} ms   grammar {t_ours * 1e3:8.2f} ms   ratio {t_sql / t_ours:6.1f}x")


if __name__ == "__main__":
    main()
