"""recokit.spark in Spark local mode: the count tables Spark counts (per item, per pair, and the
per-customer repeat tables of BuyAgain and Renewal) equal a plain-Python count and recokit's own;
a model fitted from them equals the in-memory fit (state, every customer's list, the saved files
byte for byte); recommend_many on the executors equals the in-memory batch; the
per-customer table behind RFM grouped by Spark equals recokit.customers' in-memory one.

One session for the module (JVM start dominates: keep the Spark jobs few and the data small).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import recokit.spark as rs
from recokit import (
    AssociationRules,
    BuyAgain,
    ConfigError,
    DataError,
    Dataset,
    DataWarning,
    DependencyError,
    ItemKNN,
    Popularity,
    Renewal,
)
from recokit.customers import rfm
from recokit.customers.features import base_table
from recokit.customers.orders import reference
from recokit.data import DAY_US, CountTables, PurchaseLines, TableSpec, tables_for
from recokit.datasets import sports_shop_tables
from state_compare import assert_same_dataset, assert_same_state

SRC = Path(__file__).resolve().parents[1] / "src"
SHOP_COLUMNS = {"time_col": "timestamp", "basket_col": "order_id", "quantity_col": "quantity", "price_col": "price"}


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    # the executors' Python: this interpreter, importing this checkout's recokit
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    session = (
        SparkSession.builder.master("local[2]")
        .appName("recokit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.adaptive.enabled", "false")  # tiny data: planning costs more than it saves
        .config("spark.driver.memory", "512m")
        # short jobs: the JIT's first tier only (about twice as fast for these tests)
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        # not UTC: a day of a timestamp must be its UTC day whatever the session's zone
        .config("spark.sql.session.timeZone", "America/New_York")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_frame(spark, frame: pl.DataFrame):
    with warnings.catch_warnings():  # pyspark 4.x on pandas 3: a FutureWarning of its own
        warnings.simplefilter("ignore", FutureWarning)
        return spark.createDataFrame(frame.to_arrow())


@pytest.fixture(scope="module")
def shop():
    t = sports_shop_tables(300, seed=1)
    # instants (UTC), as a lake's timestamp column holds them
    rows = t.interactions.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
    return rows, t.catalog, t.customers


@pytest.fixture(scope="module")
def shop_spark(spark, shop):
    rows, catalog, customers = shop
    sdf = spark_frame(spark, rows)
    return sdf, rs.collect_dataset(sdf, catalog=catalog, customers=customers, **SHOP_COLUMNS)


def same_tables(a: CountTables, b: CountTables) -> None:
    for name in ("item_buyers", "item_baskets"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and x.tolist() == y.tolist(), name
    for name in ("customer_pairs", "basket_pairs"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.shape == y.shape and x.dtype == y.dtype, name
            assert x.indptr.tolist() == y.indptr.tolist() and x.indices.tolist() == y.indices.tolist(), name
            assert x.data.tolist() == y.data.tolist(), name
    assert (a.n_baskets, a.n_baskets_excluded) == (b.n_baskets, b.n_baskets_excluded)
    for name in ("purchase_lines", "category_repeats"):  # per-customer tables: every column, dtype and order
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert vars(x).keys() == vars(y).keys()
            for col, v in vars(x).items():
                w = vars(y)[col]
                assert (v.dtype, v.tolist()) == (w.dtype, w.tolist()) if isinstance(v, np.ndarray) else v == w, f"{name}.{col}"


# -- the driver's Dataset and the tables ------------------------------------------------------
def test_collected_dataset_is_the_in_memory_one(shop, shop_spark):
    rows, catalog, customers = shop
    assert_same_dataset(shop_spark[1], Dataset(rows, catalog, customers, **SHOP_COLUMNS))


def reference_tables(rows: list[tuple[int, str, dt.datetime]], items: list[str], cap: int, min_count: int) -> dict:
    """Plain Python: sets per customer and per (customer, UTC day) basket."""
    idx = {item: i for i, item in enumerate(items)}
    bought: dict[int, set[int]] = {}
    baskets: dict[tuple[int, dt.date], set[int]] = {}
    for c, item, t in rows:
        bought.setdefault(c, set()).add(idx[item])
        baskets.setdefault((c, t.astimezone(dt.UTC).date()), set()).add(idx[item])
    n = len(items)
    buyers = [sum(i in s for s in bought.values()) for i in range(n)]
    kept = [s for s in baskets.values() if len(s) <= cap]
    in_baskets = [sum(i in s for s in kept) for i in range(n)]
    frequent = {i for i in range(n) if in_baskets[i] >= min_count}

    def pairs(sets, allowed):
        out = np.zeros((n, n))
        for s in sets:
            for a, b in itertools.permutations(sorted(s & allowed), 2):
                out[a, b] += 1
        return out

    return {
        "buyers": buyers, "customer_pairs": pairs(bought.values(), set(range(n))), "item_baskets": in_baskets,
        "basket_pairs": pairs(kept, frequent), "n_baskets": len(kept), "excluded": len(baskets) - len(kept),
    }  # fmt: skip


ROWS = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from("abcdef"), st.integers(0, 3 * 24 - 1)), min_size=1, max_size=40
)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ROWS, st.integers(2, 4), st.integers(1, 3))
def test_spark_tables_equal_a_plain_count(spark, raw, cap, min_count):
    t0 = dt.datetime(2024, 3, 9, tzinfo=dt.UTC)
    rows = [(c, item, t0 + dt.timedelta(hours=h)) for c, item, h in raw]
    frame = pl.DataFrame(rows, schema={"customer_id": pl.Int64, "item_id": pl.String, "ts": pl.Datetime("us", "UTC")}, orient="row")
    catalog = pl.DataFrame({"item_id": list("abcdefg")})  # g: nobody bought it
    sdf = spark_frame(spark, frame)
    ds = rs.collect_dataset(sdf, catalog=catalog, time_col="ts")
    spec = TableSpec(pairs=True, baskets=True, max_basket_size=cap, pair_min_support=min_count)
    got = rs.count_tables(sdf, ds, spec)
    same_tables(got, tables_for(ds, spec))
    ref = reference_tables(rows, ds.item_ids.to_list(), cap, min_count)
    assert got.item_buyers.tolist() == ref["buyers"] and got.item_baskets.tolist() == ref["item_baskets"]
    assert np.array_equal(got.customer_pairs.toarray(), ref["customer_pairs"])
    assert np.array_equal(got.basket_pairs.toarray(), ref["basket_pairs"])
    assert (got.n_baskets, got.n_baskets_excluded) == (ref["n_baskets"], ref["excluded"])


# -- fit ------------------------------------------------------------------------------------------
MODELS = [Popularity(), ItemKNN("jaccard", 20, min_co_count=2), AssociationRules(min_support=3, max_basket_size=4)]
#: the tables of all three models at once (a Spark job per table kind, not per model)
ALL_TABLES = TableSpec(pairs=True, baskets=True, max_basket_size=4, pair_min_support=3)


@pytest.fixture(scope="module")
def shop_tables(shop_spark):
    sdf, ds = shop_spark
    return rs.count_tables(sdf, ds, ALL_TABLES)


def assert_same_fit(got, want) -> None:
    assert_same_state(got, want)
    everyone = want.dataset_.customer_ids.to_list()
    assert got.recommend_many(everyone, 5).equals(want.recommend_many(everyone, 5))
    a, b = rs.saved_files(got), rs.saved_files(want)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_spark_tables_on_the_shop_are_recokits(shop_spark, shop_tables):
    same_tables(shop_tables, tables_for(shop_spark[1], ALL_TABLES))
    assert shop_tables.n_baskets_excluded > 0 and shop_tables.basket_pairs.nnz > 0  # the cap and the frequency cut bite


@pytest.mark.parametrize("model", MODELS, ids=["popularity", "itemknn-jaccard", "association"])
def test_a_fit_from_the_spark_tables_equals_the_in_memory_fit(shop, shop_spark, shop_tables, model):
    rows, catalog, customers = shop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the basket cap's DataWarning, raised by both fits
        got = model.clone().fit_from_tables(shop_spark[1], shop_tables)
        want = model.clone().fit(Dataset(rows, catalog, customers, **SHOP_COLUMNS))
    assert_same_fit(got, want)


def test_spark_fit_end_to_end(shop, shop_spark):
    """recokit.spark.fit from the frame and the column keywords alone (its own collection and tables)."""
    rows, catalog, customers = shop
    model = ItemKNN("lift", 10, min_co_count=2)
    got = rs.fit(model.clone(), shop_spark[0], catalog=catalog, customers=customers, **SHOP_COLUMNS)
    assert_same_fit(got, model.clone().fit(Dataset(rows, catalog, customers, **SHOP_COLUMNS)))


def test_a_model_not_derived_from_tables_is_fitted_on_the_driver(shop, shop_spark, caplog):
    rows, catalog, customers = shop
    sdf, ds = shop_spark
    with caplog.at_level(logging.INFO, logger="recokit"):
        got = rs.fit(Popularity(half_life_days=30), sdf, dataset=ds)
    assert "fitted on the driver" in caplog.text
    assert_same_state(got, Popularity(half_life_days=30).fit(Dataset(rows, catalog, customers, **SHOP_COLUMNS)))


# -- the per-customer repeat tables: BuyAgain and Renewal -----------------------------------------
def repeat_spec(renewal: Renewal) -> TableSpec:
    """BuyAgain's and ``renewal``'s tables in one request (fewer Spark jobs)."""
    return TableSpec(buyers=False, purchase_lines=True, categories=renewal.table_spec().categories)


def test_spark_fit_of_buyagain_and_renewal_equals_the_in_memory_fit(shop, shop_spark):
    """recokit.spark.fit end to end: each model's tables counted by Spark, its state derived on the driver."""
    rows, catalog, customers = shop
    sdf, ds = shop_spark
    memory = Dataset(rows, catalog, customers, **SHOP_COLUMNS)
    for model in (BuyAgain(), Renewal(min_support=5)):
        want = model.clone().fit(memory)
        assert_same_fit(rs.fit(model.clone(), sdf, dataset=ds), want)
    assert want.intervals_["renewable"].sum() >= 3 and want.gaps_.height > 100  # something to age and to rank
    lines = tables_for(memory, BuyAgain().table_spec()).purchase_lines
    assert np.unique(lines.customer_idx * ds.n_items + lines.item_idx).size < len(lines)  # items bought again


def reference_repeats(rows: list[tuple], category: dict[str, str], min_gap_us: int, recent_from: int) -> dict:
    """Plain Python over the raw rows ``(customer, item, µs, event)``: purchase lines per
    (customer, item, µs); per category the buyers; per (customer, category) the gaps between
    distinct consecutive purchase times; per item the distinct buyers, all and recent."""
    lines: dict[tuple, int] = {}
    times: dict[tuple, list[int]] = {}
    buyers: dict[str, set] = {}
    recent: dict[str, set] = {}
    for c, item, us, event in rows:
        if event != "purchase":
            continue
        lines[(c, item, us)] = lines.get((c, item, us), 0) + 1
        if category.get(item) is None:
            continue
        times.setdefault((c, category[item]), []).append(us)
        buyers.setdefault(item, set()).add(c)
        if us >= recent_from:
            recent.setdefault(item, set()).add(c)
    gaps = []  # (customer, category, time of the later purchase, gap)
    for (c, cat), ts in times.items():
        ts = sorted(set(ts))
        gaps += [(c, cat, b, b - a) for a, b in zip(ts, ts[1:], strict=False) if b - a >= min_gap_us]
    per_category = {cat: len({c for c, k in times if k == cat}) for cat in set(category.values()) - {None}}
    return {"lines": sorted(lines.items()), "gaps": gaps, "category_buyers": per_category,
            "item_buyers": {i: len(s) for i, s in buyers.items()}, "recent_buyers": {i: len(s) for i, s in recent.items()}}  # fmt: skip


def random_repeat_rows(seed: int, n: int = 70) -> list[tuple[int, str, int, str]]:
    """``(customer, item, half-days, event)``: a few customers buying from a few items over a
    month, so items are bought again, several lines share a time (some the same item), and a
    quarter are views."""
    rng = np.random.default_rng(seed)
    rows = [
        (int(c), "abcdef"[int(i)], int(d), "view" if v else "purchase")
        for c, i, d, v in zip(rng.integers(0, 5, n), rng.integers(0, 6, n), rng.integers(0, 61, n), rng.random(n) < 0.25, strict=True)
    ]
    return rows + rows[:6]  # some lines twice: the same item at the same time


def test_spark_repeat_tables_equal_a_plain_count_and_fit_the_same_models(spark):
    """Repeat purchases, ties in time (half-days: several lines at one time, the same item too),
    views that are not purchases, three categories and an item without one, a declared
    customer who bought nothing."""
    raw = random_repeat_rows(seed=7)
    t0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    rows = [(c, item, t0 + dt.timedelta(days=d // 2, hours=12 * (d % 2)), e) for c, item, d, e in raw]
    frame = pl.DataFrame(rows, schema={"customer_id": pl.Int64, "item_id": pl.String, "ts": pl.Datetime("us", "UTC"), "ev": pl.String}, orient="row")
    category = {"a": "socks", "b": "socks", "c": "tubes", "d": "shoes", "e": None, "f": "tubes", "g": "shoes"}
    catalog = pl.DataFrame({"item_id": list(category), "category": list(category.values())})
    customers = pl.DataFrame({"customer_id": [9]})
    cols = {"time_col": "ts", "event_col": "ev", "event_weights": {"purchase": 1.0, "view": 0.2}}
    sdf = spark_frame(spark, frame)
    ds = Dataset(frame, catalog, customers, **cols)  # collect_dataset's equal (tested above): one Spark job fewer
    renewal = Renewal(min_support=1, min_repeat_share=0.0, max_spread=50.0, min_gap_days=2.0, popularity_days=7.0)
    spec = repeat_spec(renewal)
    got = rs.count_tables(sdf, ds, spec)
    same_tables(got, tables_for(ds, spec))
    # an independent count from the raw rows (µs since 1970, integers), in the Dataset's index order
    us = [(c, item, (t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1), e) for c, item, t, e in rows]
    end = max(u for _, _, u, _ in us)
    ref = reference_repeats(us, category, 2 * DAY_US, end - 7 * DAY_US)
    cidx, iidx, names = ds.customer_ids.index, ds.item_ids.index, sorted(set(category.values()) - {None})
    lines, rep = got.purchase_lines, got.category_repeats
    assert [(cidx([c])[0], iidx([i])[0], u, n) for (c, i, u), n in ref["lines"]] == list(zip(lines.customer_idx.tolist(), lines.item_idx.tolist(), lines.time_us.tolist(), lines.count.tolist(), strict=True))
    gaps = sorted((cidx([c])[0], names.index(k), when, g) for c, k, when, g in ref["gaps"])
    assert [(c, k, g) for c, k, _, g in gaps] == list(zip(rep.gap_customer.tolist(), rep.gap_category.tolist(), rep.gap_us.tolist(), strict=True))
    assert rep.buyers.tolist() == [ref["category_buyers"][k] for k in names]
    assert rep.item_buyers.tolist() == [ref["item_buyers"].get(i, 0) for i in ds.item_ids.to_list()]
    assert rep.recent_buyers.tolist() == [ref["recent_buyers"].get(i, 0) for i in ds.item_ids.to_list()]
    assert rep.n_event_rows == sum(e == "purchase" for *_, e in rows)
    # the draw has what the test is about: same-time lines, repeats, gaps cut at 2 days, recent buyers
    assert int(lines.count.max()) > 1 and len(gaps) > 10 and 0 < int(rep.recent_buyers.sum()) < int(rep.item_buyers.sum())
    memory = Dataset(frame, catalog, customers, **cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark's pandas FutureWarning
        for model in (BuyAgain(half_life_days=3.0), renewal):
            assert_same_fit(model.clone().fit_from_tables(ds, got), model.clone().fit(memory))


def test_fit_from_tables_uses_the_tables_it_is_given(shop_spark):
    _, ds = shop_spark
    tables = tables_for(ds, TableSpec())
    other = CountTables(tables.item_buyers[::-1].copy())
    assert Popularity().fit_from_tables(ds, other).popularity_.tolist() == other.item_buyers.astype(float).tolist()
    with pytest.raises(DataError, match="items"):
        Popularity().fit_from_tables(ds, CountTables(tables.item_buyers[:-1]))
    with pytest.raises(DataError, match="customer_pairs"):
        ItemKNN("lift").fit_from_tables(ds, tables)
    with pytest.raises(ConfigError, match="implicit"):
        ItemKNN("cosine").fit_from_tables(ds, tables)
    with pytest.raises(DataError, match="purchase_lines"):
        BuyAgain().fit_from_tables(ds, tables)
    with pytest.raises(DataError, match="category_repeats"):
        Renewal().fit_from_tables(ds, tables)
    lines = tables_for(ds, BuyAgain().table_spec())
    got = lines.purchase_lines
    short = PurchaseLines(got.customer_idx, got.item_idx, got.time_us, got.count[:-1])
    with pytest.raises(DataError, match="does not fit the dataset"):
        BuyAgain().fit_from_tables(ds, CountTables(None, purchase_lines=short))
    with pytest.raises(ConfigError, match="not combined"):
        _ = lines + lines


# -- recommend_many on the executors --------------------------------------------------------------
def test_recommend_many_on_the_executors_equals_the_batch(spark, shop_spark):
    _, ds = shop_spark
    model = ItemKNN("jaccard", 20).fit(ds)
    ids = ds.customer_ids.to_list()
    frame = spark_frame(spark, pl.DataFrame({"customer_id": ids + ["nobody"]})).repartition(2)
    options = {"exclude_purchased": True, "columns": ["name", "price"]}
    got = pl.from_arrow(rs.recommend_many(model, frame, 4, **options).toArrow())
    want = model.recommend_many(ids + ["nobody"], 4, **options)
    assert got.sort("customer_id", "rank").equals(want.sort("customer_id", "rank"))


# -- errors -------------------------------------------------------------------------------------
def test_without_pyspark_a_dependency_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(DependencyError, match=r"recokit\[spark\]"):
        rs.collect_dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}))


def test_bad_calls_are_recokit_errors(spark, shop_spark):
    sdf, ds = shop_spark
    with pytest.raises(ConfigError, match="Spark DataFrame"):
        rs.collect_dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}))
    with pytest.raises(DataError, match="no column"):
        rs.collect_dataset(sdf, customer_col="client")
    with pytest.raises(ConfigError, match="dataset="):
        rs.fit(Popularity(), sdf, dataset=ds, time_col="timestamp")
    text = pl.DataFrame({"customer_id": [1, 1], "item_id": ["a", "b"], "t": ["2024-01-01", "2024-01-02"]})
    with pytest.raises(ConfigError, match="to_timestamp"):  # baskets by day: before any job runs
        rs.count_tables(spark_frame(spark, text), Dataset(text, time_col="t"), AssociationRules().table_spec())


# -- customer measures (RFM's per-customer table by Spark) ---------------------------------------
def same_base(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Integers, days and gaps equal; ``monetary`` (a float sum in an order Spark chooses) equal to
    1e-12 relative and to the cent (the prices have two decimals: every sum is a whole number of
    cents plus float error far below half a cent); ``units`` (sums of whole quantities) exactly."""
    assert got.schema == want.schema
    assert got.drop("monetary").equals(want.drop("monetary"))
    a, b = got["monetary"].to_numpy(), want["monetary"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
    assert np.array_equal(np.round(a * 100), np.round(b * 100))


def test_spark_customer_base_equals_the_in_memory_one(shop, shop_spark):
    rows, catalog, customers = shop
    sdf, _ = shop_spark
    ds = Dataset(rows, catalog, customers, **SHOP_COLUMNS)
    at = dt.date(2024, 9, 30)  # mid-history: later lines are not read, a 90-day window bites
    got = rs.customer_base(sdf, catalog=catalog, customers=customers, at=at, window_days=90, **SHOP_COLUMNS)
    want = base_table(ds, reference(ds, at, 90), "auto")
    same_base(got, want)
    assert want["recency_days"].null_count() > 0 and (want["frequency"] == 0).sum() > want["recency_days"].null_count()
    assert want["median_gap_days"].drop_nulls().n_unique() > 5


def test_spark_rfm_equals_the_in_memory_rfm_with_unknown_items_dropped(shop, shop_spark):
    rows, catalog, _ = shop
    with pytest.warns(DataWarning, match=r"Dropped \d+ of 2546 rows"):  # and the customers with them
        got = rs.rfm(shop_spark[0], catalog=catalog.head(40), unknown_items="drop", **SHOP_COLUMNS)
    with pytest.warns(DataWarning, match=r"Dropped \d+ of 2546 rows"):
        want = rfm(Dataset(rows, catalog.head(40), unknown_items="drop", **SHOP_COLUMNS))
    assert got.equals(want)
    assert want["segment"].n_unique() >= 5 and want.height < shop_spark[1].n_customers


LINES = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from("abcd"), st.integers(0, 40 * 24), st.integers(1, 3), st.integers(0, 999), st.booleans()),
    min_size=1, max_size=30,
)  # fmt: skip


@settings(max_examples=1, deadline=None, phases=[Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LINES, st.integers(1, 30))
def test_spark_customer_base_on_generated_lines(spark, raw, window):
    """Baskets by day, wall-clock (TIMESTAMP_NTZ) times, views that are not orders, catalogue
    prices in cents with an unpriced item, a declared customer without an order."""
    t0 = dt.datetime(2024, 2, 20)
    rows = [(c, item, t0 + dt.timedelta(hours=h), q, "purchase" if buy else "view") for c, item, h, q, _, buy in raw]
    frame = pl.DataFrame(rows, schema={"customer_id": pl.Int64, "item_id": pl.String, "ts": pl.Datetime("us"), "q": pl.Int64, "ev": pl.String}, orient="row")
    catalog = pl.DataFrame({"item_id": list("abcde"), "price": [c / 100 for _, _, _, _, c, _ in raw[:4]] + [None] * (5 - min(4, len(raw)))})
    customers = pl.DataFrame({"customer_id": [9]})
    cols = {"time_col": "ts", "quantity_col": "q", "event_col": "ev"}
    ds = Dataset(frame, catalog, customers, event_weights={"purchase": 1.0, "view": 0.1}, **cols)
    at = t0 + dt.timedelta(days=25)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        want = base_table(ds, reference(ds, at, window), "catalog")
    with warnings.catch_warnings(record=True) as seen_spark:
        warnings.simplefilter("always")
        # naive times are read in the session's zone; as TIMESTAMP_NTZ they are their wall clock again
        sdf = spark_frame(spark, frame)
        sdf = sdf.withColumn("ts", sdf["ts"].cast("timestamp_ntz"))
        assert sdf.schema["ts"].dataType.simpleString() == "timestamp_ntz"
        got = rs.customer_base(sdf, catalog=catalog, customers=customers, at=at, window_days=window, price="catalog", **cols)
    same_base(got, want)
    assert [str(w.message) for w in seen_spark] == [str(w.message) for w in seen]


def test_bad_lines_are_recokit_errors(spark, shop, shop_spark):
    rows, catalog, _ = shop
    sdf, _ = shop_spark
    with pytest.raises(DataError, match="absent from the catalog"):
        rs.customer_base(sdf, catalog=catalog.head(5), **SHOP_COLUMNS)
    with pytest.raises(DataError, match="time_col"):
        rs.rfm(sdf)
    text = pl.DataFrame({"customer_id": [1], "item_id": ["a"], "t": ["2024-01-01"], "paid": ["9.99"]})
    with pytest.raises(ConfigError, match="to_timestamp"):
        rs.rfm(spark_frame(spark, text), time_col="t", price="units")
    with pytest.raises(DataError, match="'paid' must be numeric"):  # the Dataset refuses text prices too
        rs.rfm(spark_frame(spark, text), time_col="t", price_col="paid")
