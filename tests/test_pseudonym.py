"""recokit.pseudonymise: keyed HMAC-SHA256 pseudonyms, checked against Python's hmac module."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recokit import (
    AssociationRules,
    ConfigError,
    ConfigTypeError,
    ContentBased,
    DataError,
    Dataset,
    Hybrid,
    ItemKNN,
    Popularity,
    Renewal,
    Ruled,
    load_rules,
    pseudonymise,
)
from recokit.datasets import sports_shop_tables

ROOT = Path(__file__).resolve().parents[1]

KEY = bytes.fromhex("5f3a9c0e1d2b4a6f8e7c9b0a1d3f5e7c")
_keys = st.binary(min_size=16, max_size=64)
_ids = st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=20))


def _reference(key: bytes, value) -> str:
    """The documented definition, written independently: HMAC-SHA256 of str(id) in UTF-8."""
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()


@given(key=_keys, ids=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=30).map(lambda x: (x, pl.Int64)) | st.lists(st.text(max_size=20), max_size=30).map(lambda x: (x, pl.String)))
def test_equals_python_hmac_of_the_id_text(key, ids):
    ids, dtype = ids
    frame = pl.DataFrame({"customer_id": ids, "n": list(range(len(ids)))}, schema={"customer_id": dtype, "n": pl.Int64})
    out = pseudonymise(frame, "customer_id", key)
    assert out["customer_id"].to_list() == [_reference(key, v) for v in ids]
    assert out.columns == frame.columns and out["n"].equals(frame["n"])
    assert out.schema["customer_id"] == pl.String


@given(key=_keys, ids=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=10))
def test_deterministic_and_the_same_for_an_int_and_its_text(key, ids):
    as_int = pseudonymise(pl.DataFrame({"c": ids}, schema={"c": pl.Int64}), "c", key)
    as_text = pseudonymise(pl.DataFrame({"c": [str(i) for i in ids]}), "c", key)
    assert as_int.equals(as_text)
    assert as_int.equals(pseudonymise(pl.DataFrame({"c": ids}, schema={"c": pl.Int64}), "c", bytearray(key)))


@given(a=_keys, b=_keys, value=_ids)
def test_another_key_gives_another_pseudonym(a, b, value):
    frame = pl.DataFrame({"c": [value]})
    same = pseudonymise(frame, "c", a)["c"][0] == pseudonymise(frame, "c", b)["c"][0]
    assert same == (a == b)  # a collision of HMAC-SHA256 under two keys is not expected in this life


def test_nulls_stay_null_and_distinct_ids_stay_distinct():
    frame = pl.DataFrame({"c": [3, None, 3, 4, None]})
    out = pseudonymise(frame, "c", KEY)["c"]
    assert out.null_count() == 2 and out.is_null().to_list() == [False, True, False, False, True]
    assert out[0] == out[2] != out[3]
    only_guests = pseudonymise(pl.DataFrame({"c": [None, None]}), "c", KEY)  # a column of nulls only (dtype Null)
    assert only_guests.schema["c"] == pl.String and only_guests["c"].null_count() == 2


@pytest.mark.parametrize("dtype", [pl.Int8, pl.UInt64, pl.Categorical, pl.Enum(["7", "8"])])
def test_every_id_type_hashes_its_text(dtype):
    values = [7, 8] if dtype.is_integer() else ["7", "8"]
    out = pseudonymise(pl.DataFrame({"c": pl.Series(values, dtype=dtype)}), "c", KEY)
    assert out["c"].to_list() == [_reference(KEY, "7"), _reference(KEY, "8")]


def test_a_lazy_frame_stays_lazy_and_gives_the_same():
    frame = pl.DataFrame({"c": ["a", "b", None, "a"], "x": [1, 2, 3, 4]})
    lazy = pseudonymise(frame.lazy(), "c", KEY)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(pseudonymise(frame, "c", KEY))


@pytest.mark.parametrize(
    "key, error, message",
    [
        (b"0123456789abcde", ConfigError, "at least 16 bytes. Got 15"),
        (b"", ConfigError, "at least 16 bytes. Got 0"),
        ("a-long-enough-text-key", ConfigTypeError, "must be bytes, not a str"),
        (12345678901234567890, ConfigTypeError, "must be bytes. Got int"),
    ],
)
def test_a_weak_or_mistyped_key_is_refused(key, error, message):
    with pytest.raises(error, match=message) as err:
        pseudonymise(pl.DataFrame({"c": [1]}), "c", key)
    assert "secrets.token_bytes" in (err.value.hint or "")


def test_bad_frames_and_columns_are_refused():
    with pytest.raises(DataError, match=r"no column 'customer'; the columns are \['c'\]") as err:
        pseudonymise(pl.DataFrame({"c": [1]}), "customer", KEY)
    assert err.value.column == "customer"
    with pytest.raises(DataError, match=r"column 'c' is Float64; ids must be integers or text(.|\n)*'7\.0'"):
        pseudonymise(pl.DataFrame({"c": [7.0]}), "c", KEY)
    with pytest.raises(ConfigTypeError, match="expects a polars DataFrame or LazyFrame. Got dict"):
        pseudonymise({"c": [1]}, "c", KEY)  # type: ignore[type-var]


@pytest.fixture(scope="module")
def tables():
    return sports_shop_tables(600, seed=11)


def _dataset(t, interactions, customers) -> Dataset:
    return Dataset(interactions, catalog=t.catalog, customers=customers, time_col="timestamp", basket_col="order_id", quantity_col="quantity")


def _joined_back(model, lookup, want_columns) -> pl.DataFrame:
    """The pseudonymised model's recommendations for every customer, mapped back to real ids by the shop's lookup."""
    return (
        model.recommend_many(lookup["customer_id"].to_list(), k=8)
        .join(lookup, on="customer_id", how="left")
        .drop("customer_id")
        .rename({"real_id": "customer_id"})
        .select(want_columns)
    )


def _ruled_hybrid(dataset: Dataset):
    rules = load_rules(ROOT / "docs" / "examples" / "sports_shop_rules.toml", dataset)
    hybrid = Hybrid({"renewal": Renewal(), "together": AssociationRules(), "content": ContentBased(), "best": Popularity()})
    return Ruled(hybrid, rules, fallback=Popularity()).fit(dataset)


def test_recommendations_on_pseudonyms_joined_back_equal_those_on_real_ids(tables):
    raw = _ruled_hybrid(_dataset(tables, tables.interactions, tables.customers))
    masked_orders = pseudonymise(tables.interactions, "customer_id", KEY)
    masked_customers = pseudonymise(tables.customers, "customer_id", KEY)  # the same key: the tables still join
    assert not set(masked_orders["customer_id"]) & set(tables.interactions["customer_id"])
    model = _ruled_hybrid(_dataset(tables, masked_orders, masked_customers))
    assert set(model.dataset_.customer_ids.to_list()) == set(masked_customers["customer_id"])
    # the shop's own lookup table, kept out of recokit: real id -> pseudonym
    lookup = pseudonymise(tables.customers.select(real_id="customer_id", customer_id="customer_id"), "customer_id", KEY)
    want = raw.recommend_many(tables.customers["customer_id"].to_list(), k=8)
    got = _joined_back(model, lookup, want.columns)
    assert len(want) > 4000 and got.equals(want)  # same items, ranks, scores, reasons and rules


def test_itemknn_on_pseudonyms_equals_itemknn_on_real_ids(tables):
    raw = ItemKNN(k_neighbours=20).fit(_dataset(tables, tables.interactions, tables.customers))
    model = ItemKNN(k_neighbours=20).fit(_dataset(tables, pseudonymise(tables.interactions, "customer_id", KEY), pseudonymise(tables.customers, "customer_id", KEY)))
    lookup = pseudonymise(tables.customers.select(real_id="customer_id", customer_id="customer_id"), "customer_id", KEY)
    want = raw.recommend_many(tables.customers["customer_id"].to_list(), k=8)
    # the customers' rows reach implicit in an order set by their content, not their ids
    assert _joined_back(model, lookup, want.columns).equals(want)
