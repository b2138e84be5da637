"""contact_plan: the season test (skiers hear of it in September-November, never in
April-June), abandoned carts (24 h), consent, one message per customer and period, renewals,
items under a recommender. Expected sets are computed here from the raw tables."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from recokit import ConfigError, DataError, Dataset, Popularity
from recokit.customers import KINDS, contact_plan
from recokit.datasets import sports_shop, sports_shop_tables

DAY_US = 86_400_000_000


@pytest.fixture(scope="module")
def tables():
    return sports_shop_tables(1500, seed=0, web_events=True)


@pytest.fixture(scope="module")
def shop(tables):
    t = tables
    return Dataset(t.interactions, t.catalog, t.customers, time_col="timestamp", basket_col="order_id", quantity_col="quantity", event_col="event")


@pytest.fixture(scope="module")
def consenting(tables):
    return set(tables.customers.filter(pl.col("consent_email"))["customer_id"].to_list())


def _end_of(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.max)


def _ski_buyers(tables, before: str, months: set[int]) -> set[str]:
    lines = tables.interactions.filter(pl.col("event") == "purchase", pl.col("timestamp") <= _end_of(before))
    ski = lines.join(tables.catalog.select("item_id", "sport"), on="item_id").filter(sport="ski")
    return set(ski.filter(pl.col("timestamp").dt.month().is_in(sorted(months)))["customer_id"].to_list())


def test_skiers_hear_of_the_ski_season_in_september_to_november_and_never_in_april_to_june(shop, tables, consenting):
    months_with_ski = set()
    for month in range(1, 13):
        on = f"2025-{month:02d}-06"
        season = contact_plan(shop, on=on, kinds=["season"])
        ski = set(season.filter(pl.col("reason").str.contains(r"\bski \("))["customer_id"].to_list())
        if ski:
            months_with_ski.add(month)
            # every one of them bought ski gear in a past winter and accepts e-mails; every
            # consenting customer who bought ski gear in the heart of winter is told
            assert ski <= _ski_buyers(tables, on, {11, 12, 1, 2, 3}) & consenting
            assert ski >= _ski_buyers(tables, on, {12, 1, 2}) & consenting
    assert months_with_ski == {9, 10, 11}
    for month in (4, 5, 6):  # with every kind, still no ski season message in spring
        plan = contact_plan(shop, on=f"2025-{month:02d}-15")
        assert plan.filter(pl.col("kind") == "season", pl.col("reason").str.contains(r"\bski \(")).height == 0


@pytest.mark.parametrize("on", ["2025-03-03", "2025-07-21", "2025-10-06", "2025-12-29"])
def test_abandoned_carts_are_the_planted_ones_24_hours_old_not_bought_since(shop, tables, consenting, on):
    at = _end_of(on)
    at_us = int((at - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
    planted = tables.abandoned.with_columns(pl.col("timestamp").cast(pl.Int64).alias("t"))
    window = planted.filter((pl.col("t") + DAY_US <= at_us) & (pl.col("t") >= at_us - 7 * DAY_US))
    buys = tables.interactions.filter(pl.col("event") == "purchase").select("customer_id", "item_id", pl.col("timestamp").cast(pl.Int64).alias("bt"))
    bought = window.join(buys, on=["customer_id", "item_id"]).filter((pl.col("bt") >= pl.col("t")) & (pl.col("bt") <= at_us))
    left = window.join(bought.select("customer_id", "item_id", "t"), on=["customer_id", "item_id", "t"], how="anti")
    expected = set(left["customer_id"].to_list()) & consenting
    assert len(expected) >= 2  # the case is not vacuous
    plan = contact_plan(shop, on=on)
    carts = plan.filter(kind="abandoned_cart")
    assert set(carts["customer_id"].to_list()) == expected
    # sent 24 h after the (latest) cart add, never before the plan's day
    latest = left.group_by("customer_id").agg(pl.col("t").max())
    for customer, when in carts.select("customer_id", "when").iter_rows():
        t = latest.filter(customer_id=customer)["t"][0]
        assert when == max(dt.date.fromisoformat(on), (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=t + DAY_US)).date())


def _tiny(rows, consent=None):
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "timestamp", "event", "order_id"], orient="row").with_columns(pl.col("timestamp").str.to_datetime())
    catalog = pl.DataFrame({"item_id": ["gel", "shoe"], "category": ["gel", "shoe"], "name": ["Energy gel", "Running shoe"]})
    customers = None
    if consent is not None:
        customers = pl.DataFrame({"customer_id": list(consent), "consent_email": list(consent.values())}, schema={"customer_id": pl.String, "consent_email": pl.Boolean})
    return Dataset(frame, catalog, customers, time_col="timestamp", basket_col="order_id", event_col="event")


def test_a_cart_is_abandoned_only_after_24_hours_without_buying_the_item():
    rows = [
        ("old", "shoe", "2025-06-29 09:00", "add_to_cart", "s1"),        # 24 h before the 30th 09:00
        ("fresh", "shoe", "2025-06-30 08:00", "add_to_cart", "s2"),      # not yet 24 h old at the end of the 30th
        ("bought", "shoe", "2025-06-28 10:00", "add_to_cart", "s3"),
        ("bought", "shoe", "2025-06-28 13:00", "purchase", "o3"),        # bought 3 h later
        ("late", "shoe", "2025-06-26 10:00", "add_to_cart", "s4"),
        ("late", "shoe", "2025-06-29 10:00", "purchase", "o4"),          # bought after 3 days: no follow-up either
        ("stale", "shoe", "2025-06-20 10:00", "add_to_cart", "s5"),      # over 7 days: too old to chase
        ("other", "shoe", "2025-06-28 10:00", "add_to_cart", "s6"),
        ("other", "gel", "2025-06-28 11:00", "purchase", "o6"),          # bought something else: the shoe is still left
        ("again", "shoe", "2025-06-25 10:00", "add_to_cart", "s7"),
        ("again", "shoe", "2025-06-25 10:05", "purchase", "o7"),         # that cart was bought...
        ("again", "shoe", "2025-06-28 10:00", "add_to_cart", "s8"),      # ...a second pair left in the cart is not
    ]
    ds = _tiny(rows, {c: True for c in ("old", "fresh", "bought", "late", "stale", "other", "again")})
    plan = contact_plan(ds, on="2025-06-30", kinds=["abandoned_cart"])
    assert sorted(plan["customer_id"].to_list()) == ["again", "old", "other"]
    assert set(plan["when"].to_list()) == {dt.date(2025, 6, 30)}
    assert plan.filter(customer_id="old")["items"][0].to_list() == [{"item_id": "shoe", "reason": "in your cart since 2025-06-29 09:00"}]
    # on the 29th the 'old' cart is 15 h old (09:00 to 23:59): not abandoned yet
    assert "old" not in contact_plan(ds, on="2025-06-29", kinds=["abandoned_cart"])["customer_id"].to_list()


def test_never_a_customer_without_email_consent():
    rows = [(c, "shoe", "2025-06-28 10:00", "add_to_cart", f"s{i}") for i, c in enumerate(["yes", "no", "null", "norow"])]
    ds = _tiny(rows, {"yes": True, "no": False, "null": None})
    assert contact_plan(ds, on="2025-06-30")["customer_id"].to_list() == ["yes"]
    with pytest.raises(DataError, match="consent"):
        contact_plan(_tiny(rows), on="2025-06-30")
    # several consent columns: every one must be true
    both = _tiny(rows, {"yes": True, "no": True, "null": True})
    both.customers = both.customers.with_columns(pl.Series("consent_personalization", [True, False, None]))
    assert contact_plan(both, on="2025-06-30", consent=["consent_email", "consent_personalization"])["customer_id"].to_list() == ["yes"]


def test_every_planned_customer_consents_on_the_shop(shop, consenting):
    plan = contact_plan(shop, on="2025-10-06")
    assert plan.height > 100 and set(plan["customer_id"].to_list()) <= consenting


def test_one_message_per_customer_and_the_first_kind_they_qualify_for_wins(shop):
    on = "2025-05-05"
    alone = {kind: set(contact_plan(shop, on=on, kinds=[kind])["customer_id"].to_list()) for kind in KINDS}
    for order in (list(KINDS), list(reversed(KINDS))):
        plan = contact_plan(shop, on=on, kinds=order)
        assert plan["customer_id"].is_unique().all()
        expected = {}
        for kind in order:
            for c in alone[kind]:
                expected.setdefault(c, kind)
        assert dict(plan.select("customer_id", "kind").iter_rows()) == expected
        period_end = dt.date(2025, 5, 5) + dt.timedelta(days=13)
        assert plan["when"].min() >= dt.date(2025, 5, 5) and plan["when"].max() <= period_end


def test_customers_contacted_within_the_period_before_are_left_out(shop):
    first = contact_plan(shop, on="2025-05-05")
    some = first.head(20)
    sent = some.select("customer_id", pl.lit(dt.date(2025, 5, 1)).alias("when"))
    again = contact_plan(shop, on="2025-05-05", sent=sent)
    assert set(again["customer_id"].to_list()) == set(first["customer_id"].to_list()) - set(some["customer_id"].to_list())
    long_ago = some.select("customer_id", pl.lit(dt.date(2025, 4, 1)).alias("when"))
    assert contact_plan(shop, on="2025-05-05", sent=long_ago)["customer_id"].to_list() == first["customer_id"].to_list()


def test_renewal_falls_due_from_the_customers_own_rhythm():
    start = dt.date(2025, 1, 1)
    rows = []
    for i, gap in enumerate([0, 30, 60, 90]):  # gels every 30 days: next due on day 120
        rows.append(("regular", "gel", f"{start + dt.timedelta(days=gap)} 10:00", "purchase", f"r{i}"))
    for i, gap in enumerate([0, 20, 200]):  # gaps of 20 and 180 days: no rhythm
        rows.append(("erratic", "gel", f"{start + dt.timedelta(days=gap)} 10:00", "purchase", f"e{i}"))
    ds = _tiny(rows, {"regular": True, "erratic": True})
    due = contact_plan(ds, on=str(start + dt.timedelta(days=110)), kinds=["renewal"])
    assert due["customer_id"].to_list() == ["regular"] and due["when"].to_list() == [start + dt.timedelta(days=120)]
    assert "every 30 days" in due["reason"][0]
    assert contact_plan(ds, on=str(start + dt.timedelta(days=95)), kinds=["renewal"]).height == 0  # due after the 14-day period


def test_items_come_from_the_recommender_and_fit_the_message(shop):
    model = Popularity().fit(shop)
    plan = contact_plan(shop, on="2025-10-06", recommender=model, items_per_message=2)
    category = dict(shop.catalog.select("item_id", "category").iter_rows())
    sport = dict(shop.catalog.select("item_id", "sport").iter_rows())
    assert plan["items"].list.len().max() <= 2
    for kind, reason, items in plan.select("kind", "reason", "items").iter_rows():
        ids = [i["item_id"] for i in items]
        if kind == "renewal":
            assert all(category[i].replace("_", " ") in reason for i in ids)
        elif kind == "season":
            assert all(f"{sport[i]} (" in reason for i in ids)
        elif kind == "abandoned_cart":
            assert items[0]["reason"].startswith("in your cart since")
        assert all(r["reason"] for r in items)


def test_kinds_the_data_cannot_support_and_bad_options_are_errors():
    rows = [("a", "gel", "2025-06-28 10:00", "purchase", "o1")]
    ds = _tiny(rows, {"a": True})
    plain = Dataset(pl.DataFrame({"customer_id": ["a"], "item_id": ["gel"], "day": ["2025-06-28"]}), pl.DataFrame({"item_id": ["gel"]}),
                    pl.DataFrame({"customer_id": ["a"], "consent_email": [True]}), time_col="day")
    with pytest.raises(DataError, match="abandoned_cart"):
        contact_plan(plain, on="2025-06-30", kinds=["abandoned_cart"])
    with pytest.raises(DataError, match="season"):
        contact_plan(ds, on="2025-06-30", kinds=["season"])  # three days of history
    assert set(contact_plan(plain, on="2025-06-30")["kind"].to_list()) <= {"onboarding", "reengagement"}
    for bad in ({"max_per_customer_days": 0}, {"kinds": ["spam"]}, {"kinds": "renewal"}, {"rules": object()}, {"recommender": object()}):
        with pytest.raises((ConfigError, TypeError)):
            contact_plan(ds, on="2025-06-30", **bad)
    with pytest.raises(ConfigError, match="on="):
        contact_plan(ds, on=None)


def test_the_default_shop_without_web_events_plans_without_carts():
    shop = sports_shop(300, seed=1)
    plan = contact_plan(shop, on="2025-10-06")
    assert plan.height > 0 and "abandoned_cart" not in set(plan["kind"].to_list())


def test_learnt_cycles_renew_after_one_purchase_and_only_renewable_categories():
    rows = [("once", "gel", "2025-05-31 10:00", "purchase", "o1")]
    rows += [("shoes", "shoe", f"2025-0{m}-01 10:00", "purchase", f"s{m}") for m in (1, 3, 5)]  # every ~60 days, regular
    ds = _tiny(rows, {"once": True, "shoes": True})
    cycles = pl.DataFrame({"category": ["gel", "shoe"], "median_days": [30.0, 200.0], "renewable": [True, False]})
    plan = contact_plan(ds, on="2025-06-25", kinds=["renewal"], cycles=cycles)
    # gel: learnt 30 days after 2025-05-31 = 2025-06-30, inside the period; shoes are not renewable
    assert plan.rows() == [("once", "renewal", dt.date(2025, 6, 30), plan["reason"][0], [])]
    assert "the shop's learnt cycle" in plan["reason"][0]
    without = contact_plan(ds, on="2025-06-25", kinds=["renewal"])  # own rhythm only: the shoes, gaps 59 and 61 days: due 2025-05-01 + 60
    assert without["customer_id"].to_list() == ["shoes"] and without["when"].to_list() == [dt.date(2025, 6, 30)]
    with pytest.raises(ConfigError, match="cycles"):
        contact_plan(ds, on="2025-06-25", cycles=pl.DataFrame({"x": [1]}))
