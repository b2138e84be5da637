"""recokit.spark in local mode against recokit in memory, at a few sizes of the sports shop.

For each size the shop's order lines are written to Parquet (a lake's table) and read back by
Spark; then, alternating the two sides run by run:

- driver rows: ``recokit.spark.collect_dataset`` (the named columns collected as Arrow, the
  Dataset built on the driver) vs ``Dataset(polars frame)``;
- count tables: Spark's group-bys and self-joins (``recokit.spark.count_tables``) for ItemKNN
  Jaccard (customer pairs), AssociationRules (basket pairs, frequent items), BuyAgain (purchase
  lines per customer, item and time) and Renewal (buyers per category, repurchase gaps per
  customer and category by a window, buyers per item) vs ``recokit.data.tables_for`` on the
  Dataset;
- fit: ``recokit.spark.fit(model, rows, dataset=ds)`` (tables by Spark, state on the driver) vs
  ``model.fit(ds)``;
- recommend_many for every customer (k=10): on the executors (mapInArrow, the model broadcast
  as its saved files; written to Spark's no-op sink) vs ``model.recommend_many`` in memory.

Each figure is the median (min-max) of ``--repeat`` runs; the ratio is Spark / in memory. The
fitted models are checked equal to the in-memory ones (ItemKNN's similarity; BuyAgain's and
Renewal's saved files, byte for byte). Local mode on this machine's cores says
what Spark's fixed costs are and how its work grows with the rows, not what a cluster does:
docs/scaling.md extrapolates from the per-row slopes printed at the end.

    python benchmarks/spark_scale.py                            # 2,000 / 8,000 / 32,000 customers
    python benchmarks/spark_scale.py --customers 1000,4000 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])

import recokit.spark as rs  # noqa: E402
from recokit import AssociationRules, BuyAgain, Dataset, ItemKNN, Renewal  # noqa: E402
from recokit.data import tables_for  # noqa: E402
from recokit.datasets import sports_shop_tables  # noqa: E402

COLUMNS = {"time_col": "timestamp", "basket_col": "order_id", "quantity_col": "quantity", "price_col": "price"}


def session(cores: int, memory: str):
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("recokit-spark-scale")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    return s


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.2f} s ({min(xs):.2f}-{max(xs):.2f})"


def measure(spark, n_customers: int, repeat: int, tmp: Path) -> dict[str, object]:
    t = sports_shop_tables(n_customers, seed=0)
    rows = t.interactions.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
    path = tmp / f"lines-{n_customers}.parquet"
    rows.write_parquet(path)
    sdf = spark.read.parquet(str(path))
    models = {"ItemKNN jaccard": ItemKNN("jaccard", 50), "AssociationRules": AssociationRules(min_support=5), "BuyAgain": BuyAgain(), "Renewal": Renewal()}
    times: dict[str, list[float]] = {}

    def add(key: str, seconds: float) -> None:
        times.setdefault(key, []).append(seconds)

    ds = Dataset(rows, t.catalog, t.customers, **COLUMNS)
    everyone = ds.customer_ids.to_list()
    ids = spark.createDataFrame(pl.DataFrame({"customer_id": everyone}).to_arrow()).repartition(2 * spark.sparkContext.defaultParallelism)
    knn = ItemKNN("jaccard", 50).fit(ds)
    for r in range(repeat):
        sides = ("spark", "memory") if r % 2 == 0 else ("memory", "spark")
        for side in sides:
            if side == "spark":
                add("rows spark", timed(lambda: rs.collect_dataset(sdf, catalog=t.catalog, customers=t.customers, **COLUMNS))[0])
            else:
                add("rows memory", timed(lambda: Dataset(rows, t.catalog, t.customers, **COLUMNS))[0])
            for name, model in models.items():
                spec = model.table_spec()
                assert spec is not None
                if side == "spark":
                    add(f"tables {name} spark", timed(lambda spec=spec: rs.count_tables(sdf, ds, spec))[0])
                    sec, fitted = timed(lambda model=model: rs.fit(model.clone(), sdf, dataset=ds))
                    add(f"fit {name} spark", sec)
                else:
                    add(f"tables {name} memory", timed(lambda spec=spec: tables_for(ds, spec))[0])
                    sec, fitted = timed(lambda model=model: model.clone().fit(ds))
                    add(f"fit {name} memory", sec)
            if side == "spark":
                add("recommend spark", timed(lambda: rs.recommend_many(knn, ids, 10).write.format("noop").mode("overwrite").save())[0])
            else:
                add("recommend memory", timed(lambda: knn.recommend_many(everyone, 10))[0])
    check = rs.fit(ItemKNN("jaccard", 50), sdf, dataset=ds)
    ref = ItemKNN("jaccard", 50).fit(ds)
    assert (check.similarity_ != ref.similarity_).nnz == 0, "the Spark fit differs from the in-memory one"
    for model in (BuyAgain(), Renewal()):
        assert rs.saved_files(rs.fit(model.clone(), sdf, dataset=ds)) == rs.saved_files(model.clone().fit(ds)), f"the Spark {type(model).__name__} differs"
    return {"customers": n_customers, "rows": ds.n_interactions, "baskets": ds.n_baskets, "items": ds.n_items,
            "driver_bytes": ds.interactions.estimated_size(), "times": times}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", default="2000,8000,32000", help="comma-separated shop sizes (customers)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cores", type=int, default=2, help="local[N]")
    p.add_argument("--memory", default="2g", help="spark.driver.memory")
    args = p.parse_args()
    sizes = [int(x) for x in args.customers.split(",")]
    t0 = time.perf_counter()
    spark = session(args.cores, args.memory)
    print(f"Spark {spark.version} local[{args.cores}] started in {time.perf_counter() - t0:.1f} s")
    results = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timed(lambda: measure(spark, sizes[0], 1, Path(tmp)))  # warm-up: the JVM's first jobs
        for n in sizes:
            res = measure(spark, n, args.repeat, Path(tmp))
            results.append(res)
            print(f"\n{n:,} customers: {res['rows']:,} order lines, {res['baskets']:,} baskets, {res['items']} items; "
                  f"driver Dataset rows {res['driver_bytes'] / res['rows']:.0f} B/row")  # fmt: skip
            times = res["times"]
            assert isinstance(times, dict)
            for what in ("rows", *(f"{kind} {name}" for kind in ("tables", "fit") for name in ("ItemKNN jaccard", "AssociationRules", "BuyAgain", "Renewal")), "recommend"):
                s, m = times[f"{what} spark"], times[f"{what} memory"]
                print(f"  {what:26s} spark {fmt(s)}   memory {fmt(m)}   ratio {statistics.median(s) / statistics.median(m):6.1f}x")
    if len(results) > 1:
        print("\nGrowth from the smallest to the largest size (median seconds per 1M order lines, and log-log slope):")
        a, b = results[0], results[-1]
        for key in sorted(a["times"]):  # type: ignore[arg-type]
            ta, tb = statistics.median(a["times"][key]), statistics.median(b["times"][key])  # type: ignore[index]
            slope = np.log(tb / ta) / np.log(b["rows"] / a["rows"])  # type: ignore[operator]
            print(f"  {key:34s} {tb / b['rows'] * 1e6:8.2f} s/1M rows   slope {slope:5.2f}")  # type: ignore[operator]
    spark.stop()
    print("\ncommand: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
