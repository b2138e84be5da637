"""Dataset: validation errors (one test per bad input), id maps and matrices (properties)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recokit import DataError, Dataset, DataWarning, IdMap
from recokit._errors import ConfigError


def orders(**extra) -> pl.DataFrame:
    base = {
        "customer_id": ["ann", "ann", "bob", "cid"],
        "item_id": ["bike", "helmet", "bike", "pump"],
        "order_id": [1, 1, 2, 3],
        "ts": ["2024-01-01 10:00:00", "2024-01-01 10:00:00", "2024-02-03 09:00:00", "2024-03-04 12:00:00"],
        "qty": [1, 2, 1, 1],
    }
    base.update(extra)
    return pl.DataFrame(base)


CATALOG = pl.DataFrame({"item_id": ["bike", "helmet", "pump", "lock"], "category": ["bike", "helmet", "pump", "lock"]})


# -- input formats ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["polars", "pandas", "arrow", "csv", "parquet"])
def test_every_input_format_gives_the_same_dataset(kind, tmp_path):
    frame = orders()
    if kind == "pandas":
        src = frame.to_pandas()
    elif kind == "arrow":
        src = frame.to_arrow()
    elif kind == "csv":
        src = tmp_path / "o.csv"
        frame.write_csv(src)
    elif kind == "parquet":
        src = tmp_path / "o.parquet"
        frame.write_parquet(src)
    else:
        src = frame
    ds = Dataset(src, CATALOG, time_col="ts", basket_col="order_id", quantity_col="qty")
    ref = Dataset(frame, CATALOG, time_col="ts", basket_col="order_id", quantity_col="qty")
    assert (ds.user_items != ref.user_items).nnz == 0
    assert ds.interactions.equals(ref.interactions)


def test_catalog_defines_item_universe_including_unsold_items():
    ds = Dataset(orders(), CATALOG)
    assert ds.item_ids.to_list() == ["bike", "helmet", "pump", "lock"]
    assert ds.user_items.shape == (3, 4)
    assert ds.user_items[:, 3].sum() == 0


def test_customers_table_adds_customers_without_orders():
    customers = pl.DataFrame({"customer_id": ["ann", "zoe"], "consent": [True, False]})
    ds = Dataset(orders(), customers=customers)
    assert "zoe" in ds.customer_ids and "bob" in ds.customer_ids
    assert ds.customer_row("zoe") == {"customer_id": "zoe", "consent": False}


def test_baskets_default_to_customer_day_without_order_column():
    frame = orders().with_columns(pl.col("ts").str.slice(0, 10))
    ds = Dataset(frame, time_col="ts")
    assert ds.n_baskets == 3  # ann's two lines share a day


def test_event_weights_and_quantity_multiply():
    frame = orders(event=["purchase", "view", "add_to_cart", "purchase"])
    ds = Dataset(frame, quantity_col="qty", event_col="event")
    w = dict(zip(zip(ds.interactions["customer_id"], ds.interactions["item_id"], strict=True), ds.interactions["weight"], strict=True))
    assert w[("ann", "helmet")] == pytest.approx(2 * 0.1)
    assert w[("bob", "bike")] == pytest.approx(0.5)


def test_timestamps_accept_datetime_date_strings_and_unix_seconds():
    t = [dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 2, 3, 9), dt.datetime(2024, 3, 4, 12)]
    as_dt = Dataset(orders(ts=t), time_col="ts").interactions["timestamp"]
    as_unix = Dataset(orders(ts=[int(x.replace(tzinfo=dt.UTC).timestamp()) for x in t]), time_col="ts").interactions["timestamp"]
    as_str = Dataset(orders(), time_col="ts").interactions["timestamp"]
    assert as_dt.equals(as_unix) and as_dt.equals(as_str)
    day_first = Dataset(orders(ts=["01-01-2024", "01-01-2024", "03-02-2024", "04-03-2024"]), time_col="ts", time_format="%d-%m-%Y")
    assert day_first.interactions["timestamp"].dt.month().to_list() == [1, 1, 2, 3]
    month_first = Dataset(orders(ts=["01-01-2024", "01-01-2024", "03-02-2024", "04-03-2024"]), time_col="ts", time_format="%m-%d-%Y")
    assert month_first.interactions["timestamp"].dt.month().to_list() == [1, 1, 3, 4]
    # one day above 12 tells the order: no format needed
    assert Dataset(orders(ts=["01-01-2024", "01-01-2024", "03-02-2024", "24-03-2024"]), time_col="ts").interactions["timestamp"].dt.month().to_list() == [1, 1, 2, 3]
    assert Dataset(orders(ts=["01-01-2024", "01-01-2024", "03-02-2024", "04-23-2024"]), time_col="ts").interactions["timestamp"].dt.month().to_list() == [1, 1, 3, 4]


def test_ambiguous_day_month_dates_name_both_readings():
    # US month-first exports used to be read day first without a word
    with pytest.raises(DataError, match=r"'03-02-2024' reads as 03 February 2024 day first \(%d-%m-%Y\) or as March 02, 2024 month first \(%m-%d-%Y\)") as err:
        Dataset(orders(ts=["01-01-2024", "01-01-2024", "03-02-2024", "04-03-2024"]), time_col="ts")
    assert err.value.column == "ts" and "time_format='%d-%m-%Y'" in str(err.value)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-05-31T14:02:00Z", dt.datetime(2024, 5, 31, 14, 2)),
        ("2024-05-31T14:02:00+02:00", dt.datetime(2024, 5, 31, 12, 2)),
        ("2024-05-31 14:02:00.250-05:00", dt.datetime(2024, 5, 31, 19, 2, 0, 250000)),
        ("2024-05-31T23:30:00-01:00", dt.datetime(2024, 6, 1, 0, 30)),
    ],
)
def test_iso_timestamps_with_an_offset_are_converted_to_utc(text, utc):
    ds = Dataset(orders(ts=[text] * 4), time_col="ts")
    assert ds.interactions["timestamp"].to_list() == [utc] * 4


def test_offsets_mixed_with_naive_times_are_refused():
    with pytest.raises(DataError, match=r"column 'ts' mixes 3 time\(s\) with a UTC offset and 1 without one"):
        Dataset(orders(ts=["2024-05-31T14:02:00Z"] * 3 + ["2024-05-31T14:02:00"]), time_col="ts")


def test_time_format_is_the_only_format_tried():
    with pytest.raises(DataError, match=r"1 value\(s\) of column 'ts' do not match time_format='%d/%m/%Y', e.g. row 3: '2024-01-01'"):
        Dataset(orders(ts=["01/01/2024"] * 3 + ["2024-01-01"]), time_col="ts", time_format="%d/%m/%Y")
    with pytest.raises(ConfigError, match="time_format was given without time_col"):
        Dataset(orders(), time_format="%d/%m/%Y")


# -- one test per bad input: error type + the message names the problem --------------------------
def test_missing_required_column():
    with pytest.raises(DataError, match=r"missing required column\(s\) \['sku'\]"):
        Dataset(orders(), item_col="sku")


def test_missing_optional_column_that_was_named():
    with pytest.raises(DataError, match="'when'"):
        Dataset(orders(), time_col="when")


@pytest.mark.parametrize("column", ["customer_id", "item_id"])
def test_null_ids(column):
    frame = orders().with_columns(pl.when(pl.int_range(pl.len()) == 2).then(None).otherwise(pl.col(column)).alias(column))
    with pytest.raises(DataError, match=rf"column '{column}' has 1 null value\(s\), e.g. at rows \[2\]"):
        Dataset(frame)


def test_unparseable_timestamps():
    with pytest.raises(DataError, match=r"1 value\(s\) of column 'ts' are not parseable timestamps.*'yesterday'"):
        Dataset(orders(ts=["2024-01-01", "2024-01-02", "yesterday", "2024-01-04"]), time_col="ts")


def test_null_timestamps():
    with pytest.raises(DataError, match=r"'ts' has 1 null"):
        Dataset(orders(ts=["2024-01-01", None, "2024-01-03", "2024-01-04"]), time_col="ts")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), 0.0, None])
def test_bad_quantities(bad):
    with pytest.raises(DataError, match=r"1 row\(s\) of column 'qty' are negative, zero, infinite, NaN or null"):
        Dataset(orders(qty=[1.0, bad, 1.0, 2.0]), quantity_col="qty")


def test_non_numeric_quantity():
    with pytest.raises(DataError, match="'qty' must be numeric"):
        Dataset(orders(qty=["1", "2", "1", "1"]), quantity_col="qty")


def test_price_col_keeps_the_unit_price_paid_per_line():
    ds = Dataset(orders(paid=[900.0, 40.5, 880.0, None]), time_col="ts", price_col="paid")
    got = ds.interactions.sort("customer_id", "item_id").select("customer_id", "item_id", "price")
    assert got.schema["price"] == pl.Float64
    assert got.rows() == [("ann", "bike", 900.0), ("ann", "helmet", 40.5), ("bob", "bike", 880.0), ("cid", "pump", None)]
    assert "price" not in Dataset(orders(paid=[1, 2, 3, 4])).interactions.columns  # only when named


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_negative_or_nan_prices(bad):
    with pytest.raises(DataError, match=r"1 value\(s\) of column 'paid' are negative, infinite or NaN"):
        Dataset(orders(paid=[1.0, bad, 1.0, 2.0]), price_col="paid")


def test_non_numeric_or_missing_price_column():
    with pytest.raises(DataError, match="'paid' must hold numeric prices"):
        Dataset(orders(paid=["1", "2", "1", "1"]), price_col="paid")
    with pytest.raises(DataError, match=r"missing required column\(s\) \['paid'\]"):
        Dataset(orders(), price_col="paid")


def test_duplicate_catalog_ids():
    cat = pl.concat([CATALOG, CATALOG.head(1)])
    with pytest.raises(DataError, match=r"catalog: 2 rows share an item id.*'bike'"):
        Dataset(orders(), cat)


def test_items_absent_from_catalog_error_by_default():
    with pytest.raises(DataError, match=r"(?s)1 row\(s\) refer to items absent from the catalog.*'pump'.*unknown_items='drop'"):
        Dataset(orders(), CATALOG.filter(pl.col("item_id") != "pump"))


def test_items_absent_from_catalog_dropped_with_a_counted_warning():
    with pytest.warns(DataWarning, match=r"Dropped 1 of 4 rows"):
        ds = Dataset(orders(), CATALOG.filter(pl.col("item_id") != "pump"), unknown_items="drop")
    assert ds.n_interactions == 3


def test_unknown_event_type():
    with pytest.raises(DataError, match=r"event types without a weight: \['click'\]"):
        Dataset(orders(event=["purchase", "click", "view", "view"]), event_col="event")


def test_mismatched_id_types():
    cat = CATALOG.with_columns(pl.int_range(pl.len()).alias("item_id"))
    with pytest.raises(DataError, match="item ids are String in interactions but Int64 in the catalog"):
        Dataset(orders(), cat)


def test_basket_shared_by_two_customers():
    with pytest.raises(DataError, match="belong to more than one customer"):
        Dataset(orders(order_id=[1, 1, 1, 3]), basket_col="order_id")


def test_duplicate_customers():
    with pytest.raises(DataError, match="customers: 2 rows share a customer id"):
        Dataset(orders(), customers=pl.DataFrame({"customer_id": ["ann", "ann"]}))


def test_not_a_table():
    with pytest.raises(DataError, match="expected a polars/pandas DataFrame"):
        Dataset([1, 2, 3])


def test_missing_file():
    with pytest.raises(DataError, match="file not found"):
        Dataset("/no/such/file.csv")


def test_bad_policy():
    with pytest.raises(ConfigError, match="unknown_items"):
        Dataset(orders(), unknown_items="ignore")


def test_with_catalog_refreshes_attributes_and_keeps_matrices():
    ds = Dataset(orders(), CATALOG.with_columns(pl.lit(5).alias("stock")))
    new = ds.with_catalog(CATALOG.with_columns(pl.Series("stock", [0, 1, 2, 3])).reverse())
    assert new.catalog["item_id"].to_list() == ds.catalog["item_id"].to_list()
    assert new.catalog["stock"].to_list() == [0, 1, 2, 3]
    assert new.user_items is ds.user_items
    with pytest.raises(DataError, match="exactly the dataset's 4 item ids"):
        ds.with_catalog(CATALOG.head(2))


# -- properties ---------------------------------------------------------------------------------
# a Series holds one type: ids are all ints or all strings
id_lists = st.one_of(
    st.lists(st.integers(-50, 50), unique=True, max_size=40),
    st.lists(st.text(min_size=1, max_size=4), unique=True, max_size=40),
)


@given(id_lists)
def test_idmap_round_trips(values):
    m = IdMap(values, name="item")
    idx = m.index(values)
    assert idx.tolist() == list(range(len(values)))
    assert m.ids(idx) == values
    assert all(m.id(m.get(v)) == v for v in values)


def test_idmap_rejects_duplicates_and_reports_unknown():
    with pytest.raises(DataError, match="unique"):
        IdMap(["a", "a"])
    with pytest.raises(DataError, match=r"1 unknown item id\(s\), e.g. \['z'\]"):
        IdMap(["a"], name="item").index(["a", "z"])


interaction_rows = st.lists(
    st.tuples(st.integers(0, 8), st.sampled_from("abcdefg"), st.integers(0, 5), st.integers(1, 4)), min_size=1, max_size=60
)


@given(interaction_rows)
def test_matrices_equal_the_interactions(rows):
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order", "qty"], orient="row")
    frame = frame.with_columns((pl.col("customer_id") * 100 + pl.col("order")).alias("order_id"))
    ds = Dataset(frame, basket_col="order_id", quantity_col="qty")
    # independent reference: a dict of sums
    ref_ui: dict = {}
    ref_bi: set = set()
    for c, i, o, q in rows:
        ref_ui[(c, i)] = ref_ui.get((c, i), 0) + q
        ref_bi.add((c * 100 + o, i))
    ui = ds.user_items.tocoo()
    got = {(ds.customer_ids.id(r), ds.item_ids.id(c)): v for r, c, v in zip(ui.row, ui.col, ui.data, strict=True)}
    assert got == pytest.approx(ref_ui)
    bi = ds.basket_items.tocoo()
    owner = ds.interactions.group_by("basket_idx").agg(pl.col("customer_id").first())
    assert set(bi.data.tolist()) <= {1.0}
    assert bi.nnz == len(ref_bi)
    assert ds.n_baskets == len({(c * 100 + o) for c, _, o, _ in rows})
    assert ds.basket_customer_idx.tolist() == [
        ds.customer_ids.get(c) for c in owner.sort("basket_idx")["customer_id"].to_list()
    ]


@given(interaction_rows, st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_dataset(rows, rnd):
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order", "qty"], orient="row")
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    other = pl.DataFrame(shuffled, schema=frame.columns, orient="row")
    a, b = Dataset(frame, quantity_col="qty"), Dataset(other, quantity_col="qty")
    assert a.item_ids == b.item_ids and a.customer_ids == b.customer_ids
    assert abs(a.user_items - b.user_items).max() < 1e-12


@given(interaction_rows, st.integers(0, 8))
def test_filter_keeps_id_maps(rows, cut):
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order", "qty"], orient="row")
    ds = Dataset(frame)
    sub = ds.filter(pl.col("customer_id") < cut)
    assert sub.item_ids == ds.item_ids and sub.customer_ids == ds.customer_ids
    assert sub.user_items.shape == ds.user_items.shape
    assert sub.n_interactions == sum(1 for r in rows if r[0] < cut)
    assert sub.basket_items.shape[0] == sub.n_baskets == len(np.unique(sub.interactions["basket_idx"].to_numpy()))


def test_pandas_nullable_and_categorical_ids():
    frame = pd.DataFrame({"customer_id": pd.Categorical(["a", "b"]), "item_id": pd.array([1, 2], dtype="Int64")})
    ds = Dataset(frame)
    assert ds.item_ids.to_list() == [1, 2] and ds.customer_ids.to_list() == ["a", "b"]
    assert Dataset(pa.table({"customer_id": [1], "item_id": ["x"]})).n_interactions == 1


def test_unix_milliseconds_are_refused_with_a_hint():
    with pytest.raises(DataError, match=r"(?s)are not Unix seconds between 1900 and 2200.*milliseconds: divide them by 1000"):
        Dataset(orders(ts=[1_700_000_000_000] * 4), time_col="ts")


def test_null_order_ids():
    with pytest.raises(DataError, match=r"column 'order_id' has 1 null value\(s\), e.g. at rows \[3\]"):
        Dataset(orders(order_id=[1, 1, 2, None]), basket_col="order_id")


def test_with_catalog_errors_are_recokit_errors():
    ds = Dataset(orders(), CATALOG)
    with pytest.raises(DataError, match=r"with_catalog: missing required column\(s\) \['item_id'\]"):
        ds.with_catalog(CATALOG.rename({"item_id": "sku"}))
    with pytest.raises(DataError, match="item ids are String in the dataset but Int64 in the new catalogue"):
        ds.with_catalog(CATALOG.with_columns(pl.int_range(pl.len()).alias("item_id")))


def test_history_and_customer_row_of_unknown_or_wrong_kind_ids_are_empty():
    ds = Dataset(pl.DataFrame({"customer_id": [1, 2], "item_id": ["a", "b"]}), customers=pl.DataFrame({"customer_id": [1]}))
    assert ds.history("1").height == 0 and ds.history(3).height == 0
    assert ds.history(1)["item_id"].to_list() == ["a"]
    assert ds.customer_row("1") is None and ds.customer_row(1) == {"customer_id": 1}


purchase_logs = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 40), st.sampled_from(["purchase", "view", "add_to_cart"])),
    min_size=1,
    max_size=40,
)


@given(purchase_logs, st.integers(0, 45))
def test_last_purchase_reads_purchase_events_up_to_now_only(rows, now_day):
    """Against a plain scan of the rows: views and cart adds are never purchases, a purchase
    after ``now`` does not count, and the age is that of the latest purchase before ``now``."""
    from recokit.data import last_purchase

    start = dt.datetime(2024, 1, 1)
    frame = pl.DataFrame(
        {
            "customer_id": [c for c, _, _, _ in rows],
            "item_id": [f"i{i}" for _, i, _, _ in rows],
            "t": [start + dt.timedelta(days=d, hours=d % 5) for _, _, d, _ in rows],
            "event": [e for _, _, _, e in rows],
        }
    )
    ds = Dataset(frame, time_col="t", event_col="event")
    now = start + dt.timedelta(days=now_day)
    pairs = [(c, i) for c in range(4) for i in range(5) if c in ds.customer_ids.to_list() and f"i{i}" in ds.item_ids.to_list()]
    cidx = np.array([ds.customer_ids.get(c) for c, _ in pairs], dtype=np.int64)
    iidx = ds.item_ids.index([f"i{i}" for _, i in pairs])
    bought, days = last_purchase(ds, cidx, iidx, now)
    for j, (c, i) in enumerate(pairs):
        times = [start + dt.timedelta(days=d, hours=d % 5) for cc, ii, d, e in rows if (cc, ii) == (c, i) and e == "purchase"]
        times = [t for t in times if t <= now]
        assert bought[j] == bool(times)
        if times:
            assert days[j] == pytest.approx((now - max(times)).total_seconds() / 86_400)
        else:
            assert np.isnan(days[j])
    # an anonymous row (-1) has no purchases; without an event column every row is one
    assert not last_purchase(ds, np.array([-1]), np.array([0]), now)[0][0]
    plain = Dataset(frame.drop("event"), time_col="t")
    assert plain.purchases.nnz == frame.height


def test_ago_never_says_more_than_the_day():
    from recokit.data import ago

    said = [ago(d) for d in np.linspace(0, 3000, 600)]
    assert not any(any(ch.isdigit() for ch in s) and ":" in s for s in said)
    assert {s.split()[-2] for s in said if s.endswith("ago")} <= {"days", "weeks", "months", "years"}
    with pytest.raises(ValueError, match="finite"):
        ago(float("nan"))


_ISO_WRITTEN = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d"]


@given(
    st.lists(st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2150, 1, 1)), min_size=1, max_size=8),
    st.sampled_from(_ISO_WRITTEN),
    st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
    st.booleans(),
)
def test_text_times_read_back_what_was_written(times, fmt, zone, with_offset):
    """Differential: times written by Python's strftime (with an offset: the same instant in
    another zone) are read back as the UTC instants Python computes."""
    def truncate(t: dt.datetime) -> dt.datetime:
        return t.replace(hour=0, minute=0, second=0, microsecond=0) if fmt == "%Y-%m-%d" else t if "%f" in fmt else t.replace(microsecond=0)

    want = [truncate(t) for t in times]
    if with_offset and fmt != "%Y-%m-%d":
        text = [t.replace(tzinfo=dt.UTC).astimezone(zone).strftime(fmt) + t.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%z") for t in want]
    else:
        text = [t.strftime(fmt) for t in want]
    frame = pl.DataFrame({"customer_id": ["a"] * len(text), "item_id": ["x"] * len(text), "ts": text})
    assert Dataset(frame, time_col="ts").interactions["timestamp"].sort().to_list() == sorted(want)


@given(st.lists(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2150, 1, 1)), min_size=1, max_size=8), st.sampled_from("/-."))
def test_day_month_dates_are_read_or_refused_never_misread(days, sep):
    text = [d.strftime(f"%m{sep}%d{sep}%Y") for d in days]  # a US export
    frame = pl.DataFrame({"customer_id": ["a"] * len(text), "item_id": ["x"] * len(text), "ts": text})
    want = [dt.datetime.combine(d, dt.time()) for d in days]
    if all(d.day <= 12 for d in days) and any(d.day != d.month for d in days):
        with pytest.raises(DataError, match="ambiguous"):
            Dataset(frame, time_col="ts")
    else:
        assert Dataset(frame, time_col="ts").interactions["timestamp"].sort().to_list() == sorted(want)
    assert Dataset(frame, time_col="ts", time_format=f"%m{sep}%d{sep}%Y").interactions["timestamp"].sort().to_list() == sorted(want)
