"""recokit.customers lifecycle, transitions and practice changes: stages against a plain-Python
reading of the documented rule, transitions equal to the measures at both dates, practice
changes on hand-made histories."""

from __future__ import annotations

import datetime as dt
import statistics

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit import ConfigError, DataError, Dataset
from recokit.customers import STAGES, lifecycle, practice_changes, rfm, transitions

START = dt.date(2024, 1, 1)


@st.composite
def logs(draw):
    n = draw(st.integers(1, 30))
    customers = draw(st.lists(st.sampled_from("abcdef"), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 600), min_size=n, max_size=n))
    lines = pl.DataFrame({"customer_id": customers, "item_id": ["x"] * n, "day": [START + dt.timedelta(days=d) for d in days]})
    return lines, START + dt.timedelta(days=draw(st.integers(0, 650))), draw(st.sampled_from([1.0, 1.5, 2.5])), draw(st.sampled_from([1, 14, 30]))


def stages_by_hand(lines: pl.DataFrame, at: dt.date, factor: float, min_gap: int, new_days: int = 90) -> dict[str, tuple]:
    days = {}
    for c, _, d in lines.iter_rows():
        if d <= at:
            days.setdefault(c, set()).add(d)
    own = {}
    for c, ds in days.items():
        ds = sorted(ds)
        if len(ds) > 1:
            own[c] = statistics.median((b - a).days for a, b in zip(ds, ds[1:], strict=False))
    shop = max(statistics.median(own.values()), min_gap) if own else new_days
    out = {}
    for c in sorted(set(lines["customer_id"])):
        if c not in days:
            out[c] = ("prospect", None)
            continue
        gap = max(own[c], min_gap) if c in own else shop
        since = (at - max(days[c])).days
        if (at - min(days[c])).days <= new_days:
            stage = "new"
        else:
            ratio = since / gap
            stage = "active" if ratio <= factor else "at_risk" if ratio <= 2 * factor else "dormant" if ratio <= 4 * factor else "lost"
        out[c] = (stage, float(gap))
    return out


@settings(max_examples=40)
@given(logs())
def test_stages_follow_the_documented_rule(log):
    lines, at, factor, min_gap = log
    got = lifecycle(Dataset(lines, time_col="day"), at=at, overdue_factor=factor, min_gap_days=min_gap)
    assert set(got["stage"]) <= set(STAGES)
    want = stages_by_hand(lines, at, factor, min_gap)
    assert {c: (s, g) for c, s, g in got.select("customer_id", "stage", "typical_gap_days").iter_rows()} == {
        c: (s, g if s != "prospect" else None) for c, (s, g) in want.items()
    }


def rhythm(days: list[int], customer: str = "ann") -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [customer] * len(days), "item_id": ["x"] * len(days), "day": [START + dt.timedelta(days=d) for d in days]})


@pytest.mark.parametrize(
    "since, stage",
    [(45, "active"), (46, "at_risk"), (90, "at_risk"), (91, "dormant"), (180, "dormant"), (181, "lost")],
)
def test_boundaries_of_a_thirty_day_rhythm(since, stage):
    ds = Dataset(rhythm([0, 30, 60, 90, 120]), time_col="day")
    at = START + dt.timedelta(days=120 + since)
    got = lifecycle(ds, at=at).row(0, named=True)
    assert got["stage"] == stage and got["typical_gap_days"] == 30.0
    if stage != "active":
        assert got["reason"] == f"{stage}: last order {since} days ago, {since / 30:.1f}x their typical gap of 30 days (overdue after 45 days)"


def test_single_order_customers_use_the_shops_gap_and_say_so():
    lines = pl.concat([rhythm([0, 20, 40, 60]), rhythm([0, 40], "bob"), rhythm([10], "cid")])
    got = lifecycle(Dataset(lines, time_col="day"), at=START + dt.timedelta(days=200))
    cid = got.filter(customer_id="cid").row(0, named=True)
    assert cid["typical_gap_days"] == 30.0  # the median of ann's 20 and bob's 40
    assert "the shop's typical gap (one order day only) of 30 days" in cid["reason"]


def test_prospects_and_new_customers():
    ds = Dataset(rhythm([100]), customers=pl.DataFrame({"customer_id": ["ann", "zoe"]}), time_col="day")
    got = lifecycle(ds, at=START + dt.timedelta(days=130)).sort("customer_id")
    assert got["stage"].to_list() == ["new", "prospect"]
    assert got["reason"].to_list() == ["new: first order 30 days ago (within 90 days)", "prospect: no order up to 2024-05-10"]
    assert lifecycle(ds, at=START + dt.timedelta(days=50))["stage"].to_list() == ["prospect", "prospect"]


@pytest.mark.parametrize("kwargs", [{"overdue_factor": 0}, {"new_days": 0}, {"min_gap_days": 1.5}, {"overdue_factor": True}])
def test_bad_lifecycle_parameters(kwargs):
    with pytest.raises(ConfigError):
        lifecycle(Dataset(rhythm([0, 10]), time_col="day"), **kwargs)


@settings(max_examples=10)
@given(logs(), st.integers(1, 300))
def test_transitions_are_the_measures_at_both_dates(log, gap):
    lines, at, _, _ = log
    ds = Dataset(lines, time_col="day")
    start, end = at, at + dt.timedelta(days=gap)
    for by, measure, column, options in (("rfm", rfm, "segment", {"price": "units"}), ("lifecycle", lifecycle, "stage", {})):
        got = transitions(ds, start, end, by=by, **options)
        assert got["before"].to_list() == measure(ds, at=start, **options)[column].to_list()
        assert got["after"].to_list() == measure(ds, at=end, **options)[column].to_list()
        assert got["moved"].to_list() == [b != a for b, a in zip(got["before"], got["after"], strict=True)]


def test_transitions_errors_and_options():
    ds = Dataset(rhythm([0, 30, 60]), time_col="day")
    with pytest.raises(ConfigError, match="start must come before end"):
        transitions(ds, "2024-06-01", "2024-01-01")
    with pytest.raises(ConfigError, match="by must be"):
        transitions(ds, "2024-01-01", "2024-06-01", by="clusters")
    got = transitions(ds, "2024-02-15", "2024-12-01", by="lifecycle", overdue_factor=3.0)
    assert got.row(0) == ("ann", "new", "dormant", True)  # 275 days: 9.2 gaps, within 4 x 3


CATALOG = pl.DataFrame({"item_id": ["shoe", "gel", "bike", "tube"], "sport": ["running", "running", "cycling", "cycling"]})


def practice(rows) -> Dataset:
    lines = pl.DataFrame(rows, schema=["customer_id", "item_id", "day"], orient="row")
    return Dataset(lines.with_columns(pl.col("day").str.to_date()), CATALOG, time_col="day")


def test_a_runner_taking_up_cycling_is_flagged_once_per_new_sport():
    ds = practice(
        [
            ("ann", "shoe", "2024-03-01"), ("ann", "gel", "2025-04-01"), ("ann", "bike", "2025-05-01"), ("ann", "tube", "2025-06-01"),
            ("bob", "shoe", "2024-03-01"), ("bob", "gel", "2025-04-01"), ("bob", "gel", "2025-04-02"), ("bob", "gel", "2025-04-03"), ("bob", "tube", "2025-06-01"),
            ("cid", "bike", "2025-05-01"), ("cid", "tube", "2025-06-01"),  # new customer: not a change
            ("dan", "bike", "2024-03-01"), ("dan", "tube", "2025-06-01"), ("dan", "tube", "2025-06-02"),  # cycled before
        ]
    )
    got = practice_changes(ds, at="2025-06-30")
    assert got.select("customer_id", "sport", "share", "lines").rows() == [("ann", "cycling", 2 / 3, 2)]
    assert got["since"].to_list() == [dt.date(2025, 5, 1)]
    # bob's single tube (1 line, 25 %) passes with lower thresholds
    low = practice_changes(ds, at="2025-06-30", min_lines=1, min_share=0.2)
    assert low.select("customer_id", "sport").rows() == [("ann", "cycling"), ("bob", "cycling")]


def test_practice_changes_errors():
    ds = practice([("ann", "shoe", "2024-03-01")])
    with pytest.raises(DataError, match="no column 'brand'"):
        practice_changes(ds, column="brand")
    with pytest.raises(ConfigError, match="min_share must be a number between 0 and 1"):
        practice_changes(ds, min_share=1.5)
    with pytest.raises(ConfigError, match="window_days must be an int > 0"):
        practice_changes(ds, window_days=0)


def test_a_customer_back_after_a_dormant_spell_is_welcomed_back():
    """ann orders monthly, vanishes for a year and comes back: active again, welcome_back; bob
    keeps his rhythm: active, not welcomed back; cid is away: not active, never welcomed."""
    import polars as pl

    from recokit import Dataset
    from recokit.customers import lifecycle

    days = {"ann": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2025-05-20"],
            "bob": ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-05-28"],
            "cid": ["2024-01-01", "2024-02-01", "2024-03-01"]}
    rows = [(c, "gel", d) for c, ds in days.items() for d in ds]
    orders = pl.DataFrame(rows, schema=["customer_id", "item_id", "day"], orient="row")
    table = lifecycle(Dataset(orders, time_col="day"), at="2025-06-01")
    got = {r["customer_id"]: (r["stage"], r["welcome_back"]) for r in table.iter_rows(named=True)}
    assert got["ann"] == ("active", True) and got["bob"] == ("active", False) and got["cid"][1] is False
    ann = table.filter(pl.col("customer_id") == "ann")["reason"][0]
    assert "welcome back: this order came after 414 days away" in ann  # 2024-04-01 -> 2025-05-20
