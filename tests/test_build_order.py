"""The Dataset build, the purchase history, Renewal's gap statistics and Popularity's votes
against plain references written here (polars group-bys and sorts, python loops): the counting
sorts and dense ranks that replaced the multi-key sorts must give the same arrays."""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import Dataset, Popularity, Renewal
from recokit.data import stable_order

DAY = dt.timedelta(days=1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60), st.integers(0, 3))
def test_stable_order_is_a_stable_argsort(keys: list[int], extra: int) -> None:
    arr = np.array(keys, dtype=np.int64)
    assert stable_order(arr, 7 + extra).tolist() == np.argsort(arr, kind="stable").tolist()


@st.composite
def order_lines(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 40))
    order = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    owner = {o: draw(st.sampled_from(["a", "b", "c", "d"])) for o in set(order)}
    order_day = {o: draw(st.integers(0, 90)) for o in set(order)}
    shift = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))  # 0: the order's own time
    start = dt.datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "customer_id": [owner[o] for o in order],
            "item_id": draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)),
            "order_id": [f"o{o}" for o in order],
            "ts": [start + order_day[o] * DAY + dt.timedelta(hours=h) for o, h in zip(order, shift, strict=True)],
            "event": draw(st.lists(st.sampled_from(["purchase", "purchase", "view"]), min_size=n, max_size=n)),
        }
    )


def _reference(frame: pl.DataFrame, basket: list[str], time: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows numbered and sorted the plain way: a group-by per basket, a sort of the baskets by
    (first time, key), a join back, a stable sort of the rows by (time, basket, item)."""
    rows = frame.with_row_index("row")
    baskets = rows.group_by(basket).agg(pl.col("ts").min().alias("bt"), pl.col("customer_id").first().alias("c"))
    baskets = baskets.sort((["bt"] if time else []) + basket).with_row_index("basket_idx").with_columns(pl.col("basket_idx").cast(pl.Int64))
    rows = rows.join(baskets.select([*basket, "basket_idx"]), on=basket, how="left")
    rows = rows.sort((["ts"] if time else []) + ["basket_idx", "item_id", "row"])
    return rows, baskets


@settings(max_examples=30, deadline=None)
@given(order_lines(), st.sampled_from(["order", "day", "none"]))
def test_build_matches_a_plain_polars_build(frame: pl.DataFrame, baskets: str) -> None:
    frame = frame.drop("event")
    if baskets == "order":
        ds = Dataset(frame, time_col="ts", basket_col="order_id")
        ref, bref = _reference(frame, ["order_id"], time=True)
    elif baskets == "day":
        ds = Dataset(frame.drop("order_id"), time_col="ts")
        ref, bref = _reference(frame.with_columns(pl.col("ts").dt.date().alias("day")), ["customer_id", "day"], time=True)
    else:
        ds = Dataset(frame.drop("order_id", "ts"))
        ref, bref = _reference(frame, ["customer_id"], time=False)
    got = ds.interactions
    assert got["customer_id"].to_list() == ref["customer_id"].to_list()
    assert got["item_id"].to_list() == ref["item_id"].to_list()
    assert got["basket_idx"].to_list() == ref["basket_idx"].to_list()
    if baskets != "none":
        assert got["timestamp"].to_list() == ref["ts"].to_list()
        assert ds.basket_time is not None and ds.basket_time.tolist() == bref["bt"].cast(pl.Datetime("us")).to_numpy().tolist()
    assert ds.customer_ids.ids(ds.basket_customer_idx) == bref["c"].to_list()


@settings(max_examples=30, deadline=None)
@given(order_lines())
def test_purchases_are_sorted_by_customer_item_time(frame: pl.DataFrame) -> None:
    ds = Dataset(frame, time_col="ts", basket_col="order_id", event_col="event")
    bought = frame.filter(pl.col("event") == "purchase")
    m = ds.purchases
    for c, cid in enumerate(ds.customer_ids.to_list()):
        mine = bought.filter(pl.col("customer_id") == cid).sort(["item_id", "ts"])
        row = slice(m.indptr[c], m.indptr[c + 1])
        assert ds.item_ids.ids(m.indices[row]) == mine["item_id"].to_list()
        assert m.data[row].tolist() == [t.timestamp() * 1e6 for t in mine["ts"].dt.replace_time_zone("UTC").to_list()]


def test_one_owner_check_still_names_the_shared_orders() -> None:
    frame = pl.DataFrame({"customer_id": ["a", "b", "a"], "item_id": [1, 2, 3], "order_id": ["o1", "o1", "o2"]})
    with pytest.raises(Exception, match=r"1 basket\(s\) in column 'order_id' belong to more than one customer, e\.g\. \['o1'\]"):
        Dataset(frame, basket_col="order_id")


def _renewal_reference(frame: pl.DataFrame, category: dict[int, str], min_gap_days: float) -> dict[str, tuple[int, int, int, list[float]]]:
    """Per category: buyers, repeaters, intervals and the quartiles (days), with python loops."""
    times: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
    for c, i, t in frame.select("customer_id", "item_id", "ts").iter_rows():
        times[(c, category[i])].append(t)
    gaps: dict[str, list[float]] = defaultdict(list)
    buyers: dict[str, int] = defaultdict(int)
    repeaters: dict[str, int] = defaultdict(int)
    for (_, cat), ts in times.items():
        ts.sort()
        buyers[cat] += 1
        mine = [(b - a) / DAY for a, b in zip(ts, ts[1:], strict=False) if (b - a) / DAY >= min_gap_days and b > a]
        gaps[cat] += mine
        repeaters[cat] += bool(mine)
    return {
        cat: (buyers[cat], repeaters[cat], len(gaps[cat]), np.quantile(gaps[cat], [0.25, 0.5, 0.75]).tolist() if gaps[cat] else [])
        for cat in sorted(set(category.values()))
    }


@settings(max_examples=25, deadline=None)
@given(order_lines(), st.sampled_from([0.0, 1.0, 14.0]))
def test_renewal_gap_statistics_match_a_python_reference(frame: pl.DataFrame, min_gap_days: float) -> None:
    frame = frame.drop("event")
    category = {i: "socks" if i % 2 else "tubes" for i in range(6)}
    catalog = pl.DataFrame({"item_id": list(category), "category": list(category.values())})
    ds = Dataset(frame, catalog, time_col="ts", basket_col="order_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "learnt nothing" on a tiny history: not the subject here
        model = Renewal(min_support=1, min_repeat_share=0.0, min_gap_days=min_gap_days).fit(ds)
    ref = _renewal_reference(frame, category, min_gap_days)
    for row in model.intervals_.iter_rows(named=True):
        buyers, repeaters, intervals, q = ref[row["category"]]
        assert (row["buyers"], row["repeaters"], row["intervals"]) == (buyers, repeaters, intervals)
        got = [row["q25_days"], row["median_days"], row["q75_days"]]
        assert got == ([None] * 3 if not q else pytest.approx(q, rel=1e-12))


@settings(max_examples=25, deadline=None)
@given(order_lines(), st.sampled_from([7.0, 30.0]))
def test_recency_weighted_votes_match_a_python_reference(frame: pl.DataFrame, half_life: float) -> None:
    frame = frame.drop("event")
    ds = Dataset(frame, time_col="ts", basket_col="order_id")
    model = Popularity(half_life_days=half_life).fit(ds)
    end = frame["ts"].max()
    best: dict[tuple[str, int], float] = {}
    for c, i, t in frame.select("customer_id", "item_id", "ts").iter_rows():
        w = 0.5 ** (((end - t) / DAY) / half_life)
        best[(c, i)] = max(best.get((c, i), 0.0), w)
    per_item: dict[int, float] = defaultdict(float)
    for (_, i), w in best.items():
        per_item[i] += w
    got = dict(zip(ds.item_ids.to_list(), model.popularity_.tolist(), strict=True))
    assert got == pytest.approx(dict(per_item), rel=1e-12)
