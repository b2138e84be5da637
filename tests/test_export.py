"""recommend_many as an export: a flat table (CSV / Parquet as is), catalogue columns, the consent
filter, and the customers argument.

Expected values come from independent computations: one-by-one ``recommend``, a polars left join
of the catalogue, a polars filter of the customers table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recokit import (
    ConfigError,
    Dataset,
    DataWarning,
    Popularity,
    Query,
    Ruled,
    RuleError,
    load_rules,
)
from recokit.rules import Boost, Filter, Pin, parse_rules

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "sports_shop_rules.toml"
SEP = "; "
OUTPUT = ["customer_id", "rank", "item_id", "score", "reason", "rules"]


@pytest.fixture(scope="module")
def ruled(shop):
    """The shop's rules file, plus a pin, so that rows carry none, one and several rules."""
    pinned = shop.catalog.filter(pl.col("stock") > 0)["item_id"][5]
    rules = [*load_rules(EXAMPLE, shop), Pin([pinned], position=2, name="promo")]
    return Ruled(Popularity(by="category"), rules, fallback=Popularity()).fit(shop)


@pytest.fixture(scope="module")
def customers(shop):
    return shop.customer_ids.to_list()[::15]


@pytest.fixture(scope="module")
def table(ruled, customers):
    return ruled.recommend_many(customers, k=6)


def test_the_rules_fire_in_the_fixture(table):
    rules = table["rules"]
    assert rules.null_count() > 0  # rows no rule touched
    assert rules.str.contains("pin:promo", literal=True).any()
    assert rules.str.contains(SEP, literal=True).any()  # rows with several rules


def test_the_table_is_flat(table):
    assert table.columns == OUTPUT
    assert table.schema["rules"] == pl.String
    assert not any(isinstance(t, (pl.List, pl.Struct, pl.Array)) for t in table.dtypes)


def test_rules_equal_one_by_one_recommend_joined(ruled, customers, table):
    listed = ruled.recommend_many(customers, k=6, rules_as="list")
    assert listed.schema["rules"] == pl.List(pl.String)
    assert listed.drop("rules").equals(table.drop("rules"))
    for c in customers:
        one = ruled.recommend(Query(customer_id=c, k=6))
        rows = table.filter(pl.col("customer_id") == c).sort("rank")
        assert rows["item_id"].to_list() == one.item_ids
        assert rows["rules"].to_list() == [SEP.join(r.rules) if r.rules else None for r in one]
        assert listed.filter(pl.col("customer_id") == c).sort("rank")["rules"].to_list() == [list(r.rules) for r in one]
        # a single list's table says the same
        assert one.to_polars()["rules"].to_list() == rows["rules"].to_list()
        assert one.to_polars(rules_as="list")["rules"].to_list() == [list(r.rules) for r in one]


def test_the_text_splits_back_into_the_labels(ruled, customers, table):
    listed = ruled.recommend_many(customers, k=6, rules_as="list")["rules"].to_list()
    split = [[] if t is None else t.split(SEP) for t in table["rules"].to_list()]
    assert split == listed


@pytest.mark.parametrize("columns", [None, ["name", "price", "stock", "eco_label"]], ids=["plain", "catalogue"])
def test_csv_and_parquet_round_trip(ruled, customers, tmp_path, columns):
    table = ruled.recommend_many(customers, k=6, columns=columns)
    assert table["score"].is_nan().any()  # back-filled rows: NaN must survive the trip too
    table.write_csv(tmp_path / "newsletter.csv")
    table.write_parquet(tmp_path / "newsletter.parquet")
    from_csv = pl.read_csv(tmp_path / "newsletter.csv", schema=table.schema)
    from_parquet = pl.read_parquet(tmp_path / "newsletter.parquet")
    assert from_csv.equals(table)
    assert from_parquet.schema == table.schema and from_parquet.equals(table)


def test_catalogue_columns_are_a_left_join_on_item(ruled, customers, shop, table):
    assert shop.catalog["item_id"].is_unique().all()
    cols = ["name", "category", "price"]
    got = ruled.recommend_many(customers, k=6, columns=cols)
    want = table.join(shop.catalog.select("item_id", *cols), on="item_id", how="left", maintain_order="left")
    assert got.height == table.height
    assert got.equals(want)
    assert got.columns == [*OUTPUT, *cols]


@given(st.lists(st.sampled_from(["name", "sport", "category", "brand", "price", "stock", "age_group", "consumable", "eco_label", "description"]), unique=True, max_size=4))
def test_any_catalogue_columns_keep_the_rows(ruled, customers, table, columns):
    got = ruled.recommend_many(customers, k=6, columns=columns)
    assert got.columns == [*OUTPUT, *columns]
    assert got.select(OUTPUT).equals(table)


def test_catalogue_columns_in_an_empty_table(ruled, shop):
    got = ruled.recommend_many([], k=3, columns=["name", "price"])
    assert got.height == 0 and got.columns == [*OUTPUT, "name", "price"]
    assert got.schema["price"] == shop.catalog.schema["price"] and got.schema["rules"] == pl.String


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["name", "colour"], r"the catalogue has no column\(s\) \['colour'\].*its columns are \['name', 'sport'"),
        (["score"], r"\['score'\] would clash with the table's own columns"),
        (["item_id"], r"\['item_id'\] would clash"),
        ("name", "columns must be a list of catalogue column names"),
        ([1], "columns must be a list of catalogue column names"),
        (["name", "name"], r"columns names \['name'\] more than once"),
    ],
)
def test_bad_catalogue_columns(ruled, customers, columns, message):
    with pytest.raises(ConfigError, match=f"(?s){message}"):
        ruled.recommend_many(customers, k=2, columns=columns)


def test_rules_as_must_be_text_or_list(ruled, customers):
    with pytest.raises(ConfigError, match="rules_as must be 'text'"):
        ruled.recommend_many(customers, k=2, rules_as="json")
    with pytest.raises(ConfigError, match="rules_as must be 'text' or 'list'"):
        ruled.recommend(Query(k=2)).to_polars(rules_as="json")


def test_a_table_without_rules_has_a_null_rules_column(shop, customers):
    got = Popularity().fit(shop).recommend_many(customers, k=3, columns=["name"])
    assert got.schema["rules"] == pl.String and got["rules"].null_count() == got.height


# ------------------------------------------------------------------------------------------
# consent
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def patchy(shop):
    """The shop with some consent values null and some customers without a row."""
    cust = shop.customers.with_row_index("n")
    cust = cust.with_columns(pl.when(pl.col("n") % 7 == 3).then(None).otherwise(pl.col("consent_email")).alias("consent_email"))
    cust = cust.filter(pl.col("n") % 11 != 5).drop("n")
    orders = shop.interactions.select("customer_id", "item_id", pl.col("basket_idx").alias("order_id"), "quantity", "timestamp")
    ds = Dataset(orders, shop.catalog, cust, time_col="timestamp", basket_col="order_id", quantity_col="quantity")
    assert cust["consent_email"].null_count() and ds.n_customers > cust.height
    return ds


def test_consent_keeps_exactly_the_customers_whose_column_is_true(patchy):
    model = Popularity().fit(patchy)
    asked = [*patchy.customer_ids.to_list()[::3], "no-such-customer", None]
    agreed = set(patchy.customers.filter(pl.col("consent_email").fill_null(False))["customer_id"].to_list())
    want = [c for c in asked if c in agreed]
    with pytest.warns(DataWarning, match=rf"left out {len(asked) - len(want)} of {len(asked)} customers without consent in 'consent_email'"):
        got = model.recommend_many(asked, k=4, consent="consent_email")
    assert got["customer_id"].unique(maintain_order=True).to_list() == want
    assert got.equals(model.recommend_many(want, k=4))


def test_consent_on_the_shop_drops_the_refusals_of_the_rules_pipeline(ruled, shop, customers):
    agreed = set(shop.customers.filter(pl.col("consent_email"))["customer_id"].to_list())
    want = [c for c in customers if c in agreed]
    assert 0 < len(want) < len(customers)
    with pytest.warns(DataWarning, match=f"left out {len(customers) - len(want)} of {len(customers)}"):
        got = ruled.recommend_many(customers, k=6, columns=["name"], consent="consent_email")
    assert got.equals(ruled.recommend_many(want, k=6, columns=["name"]))


def test_consent_of_everyone_warns_nothing(shop):
    model = Popularity().fit(shop)
    agreed = shop.customers.filter(pl.col("consent_email"))["customer_id"].to_list()[:20]
    assert model.recommend_many(agreed, k=2, consent="consent_email").equals(model.recommend_many(agreed, k=2))  # DataWarning is an error here


def test_consent_of_nobody_is_an_empty_table(shop):
    model = Popularity().fit(shop)
    refused = shop.customers.filter(~pl.col("consent_email"))["customer_id"].to_list()[:5]
    with pytest.warns(DataWarning, match="left out 5 of 5"):
        got = model.recommend_many(refused, k=2, consent="consent_email", columns=["name"])
    assert got.height == 0 and got.columns == [*OUTPUT, "name"]


@pytest.mark.parametrize(
    ("consent", "message"),
    [
        ("email_opt_in", r"the customers table has no column 'email_opt_in'.*its columns are \['declared_sports', 'level', 'consent_personalization', 'consent_email'\]"),
        ("level", "consent column 'level' must be true/false \\(Boolean\\). Got String"),
        (True, "consent must be the name of a column"),
    ],
)
def test_bad_consent_column(shop, consent, message):
    model = Popularity().fit(shop)
    with pytest.raises(ConfigError, match=f"(?s){message}"):
        model.recommend_many(shop.customer_ids.to_list()[:3], k=2, consent=consent)


def test_consent_needs_a_customers_table():
    model = Popularity().fit(Dataset(pl.DataFrame({"customer_id": [1, 2], "item_id": ["a", "b"]})))
    with pytest.raises(ConfigError, match="needs a customers table"):
        model.recommend_many([1, 2], k=1, consent="consent_email")


# ------------------------------------------------------------------------------------------
# the customers argument
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def int_ids():
    orders = pl.DataFrame({"customer_id": [17850, 17850, 13047, 12583], "item_id": ["mug", "tea", "mug", "pot"]})
    return Popularity().fit(Dataset(orders))


@pytest.mark.parametrize("single", [17850, np.int64(17850), True, 1.5, None], ids=["int", "np-int", "bool", "float", "none"])
def test_a_single_int_id_is_refused_with_a_hint(int_ids, single):
    with pytest.raises(ConfigError, match=r"customers must be a list of customer ids; got the single .*\n.*pass a list: recommend_many\(\["):
        int_ids.recommend_many(single, k=2)


def test_a_single_string_id_is_not_read_as_characters(shop):
    model = Popularity().fit(shop)
    with pytest.raises(ConfigError, match=r"got the single str 'c1'.*\n.*pass a list: recommend_many\(\['c1'\]\)"):
        model.recommend_many("c1", k=2)
    with pytest.raises(ConfigError, match="got the single bytes"):
        model.recommend_many(b"c1", k=2)


def test_iterables_of_ids_give_the_list_answer(int_ids):
    ids = [17850, 12583, 99999]
    want = int_ids.recommend_many(ids, k=2)
    assert int_ids.recommend_many((c for c in ids), k=2).equals(want)
    assert int_ids.recommend_many(tuple(ids), k=2).equals(want)
    assert int_ids.recommend_many(pl.Series(ids), k=2).equals(want)
    assert int_ids.recommend_many(np.array(ids), k=2).equals(want)
    assert int_ids.recommend_many(dict.fromkeys(ids), k=2).equals(want)


@pytest.mark.parametrize(
    ("customers", "message"),
    [
        ({17850, 12583}, "customers is a set, which has no order"),
        (pl.DataFrame({"customer_id": [17850]}), r"got a table \(DataFrame\).*\n.*table\['customer_id'\]"),
        (np.array([[17850], [12583]]), r"one-dimensional array of ids; got shape \(2, 1\)"),
    ],
    ids=["set", "frame", "2d-array"],
)
def test_other_non_lists_are_refused(int_ids, customers, message):
    with pytest.raises(ConfigError, match=message):
        int_ids.recommend_many(customers, k=2)


# ------------------------------------------------------------------------------------------
# rule names and the separator
# ------------------------------------------------------------------------------------------
def test_a_rule_name_cannot_hold_the_separator():
    with pytest.raises(RuleError, match=r"rule 'eco; summer' \(boost\): a rule's name cannot contain ';'.*\n.*another character"):
        Boost("eco_label", 1.2, name="eco; summer")
    with pytest.raises(RuleError, match=r"cannot contain ';'.*\n.*default name"):
        Filter("name <> 'a;b'")  # the default name is made from the condition
    with pytest.raises(RuleError, match="cannot contain ';'"):
        parse_rules('[[rule]]\nname = "x;y"\ntype = "filter"\nkeep = "stock > 0"\n')
