"""Every public view of a Dataset against a plain polars / python reference built here, on
hypothesis frames: the table (built on first read), the matrices (built from the unsorted rows
when their values do not depend on row order), the purchase history (built on first read), the
baskets and the id maps; and the same views whichever is read first.

The frames mix integer ids of a compact range (numbered by a lookup table), integer ids far apart
and text ids (numbered by a sort or a join), duplicated lines, order ids or daily baskets or
none, times that differ inside an order, events with fractional weights, fractional quantities,
a catalogue with unsold products and a customer table with customers who bought nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import DataError, Dataset, Popularity
from recokit.data.arrays import dense_codes, lookup_codes
from recokit.persist import load, save

DAY = dt.timedelta(days=1)
EVENT_WEIGHT = {"purchase": 1.0, "add_to_cart": 0.5, "view": 0.1}  # the documented defaults
START = dt.datetime(2024, 1, 1)


def _ids(kind: str, values: list[int]) -> list:
    """Ids of a kind: compact integers, integers far apart (no lookup table), or text."""
    if kind == "compact":
        return [v + 3 for v in values]
    if kind == "wide":
        return [v * 10**15 - 7 for v in values]
    return [f"x{v}" for v in values]


@st.composite
def shops(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 30))
    order = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    owner = {o: draw(st.integers(0, 3)) for o in sorted(set(order))}
    day = {o: draw(st.integers(0, 40)) for o in sorted(set(order))}
    shift = draw(st.lists(st.sampled_from([0, 0, 0, 5]), min_size=n, max_size=n))  # hours after the order's time
    kinds = {c: draw(st.sampled_from(["compact", "wide", "text"])) for c in ("customer", "item", "order")}
    frame = pl.DataFrame(
        {
            "cust": _ids(kinds["customer"], [owner[o] for o in order]),
            "item": _ids(kinds["item"], draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))),
            "order": _ids(kinds["order"], order),
            "ts": [START + day[o] * DAY + dt.timedelta(hours=h) for o, h in zip(order, shift, strict=True)],
            "qty": draw(st.lists(st.sampled_from([1.0, 1.0, 2.0, 3.0, 0.1, 0.2, 0.3, 0.7]), min_size=n, max_size=n)),
            "event": draw(st.lists(st.sampled_from(["purchase", "purchase", "view", "add_to_cart"]), min_size=n, max_size=n)),
        }
    )
    if draw(st.booleans()):  # integer quantities only: the sums are exact in any order
        frame = frame.with_columns(pl.col("qty").ceil().cast(pl.Int64))
    opts = {
        "baskets": draw(st.sampled_from(["order", "day", "none"])),
        "events": draw(st.booleans()),
        "quantity": draw(st.booleans()),
        "catalog": draw(st.booleans()),
        "customers": draw(st.booleans()),
    }
    if opts["baskets"] == "none":
        frame = frame.drop("ts")
    return {"frame": frame, "kinds": kinds, **opts}


def _build(s: dict) -> Dataset:
    frame: pl.DataFrame = s["frame"]
    catalog = customers = None
    if s["catalog"]:  # every sold item, one unsold, in an order of their own
        sold = frame["item"].unique().sort(descending=True).to_list()
        catalog = pl.DataFrame({"item": [*sold, _ids(s["kinds"]["item"], [9])[0]], "name": [f"p{i}" for i in range(len(sold) + 1)]})
    if s["customers"]:
        known = frame["cust"].unique().sort().to_list()
        customers = pl.DataFrame({"cust": [_ids(s["kinds"]["customer"], [8])[0], *known[:1]], "level": ["new", "old"][: min(2, len(known) + 1)]})
    return Dataset(
        frame if s["events"] else frame.drop("event"),
        catalog,
        customers,
        customer_col="cust",
        item_col="item",
        time_col="ts" if "ts" in frame.columns else None,
        basket_col="order" if s["baskets"] == "order" else None,
        quantity_col="qty" if s["quantity"] else None,
        event_col="event" if s["events"] else None,
    )


def _reference(s: dict) -> dict:
    """The views, computed the plain way: sorted id lists, python sums, a group-by per basket, a
    sort of the baskets by (first time, key), a stable sort of the rows by (time, basket, item)."""
    frame: pl.DataFrame = s["frame"].with_row_index("row")
    timed = "ts" in frame.columns
    known = frame["cust"].to_list() + ([_ids(s["kinds"]["customer"], [8])[0]] if s["customers"] else [])
    customer_ids = sorted(set(known))
    if s["catalog"]:
        item_ids = [*sorted(set(frame["item"].to_list()), reverse=True), _ids(s["kinds"]["item"], [9])[0]]
    else:
        item_ids = sorted(set(frame["item"].to_list()))
    cidx = {c: i for i, c in enumerate(customer_ids)}
    iidx = {c: i for i, c in enumerate(item_ids)}
    rows = frame.with_columns(
        pl.col("cust").replace_strict(cidx, return_dtype=pl.Int64).alias("customer_idx"),
        pl.col("item").replace_strict(iidx, return_dtype=pl.Int64).alias("item_idx"),
        (pl.col("qty").cast(pl.Float64) if s["quantity"] else pl.lit(1.0)).alias("quantity"),
    )
    event_w = pl.col("event").replace_strict(EVENT_WEIGHT, return_dtype=pl.Float64) if s["events"] else pl.lit(1.0)
    rows = rows.with_columns((pl.col("quantity") * event_w).alias("weight"))
    key = {"order": ["order"], "day": ["customer_idx", "day"], "none": ["customer_idx"]}[s["baskets"]]
    if s["baskets"] == "day":
        rows = rows.with_columns(pl.col("ts").dt.date().alias("day"))
    baskets = rows.group_by(key).agg(pl.col("customer_idx").first().alias("owner"), *([pl.col("ts").min().alias("bt")] if timed else []))
    baskets = baskets.sort((["bt"] if timed else []) + key).with_row_index("basket_idx").with_columns(pl.col("basket_idx").cast(pl.Int64))
    rows = rows.join(baskets.select([*key, "basket_idx"]), on=key, how="left")
    rows = rows.sort((["ts"] if timed else []) + ["basket_idx", "item_idx", "row"])
    columns = [
        pl.col("cust").alias("customer_id"), pl.col("item").alias("item_id"), "customer_idx", "item_idx", "basket_idx", "weight", "quantity",
        *([pl.col("ts").cast(pl.Datetime("us")).alias("timestamp")] if timed else []), *(["event"] if s["events"] else []),
    ]  # fmt: skip
    table = rows.select(columns)
    ui: dict[tuple[int, int], float] = defaultdict(float)
    for c, i, w in table.select("customer_idx", "item_idx", "weight").iter_rows():
        ui[(c, i)] += w
    bought = table.filter(pl.col("event") == "purchase") if s["events"] else table
    log: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for c, i, t in bought.select("customer_idx", "item_idx", "timestamp" if timed else pl.lit(None).alias("t")).iter_rows():
        log[c].append((i, (t - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1) if t is not None else 0.0))
    return {
        "customer_ids": customer_ids, "item_ids": item_ids, "table": table, "ui": ui,
        "baskets": baskets, "log": {c: sorted(v) for c, v in log.items()}, "timed": timed,
    }  # fmt: skip


def _matrices(ds: Dataset) -> list[np.ndarray]:
    return [a for m in (ds.user_items, ds.basket_items, ds.purchases) for a in (m.data, m.indices, m.indptr)]


@settings(max_examples=40, deadline=None)
@given(shops())
def test_every_view_equals_a_plain_reference(s: dict) -> None:
    ds = _build(s)
    ref = _reference(s)
    assert ds.customer_ids.to_list() == ref["customer_ids"]
    assert ds.item_ids.to_list() == ref["item_ids"]
    # sizes and flags are read without building the table
    assert (ds.n_interactions, ds.n_baskets, ds.has_time) == (s["frame"].height, ref["baskets"].height, ref["timed"])
    assert ds.only_purchases == (not s["events"] or bool((s["frame"]["event"] == "purchase").all()))
    assert ds.last_time == (s["frame"]["ts"].max() if ref["timed"] else None)
    ui = ds.user_items.toarray()
    want = np.zeros(ui.shape)
    for (c, i), w in ref["ui"].items():
        want[c, i] = w
    assert ui.shape == (len(ref["customer_ids"]), len(ref["item_ids"]))
    np.testing.assert_allclose(ui, want, rtol=1e-12, atol=0)  # exact when the weights are integers, see below
    assert ds.basket_items.toarray().tolist() == [
        [1.0 if (b, i) in set(ref["table"].select("basket_idx", "item_idx").iter_rows()) else 0.0 for i in range(ds.n_items)] for b in range(ds.n_baskets)
    ]
    m = ds.purchases
    for c in range(ds.n_customers):
        row = slice(m.indptr[c], m.indptr[c + 1])
        assert list(zip(m.indices[row].tolist(), m.data[row].tolist(), strict=True)) == ref["log"].get(c, [])
    assert "interactions" not in vars(ds)  # nothing above needed the sorted table
    assert ds.basket_customer_idx.tolist() == ref["baskets"]["owner"].to_list()
    if ref["timed"]:
        assert ds.basket_time is not None and ds.basket_time.tolist() == ref["baskets"]["bt"].cast(pl.Datetime("us")).to_numpy().tolist()
    got = ds.interactions
    assert got.schema == ref["table"].schema
    assert got.equals(ref["table"]), (got, ref["table"])


@settings(max_examples=40, deadline=None)
@given(shops(), st.sampled_from(["table first", "matrices first"]))
def test_the_views_are_the_same_bits_whichever_is_read_first(s: dict, first: str) -> None:
    """Read first, the table builds the matrices from its sorted rows (the order every build used
    before the table was lazy); read last, the matrices come from the rows as given. Same bits."""
    eager, lazy = _build(s), _build(s)
    eager.interactions  # noqa: B018
    if first == "table first":
        lazy.interactions  # noqa: B018
    for a, b in zip(_matrices(eager), _matrices(lazy), strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert eager.interactions.equals(lazy.interactions)
    assert (eager.n_interactions, eager.last_time, eager.only_purchases) == (lazy.n_interactions, lazy.last_time, lazy.only_purchases)
    if not s["events"] and s["frame"]["qty"].dtype == pl.Int64:  # integer weights: the sums are exact
        ref = _reference(s)
        assert {(int(c), int(i)): w for c, i, w in zip(*eager.user_items.nonzero(), eager.user_items.data, strict=True)} == dict(ref["ui"])


@settings(max_examples=30, deadline=None)
@given(shops(), st.sampled_from(["cust", "item", "order", "ts", "qty"]), st.data())
def test_a_null_in_a_read_column_is_refused(s: dict, column: str, data: st.DataObject) -> None:
    frame: pl.DataFrame = s["frame"]
    if column not in frame.columns or (column == "order" and s["baskets"] != "order") or (column == "qty" and not s["quantity"]):
        return
    row = data.draw(st.integers(0, frame.height - 1))
    s = {**s, "frame": frame.with_columns(pl.when(pl.int_range(pl.len()) == row).then(None).otherwise(pl.col(column)).alias(column))}
    with pytest.raises(DataError):
        _build(s)


def test_fractional_weights_are_added_in_the_tables_order() -> None:
    # one customer buys one item three times, the rows given newest first: the weights are added
    # oldest first, as the table lists them -- (0.1 + 0.2) + 0.3, not (0.3 + 0.2) + 0.1
    frame = pl.DataFrame({"customer_id": [1, 1, 1], "item_id": [5, 5, 5], "ts": [START + d * DAY for d in (3, 2, 1)], "qty": [0.3, 0.2, 0.1]})
    assert (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1
    assert Dataset(frame, time_col="ts", quantity_col="qty").user_items.data.tolist() == [(0.1 + 0.2) + 0.3]


def test_a_model_fitted_before_the_table_is_read_saves_the_table(tmp_path: Path) -> None:
    frame = pl.DataFrame({"customer_id": [3, 1, 3, 2], "item_id": [7, 7, 5, 5], "order_id": [2, 1, 2, 3], "ts": [START + d * DAY for d in (3, 1, 3, 2)]})
    ds = Dataset(frame, time_col="ts", basket_col="order_id")
    model = Popularity().fit(ds)
    assert "interactions" not in vars(ds)
    save(model, tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.dataset_.interactions.equals(Dataset(frame, time_col="ts", basket_col="order_id").interactions)
    assert back.dataset_.interactions["item_id"].to_list() == [7, 5, 5, 7]  # by basket (first time), then item


@given(st.lists(st.integers(-(2**62), 2**62), max_size=30), st.sampled_from([1, 10**12]))
def test_dense_codes_are_np_unique(values: list[int], spread: int) -> None:
    arr = (np.array(values, dtype=np.int64) // (2**62 // 50)) * spread  # clustered, or spread wide
    found = dense_codes(arr)
    if found is None:
        assert len(arr) == 0 or int(arr.max()) - int(arr.min()) + 1 > 2 * len(arr) + (1 << 20)
        return
    uniques, inverse = np.unique(arr, return_inverse=True)
    assert found[0].tolist() == uniques.tolist() and found[1].tolist() == inverse.tolist()


@given(st.lists(st.integers(-40, 40), unique=True, max_size=20), st.lists(st.integers(-60, 60), max_size=20), st.sampled_from([1, 10**13]))
def test_lookup_codes_are_a_dictionary_lookup(ids: list[int], values: list[int], spread: int) -> None:
    position = {v * spread: i for i, v in enumerate(ids)}
    found = lookup_codes(np.array(ids, dtype=np.int64) * spread, np.array(values, dtype=np.int64) * spread)
    if found is None:
        assert spread > 1
        return
    assert found.tolist() == [position.get(v * spread, -1) for v in values]
