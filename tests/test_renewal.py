from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

from recokit import ConfigError, DataError, Dataset, DataWarning, Query, Renewal
from recokit.testing import RecommenderContract

DAY = dt.timedelta(days=1)


class TestRenewalContract(RecommenderContract):
    learns_from = None
    learns_why_not = "renewal timing of repeat purchases: the planted shop has none, so Renewal has no opinion there (back-fill only)"
    planted_fit_warns = DataWarning  # ... and says so: "Renewal learnt nothing"

    def make_model(self):
        return Renewal()


@pytest.fixture(scope="module")
def model(shop):
    return Renewal().fit(shop)


def _category(shop: Dataset) -> dict:
    return dict(zip(shop.catalog["item_id"].to_list(), shop.catalog["category"].to_list(), strict=True))


def _dates(shop: Dataset, n: int = 8) -> list[dt.datetime]:
    t0, t1 = shop.interactions["timestamp"].min(), shop.last_time
    return [t0 + (t1 - t0) * (i + 1) / n for i in range(n)] + [t1 + 180 * DAY, t1 + 400 * DAY]


# -- what is learnt -------------------------------------------------------------------------
def test_intervals_equal_a_plain_python_count(model, shop):
    """Independent implementation: loop over each customer's purchases of each category."""
    cat = _category(shop)
    times: dict[tuple, list] = defaultdict(list)
    for c, i, t in shop.interactions.select("customer_id", "item_id", "timestamp").iter_rows():
        times[(c, cat[i])].append(t)
    gaps: dict[str, list[float]] = defaultdict(list)
    buyers: dict[str, set] = defaultdict(set)
    repeaters: dict[str, set] = defaultdict(set)
    for (c, k), ts in times.items():
        ts.sort()
        buyers[k].add(c)
        for a, b in zip(ts, ts[1:], strict=False):
            if (b - a) >= 14 * DAY:
                gaps[k].append((b - a) / DAY)
                repeaters[k].add(c)
    table = {r["category"]: r for r in model.intervals_.iter_rows(named=True)}
    for k in buyers:
        row = table[k]
        assert row["buyers"] == len(buyers[k])
        assert row["repeaters"] == len(repeaters[k])
        assert row["intervals"] == len(gaps[k])
        if gaps[k]:
            assert row["median_days"] == pytest.approx(float(np.median(gaps[k])), rel=1e-9)
            assert row["q25_days"] == pytest.approx(float(np.percentile(gaps[k], 25)), rel=1e-9)
            assert row["q75_days"] == pytest.approx(float(np.percentile(gaps[k], 75)), rel=1e-9)
        renewable = (
            len(gaps[k]) >= 20
            and len(repeaters[k]) / len(buyers[k]) >= 0.25
            and (row["q75_days"] - row["q25_days"]) / row["median_days"] <= 1.0
        )
        assert row["renewable"] == renewable, k


def test_running_shoes_renew_and_durables_do_not(model):
    t = model.intervals_
    shoes = t.filter(pl.col("category") == "running_shoes").row(0, named=True)
    assert shoes["renewable"]
    assert 150 <= shoes["median_days"] <= 270  # the shop's runners renew every 6-8 months
    for durable in ("child_bike", "adult_bike", "tent"):
        row = t.filter(pl.col("category") == durable).row(0, named=True)
        assert not row["renewable"] and row["why"]


# -- the promises of issue 4 ----------------------------------------------------------------
def test_never_suggests_a_second_child_bike(model, shop):
    cat = _category(shop)
    bikes = {i for i, c in cat.items() if c == "child_bike"}
    parents = shop.interactions.filter(pl.col("item_id").is_in(list(bikes)))["customer_id"].unique().sort().to_list()
    assert len(parents) >= 20
    bike_idx = shop.item_ids.index(sorted(bikes))
    for now in _dates(shop):
        table = model.recommend_many(parents, k=10, now=now, backfill=False, reasons=False)
        assert not set(table["item_id"].to_list()) & bikes
        for c in parents[:: max(1, len(parents) // 15)]:
            assert np.isnan(model.score(Query(customer_id=c, now=now))[bike_idx]).all()


def test_a_non_renewable_category_is_never_due(model, shop):
    cat = shop.catalog["category"].to_numpy()
    durable = set(model.intervals_.filter(~pl.col("renewable"))["category"].to_list())
    mask = np.isin(cat, list(durable))
    assert mask.any()
    customers = shop.customer_ids.to_list()[::7]
    for now in _dates(shop, 4):
        for c in customers:
            s = model.score(Query(customer_id=c, now=now))
            assert np.isnan(s[mask]).all()


def _due_runner(model, shop):
    """A runner whose last running-shoe purchase is ~7 months (median to q75) before the data's end."""
    row = model.intervals_.filter(pl.col("category") == "running_shoes").row(0, named=True)
    shoes = shop.catalog.filter(pl.col("category") == "running_shoes")["item_id"]
    last = (
        shop.interactions.filter(pl.col("item_id").is_in(shoes.implode()))
        .group_by("customer_id")
        .agg(pl.col("timestamp").max().alias("t"), pl.col("item_id").sort_by("timestamp").last().alias("item"))
        .with_columns(((pl.lit(shop.last_time) - pl.col("t")).dt.total_seconds() / 86400).alias("age"))
        .filter(pl.col("age").is_between(row["median_days"], row["q75_days"]))
        .sort("customer_id")
    )
    assert last.height > 0, "the shop has a runner due for renewal"
    return last.row(0, named=True), row


def test_suggests_running_shoes_to_a_runner_due_for_renewal(model, shop):
    runner, row = _due_runner(model, shop)
    recs = model.recommend(Query(customer_id=runner["customer_id"], k=3), backfill=False)
    assert len(recs) >= 1
    top = recs[0]
    assert _category(shop)[top.item_id] == "running_shoes"
    assert top.item_id == runner["item"]  # prefer_previous: the model they run in
    assert top.score == pytest.approx(1.0)
    assert top.reason.startswith("time to renew your ")
    assert "months ago; customers renew running shoes every " in top.reason
    # a month after the purchase it is too early: no opinion on running shoes
    early = runner["t"] + 30 * DAY
    s = model.score(Query(customer_id=runner["customer_id"], now=early))
    assert np.isnan(s[shop.item_ids.index(shop.catalog.filter(pl.col("category") == "running_shoes")["item_id"].to_list())]).all()


def test_batch_equals_one_by_one_at_any_date(model, shop):
    customers = shop.customer_ids.to_list()[::5]
    for now in _dates(shop, 3):
        batch = model._score(model.resolve_customers(customers, k=1, now=now, exclude_purchased=False)).to_dense()
        for r, c in enumerate(customers):
            np.testing.assert_array_equal(batch[r], model.score(Query(customer_id=c, now=now)))


# -- a known answer by hand ---------------------------------------------------------------
def _socks_shop():
    start = dt.datetime(2024, 1, 1)
    rows = []
    for c in range(4):
        for n in range(4):
            rows.append((f"c{c}", f"sock{c % 2}", start + (30 * n + c) * DAY))
    rows += [("c4", "sock0", start), ("c4", "sock0", start + 30 * DAY), ("c4", "sock1", start + 60 * DAY)]
    rows += [("c0", "tent", start), ("c1", "tent", start), ("c2", "tent", start + 5 * DAY), ("c2", "tent", start + 300 * DAY)]
    inter = pl.DataFrame(rows, schema=["customer_id", "item_id", "ts"], orient="row")
    cat = pl.DataFrame({"item_id": ["sock0", "sock1", "tent"], "category": ["socks", "socks", "tent"], "name": ["Sock A", "Sock B", "Tent"]})
    return Dataset(inter, cat, time_col="ts")


def test_known_answer_socks_every_month():
    ds = _socks_shop()
    m = Renewal(min_support=3).fit(ds)
    socks = m.intervals_.filter(pl.col("category") == "socks").row(0, named=True)
    assert socks["median_days"] == pytest.approx(30.0) and socks["renewable"]
    assert not m.intervals_.filter(pl.col("category") == "tent")["renewable"][0]
    last = ds.history("c0")["timestamp"].max()  # c0 always buys sock0; last on day 90
    due = m.score(Query(customer_id="c0", now=last + 30 * DAY))
    i = ds.item_ids.get
    assert due[i("sock0")] == pytest.approx(1.0)  # the socks c0 always buys, fully due
    assert 0 < due[i("sock1")] < due[i("sock0")]
    assert np.isnan(due[i("tent")])
    assert m.explain(Query(customer_id="c0", now=last + 30 * DAY), "sock0") == (
        "time to renew your Sock A (sock0): bought 4 weeks ago; customers renew socks every 4 weeks"
    )
    assert np.isnan(m.score(Query(customer_id="c0", now=last + 5 * DAY))).all()  # too early
    assert np.isnan(m.score(Query(customer_id="c0", now=last + 200 * DAY))).all()  # lapsed
    assert np.isnan(m.score(Query(items=["sock0"]))).all()  # no customer: no opinion


def test_the_product_bought_last_comes_first_then_earlier_ones():
    ds = _socks_shop()
    m = Renewal(min_support=3).fit(ds)
    s = m.score(Query(customer_id="c4", now=dt.datetime(2024, 1, 1) + 90 * DAY))
    i = ds.item_ids.get
    assert s[i("sock1")] == pytest.approx(1.0) and s[i("sock0")] == pytest.approx(0.95)
    plain = Renewal(min_support=3, prefer_previous=False).fit(ds).score(Query(customer_id="c4", now=dt.datetime(2024, 1, 1) + 90 * DAY))
    # without the preference only popularity counts: 3 buyers each, so both equally (fully) due
    assert plain[i("sock0")] == pytest.approx(1.0) and plain[i("sock1")] == pytest.approx(1.0)


def test_due_categories_table():
    ds = _socks_shop()
    m = Renewal(min_support=3).fit(ds)
    last = ds.history("c0")["timestamp"].max()
    t = m.due_categories("c0", now=last + 31 * DAY)
    assert t["category"].to_list() == ["socks"]
    assert t["elapsed_days"][0] == pytest.approx(31.0)
    assert t["last_item_id"][0] == "sock0"


@pytest.mark.parametrize(
    "kwargs",
    [{"min_support": 0}, {"min_repeat_share": 1.5}, {"max_spread": 0}, {"early": 0}, {"late": 0.5}, {"prefer_previous": "yes"}],
)
def test_bad_parameters(shop, kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        Renewal(**kwargs).fit(shop)


def test_needs_times_and_the_category_column(shop):
    with pytest.raises(DataError, match="timestamps"):
        Renewal().fit(Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]})))
    with pytest.raises(DataError, match="no column 'family'"):
        Renewal(category_column="family").fit(shop)


def test_the_documentation_examples_run():
    import doctest
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "models" / "renewal.md"
    result = doctest.testfile(str(doc), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 10


def test_demo_sections_show_an_alternative_and_a_renewal(shop, model):
    import io

    from recokit import ContentBased
    from recokit.cli.demo import section_out_of_stock, section_renewal
    from recokit.rules import Filter, Ruled

    out = io.StringIO()
    models = {"content": ContentBased().fit(shop), "renewal": Ruled(model, [Filter("stock > 0")]).fit(shop)}
    section_out_of_stock(shop, models, out, 2)
    section_renewal(shop, models, out, 3)
    text = out.getvalue()
    assert "is out of stock. Instead:" in text and "1. " in text
    assert "time to renew your " in text and "customers renew running shoes every " in text


# -- a batch mixing every kind of row ---------------------------------------------------------
def _stacked(model, queries):
    """The resolved queries as one batch (they share ``now`` and ``k``), as a composite sends it."""
    from recokit import Batch

    return Batch.concat([model.resolve(q) for q in queries])

def test_a_mixed_batch_equals_its_requests_one_by_one(model, shop):
    """Customers with and without context items, anonymous and unknown rows in one batch, at
    several dates: each row's scores and reasons equal those of its own request."""
    customers = shop.customer_ids.to_list()
    items = shop.item_ids.to_list()
    n_reasons = 0
    for now in _dates(shop, 3):
        queries = [
            *(Query(customer_id=c, now=now) for c in customers[::7]),
            Query(customer_id=customers[1], items=items[:2], now=now),
            Query(items=items[3:5], now=now),
            Query(customer_id="nobody", now=now),
        ]
        batch = _stacked(model, queries)
        block = model._score(batch)
        for r, q in enumerate(queries):
            want = model.score(q)
            np.testing.assert_array_equal(block.row(r), want)
            due = np.flatnonzero(np.isfinite(want))
            got = model._explain(batch, np.full(len(due), r), due, block)
            assert got == [model.explain(q, shop.item_ids.id(int(i))) for i in due]
            n_reasons += len(due)
    assert n_reasons > 0


def test_a_renewal_that_learns_nothing_says_what_and_what_to_do():
    ds = _socks_shop()
    socks = Renewal(min_support=3).fit(ds).intervals_.filter(pl.col("category") == "socks")["intervals"][0]
    # asking for more repurchase intervals than the history has: no category is renewable
    with pytest.warns(DataWarning, match=rf"Renewal learnt nothing: none of the 2 categories of column 'category' is renewable \('socks': only {socks} repurchase intervals \(min_support=1000\)") as rec:
        m = Renewal(min_support=1000).fit(ds)
    assert "lower min_support / min_repeat_share" in str(rec[0].message)
    assert not m.intervals_["renewable"].any()
    assert np.isnan(m.score(Query(customer_id="c0"))).all()  # what the warning says: no opinion on anyone
