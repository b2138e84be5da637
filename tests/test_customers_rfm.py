"""recokit.customers.rfm: the tie rule against pandas, whole tables against an independent
computation, the segment table (coverage, first match, custom tables), reasons and errors."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import ConfigError, Dataset, DataWarning
from recokit.customers import DEFAULT_SEGMENTS, Segment, quintile_scores, rfm
from recokit.customers.rfm import assign_segments

START = dt.date(2024, 1, 1)


def pandas_scores(values, higher_is_better=True) -> list[int]:
    """ceil(5 x rank / n) with pandas' 'min' ranks: the documented rule, computed independently."""
    s = pd.Series(values, dtype=float)
    rank = s.rank(method="min", ascending=higher_is_better)
    return [int(math.ceil(5 * r / len(s) - 1e-12)) for r in rank]


@given(
    st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.0]), st.floats(0, 1e6, allow_nan=False)), min_size=1, max_size=60),
    st.booleans(),
)
def test_quintile_scores_equal_pandas_min_rank_with_heavy_ties_and_tiny_n(values, higher):
    assert quintile_scores(values, higher_is_better=higher).to_list() == pandas_scores(values, higher)


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40))
def test_scores_are_monotone_and_ties_share_a_score(values):
    scores = quintile_scores(values).to_list()
    for (v1, s1), (v2, s2) in itertools.combinations(zip(values, scores, strict=True), 2):
        assert (v1 == v2) <= (s1 == s2)
        assert (v1 < v2) <= (s1 <= s2)
    assert all(1 <= s <= 5 for s in scores)
    if len(set(values)) == len(values) and len(values) >= 5:
        assert min(scores) == 1 and max(scores) == 5


def test_tie_rule_examples_from_the_docs():
    assert quintile_scores([1, 1, 1, 1, 1, 9, 9, 9, 9, 9]).to_list() == [1] * 5 + [3] * 5
    assert quintile_scores([7]).to_list() == [5]
    assert quintile_scores([7, 8]).to_list() == [3, 5]
    with pytest.raises(ConfigError, match="must not be null or NaN"):
        quintile_scores([1.0, float("nan")])


@st.composite
def order_logs(draw):
    n = draw(st.integers(1, 30))
    customers = draw(st.lists(st.sampled_from("abcdefgh"), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))
    paid = draw(st.lists(st.sampled_from([5, 10, 10, 20, 100]), min_size=n, max_size=n))  # heavy ties
    lines = pl.DataFrame(
        {"customer_id": customers, "item_id": ["x"] * n, "order_id": list(range(n)), "day": [START + dt.timedelta(days=d) for d in days], "paid": [float(p) for p in paid]}
    )
    at = START + dt.timedelta(days=draw(st.integers(0, 520)))
    return lines, at, draw(st.sampled_from([60, 200, 365]))


def independent_rfm(lines: pl.DataFrame, at: dt.date, window: int) -> dict[str, tuple]:
    df = lines.to_pandas()
    df["day"] = pd.to_datetime(df["day"])
    df = df[df["day"] <= pd.Timestamp(at)]
    first = pd.Timestamp(at) - pd.Timedelta(days=window - 1)
    win = df[df["day"] >= first]
    out = {}
    ranked = sorted(win["customer_id"].unique())
    rec = {c: (pd.Timestamp(at) - df.loc[df["customer_id"] == c, "day"].max()).days for c in df["customer_id"].unique()}
    freq = {c: int((win["customer_id"] == c).sum()) for c in ranked}
    mon = {c: float(win.loc[win["customer_id"] == c, "paid"].sum()) for c in ranked}
    scores = {}
    if ranked:
        for key, values, higher in (("r", [rec[c] for c in ranked], False), ("f", [freq[c] for c in ranked], True), ("m", [mon[c] for c in ranked], True)):
            scores[key] = dict(zip(ranked, pandas_scores(values, higher), strict=True))
    for c in sorted(lines["customer_id"].unique()):
        if c in ranked:
            out[c] = (rec[c], freq[c], mon[c], scores["r"][c], scores["f"][c], scores["m"][c])
        elif c in rec:
            out[c] = (rec[c], 0, 0.0, 1, 1, 1)
        else:
            out[c] = (None, 0, 0.0, None, None, None)
    return out


@settings(max_examples=40)
@given(order_logs())
def test_rfm_equals_an_independent_computation(log):
    lines, at, window = log
    ds = Dataset(lines, time_col="day", basket_col="order_id", price_col="paid")
    got = rfm(ds, at=at, window_days=window)
    want = independent_rfm(lines, at, window)
    assert got["customer_id"].to_list() == sorted(want)
    rows = got.select("customer_id", "recency_days", "frequency", "monetary", "r", "f", "m").rows()
    assert {row[0]: row[1:] for row in rows} == want
    assert got.filter(pl.col("r").is_null())["segment"].to_list() == ["prospect"] * int(got["r"].is_null().sum())


@settings(max_examples=20)
@given(order_logs(), st.randoms(use_true_random=False))
def test_rfm_is_deterministic_and_ignores_row_order(log, rnd):
    lines, at, window = log
    order = list(range(lines.height))
    rnd.shuffle(order)
    a = rfm(Dataset(lines, time_col="day", basket_col="order_id", price_col="paid"), at=at, window_days=window)
    b = rfm(Dataset(lines[order], time_col="day", basket_col="order_id", price_col="paid"), at=at, window_days=window)
    assert a.equals(b)


def first_match_by_hand(row: dict, table) -> str:
    if row["r"] is None:
        return "prospect"
    for s in table:
        ok = all(lo <= row[k] <= hi for k, (lo, hi) in (("r", s.r), ("f", s.f), ("m", s.m)))
        ok = ok and (s.max_orders is None or row["frequency"] <= s.max_orders)
        ok = ok and (s.max_tenure_days is None or row["tenure_days"] <= s.max_tenure_days)
        if ok:
            return s.name
    return "unsegmented"


def test_default_segments_cover_every_score_combination():
    rows = [
        {"r": r, "f": f, "m": m, "frequency": freq, "tenure_days": tenure}
        for r, f, m in itertools.product(range(1, 6), repeat=3)
        for freq, tenure in ((0, 800), (1, 30), (1, 400), (3, 100), (12, 700))
    ]
    got = assign_segments(pl.DataFrame(rows)).to_list()
    assert "unsegmented" not in got
    assert got == [first_match_by_hand(row, DEFAULT_SEGMENTS) for row in rows]
    assert set(got) == {s.name for s in DEFAULT_SEGMENTS}


box = st.tuples(st.integers(1, 5), st.integers(1, 5)).map(sorted).map(tuple)


@given(
    st.lists(st.builds(Segment, name=st.sampled_from("ABCDEFG"), r=box, f=box, m=box, max_orders=st.none() | st.integers(0, 3)), min_size=1, max_size=5, unique_by=lambda s: s.name),
    st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(0, 5)), min_size=1, max_size=20),
)
def test_custom_tables_assign_the_first_matching_segment(table, rows):
    frame = pl.DataFrame([{"r": r, "f": f, "m": m, "frequency": q, "tenure_days": 100} for r, f, m, q in rows])
    assert assign_segments(frame, table).to_list() == [first_match_by_hand(row, table) for row in frame.to_dicts()]


def shop() -> Dataset:
    lines = pl.DataFrame(
        {
            "customer_id": ["ann", "ann", "bob", "old"],
            "item_id": ["shoe", "gel", "gel", "bike"],
            "order_id": [1, 2, 3, 4],
            "day": ["2025-06-01", "2025-06-25", "2025-06-29", "2023-01-15"],
            "paid": [100.0, 20.0, 40.5, 800.0],
        }
    )
    return Dataset(lines, customers=pl.DataFrame({"customer_id": ["ann", "bob", "old", "zoe"]}), time_col="day", basket_col="order_id", price_col="paid")


def test_reasons_say_every_score_with_its_input_and_nobody_is_dropped():
    table = rfm(shop(), at="2025-06-30")
    assert table["customer_id"].to_list() == ["ann", "bob", "old", "zoe"]
    reasons = dict(zip(table["customer_id"], table["reason"], strict=True))
    # two ranked customers: ranks 1 and 2 of n = 2 give 3 and 5
    assert reasons["ann"] == "R=3: last order 5 days ago; F=5: 2 orders in the last 365 days; M=5: 120.00 spent -> loyal (R 3-5, F 3-5)"
    assert reasons["bob"] == "R=5: last order 1 day ago; F=3: 1 order in the last 365 days; M=3: 40.50 spent -> new (at most 1 order, first order within 90 days)"
    assert reasons["old"] == (
        "R=1: last order 897 days ago, none in the last 365 days (scored lowest); F=1: 0 orders in the last 365 days; "
        "M=1: 0.00 spent -> dormant (R 1-2, F 1-2)"
    )
    assert reasons["zoe"] == "no order up to 2025-06-30 -> prospect"
    assert rfm(shop(), at="2025-06-30", window_days=None).filter(customer_id="old")["reason"].item().startswith("R=2: last order 897 days ago; F=2: 1 order in all history")


def test_units_instead_of_money():
    table = rfm(shop(), at="2025-06-30", price="units")
    assert table.filter(customer_id="ann")["reason"].item().endswith("M=5: 2.0 units bought -> loyal (R 3-5, F 3-5)")


def test_custom_table_without_catch_all_warns_with_the_count():
    vip = [Segment("vip", r=(5, 5))]
    with pytest.warns(DataWarning, match="2 of 4 customers match no segment"):
        table = rfm(shop(), at="2025-06-30", segments=vip)
    assert table["segment"].to_list() == ["unsegmented", "vip", "unsegmented", "prospect"]
    mapping = rfm(shop(), at="2025-06-30", segments=[{"name": "vip", "r": (5, 5)}, {"name": "rest"}])
    assert mapping["segment"].to_list() == ["rest", "vip", "rest", "prospect"]


@pytest.mark.parametrize(
    "segments, message",
    [
        ([Segment("a"), Segment("a")], "unique names"),
        ([Segment("prospect")], "none called 'prospect'"),
        ([], "at least one segment"),
        ([{"name": "a", "rr": (1, 2)}], r"unknown Segment field\(s\) \['rr'\]"),
        (Segment("a"), "must be a list of Segment"),
    ],
)
def test_bad_segment_tables(segments, message):
    with pytest.raises(ConfigError, match=message):
        rfm(shop(), segments=segments)


@pytest.mark.parametrize("kwargs", [{"r": (0, 5)}, {"f": (4, 2)}, {"m": (1, 6)}, {"r": (1.0, 2)}, {"max_orders": -1}, {"name": ""}])
def test_bad_segments(kwargs):
    with pytest.raises(ConfigError):
        Segment(**({"name": "x"} | kwargs))


def test_sports_shop_uses_every_default_segment():
    from recokit.datasets import sports_shop

    ds = sports_shop(600, seed=11)
    table = rfm(ds)
    assert table.height == ds.n_customers
    assert set(table["segment"]) == {s.name for s in DEFAULT_SEGMENTS} | {"prospect"}
    ranked = table.filter(pl.col("frequency") > 0)
    assert ranked.select(pl.col("r", "f", "m").is_between(1, 5).all()).row(0) == (True, True, True)
    inactive = table.filter((pl.col("frequency") == 0) & pl.col("recency_days").is_not_null())
    assert inactive.height and inactive.select((pl.col("r") == 1) & (pl.col("f") == 1) & (pl.col("m") == 1)).to_series().all()


def test_lines_without_a_price_count_as_zero_with_a_counted_warning():
    lines = pl.DataFrame({"customer_id": ["a", "a", "b"], "item_id": ["x", "y", "x"], "order_id": [1, 1, 2], "day": ["2025-01-01"] * 3, "paid": [10.0, None, 5.0]})
    ds = Dataset(lines, time_col="day", basket_col="order_id", price_col="paid")
    with pytest.warns(DataWarning, match="1 of 3 purchase lines have no price paid: counted as 0 spent"):
        table = rfm(ds)
    assert table["monetary"].to_list() == [10.0, 5.0]
