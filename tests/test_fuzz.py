"""Fuzzing the public API: random frames, Dataset arguments, queries and rules files.

The property is the library's promise to a shop backend: whatever it is given, it either
answers or raises a :class:`~recokit.RecokitError` (one ``except`` clause catches every problem
of the input); no ``TypeError`` from polars, no ``KeyError``, no ``IndexError`` escapes. The
answers, when there are some, are checked for the invariants any answer must keep (at most
``k`` items, known ids, no excluded item).

Runs under the suite's hypothesis profiles (``dev`` quick, ``ci`` more examples).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recokit import (
    AssociationRules,
    Dataset,
    Popularity,
    Query,
    RecokitError,
    RecokitWarning,
    Ruled,
)
from recokit.rules import parse_rules

# -- random tables ------------------------------------------------------------------------------
_TEXT = st.sampled_from(
    [
        "a", "b", "007", "7", "", " ", "x y", "é", "2024-05-31", "05/06/2024", "31/12/2024", "2024-05-31T14:02:00Z",
        "2024-05-31T14:02:00+02:00", "2024-05-31T14:02:00", "yesterday", "1e3", "NaN", "inf", "-1", "null",
    ]
)  # fmt: skip
_NUMBER = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, 2, -1, 1_700_000_000, 1_700_000_000_000]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_TIME = st.datetimes(min_value=dt.datetime(1850, 1, 1), max_value=dt.datetime(2250, 1, 1))
_KIND = st.sampled_from(["text", "int", "float", "bool", "time", "mixed_none"])
_NAMES = ["customer_id", "item_id", "ts", "qty", "order_id", "event", "price", "weight", "basket_idx", "item_idx"]


@st.composite
def column(draw: Any, n: int) -> pl.Series:
    kind = draw(_KIND)
    nullable = draw(st.booleans())

    def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(st.none(), values) if nullable else values

    if kind == "text":
        return pl.Series(draw(st.lists(maybe(_TEXT), min_size=n, max_size=n)), dtype=pl.String)
    if kind == "int":
        return pl.Series(draw(st.lists(maybe(st.integers(-5, 2**40)), min_size=n, max_size=n)), dtype=pl.Int64)
    if kind == "float":
        return pl.Series(draw(st.lists(maybe(_NUMBER), min_size=n, max_size=n)), dtype=pl.Float64)
    if kind == "bool":
        return pl.Series(draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n)), dtype=pl.Boolean)
    if kind == "time":
        return pl.Series(draw(st.lists(maybe(_TIME), min_size=n, max_size=n)), dtype=pl.Datetime("us"))
    return pl.Series([None] * n, dtype=pl.Null)


_ROLES = {"time_col": "ts", "basket_col": "order_id", "quantity_col": "qty", "event_col": "event", "price_col": "price"}


@st.composite
def dataset_args(draw: Any) -> dict[str, Any]:
    """Mostly the natural column of each role or none; one time in ten another name or a bad value."""

    def pick(natural: str | None, odd: list[Any], none: bool = True) -> Any:
        roll = draw(st.integers(0, 9))
        return draw(st.sampled_from(odd)) if roll == 0 else None if (none and roll < 5) else natural

    args = {role: pick(natural, [*_NAMES, "missing"]) for role, natural in _ROLES.items()}
    args["customer_col"] = pick("customer_id", ["order_id", "missing", None, "", 3], none=False)
    args["item_col"] = pick("item_id", ["item_idx", "missing"], none=False)
    args["time_format"] = pick(None, ["%d/%m/%Y", "%Y-%m-%d", "%Q", "", "%Y-%m-%dT%H:%M:%S%#z"], none=False)
    args["unknown_items"] = pick("error", ["drop", "ignore"], none=False)
    return args


_GOOD: dict[str, st.SearchStrategy[Any]] = {
    "customer_id": st.one_of(st.sampled_from(["ann", "bob", "007", "7"]), st.integers(1, 4)),
    "item_id": st.one_of(st.sampled_from(["bike", "helmet", "pump"]), st.integers(1, 3)),
    "order_id": st.integers(1, 5),
    "ts": st.one_of(
        st.sampled_from(["2024-05-31", "2024-06-01T10:00:00", "2024-05-31T14:02:00Z", "05/16/2024", "16/05/2024", "05/06/2024"]),
        st.integers(1_600_000_000, 1_700_000_000),
        _TIME,
    ),
    "qty": st.one_of(st.integers(1, 5), st.floats(0.5, 3)),
    "price": st.floats(0, 100),
    "event": st.sampled_from(["purchase", "view", "add_to_cart"]),
}


@st.composite
def good_column(draw: Any, name: str, n: int) -> pl.Series:
    """A plausible column for ``name``: one value type throughout, no nulls."""
    first = draw(_GOOD[name])
    same = _GOOD[name].filter(lambda v: type(v) is type(first))
    return pl.Series(name, [first, *draw(st.lists(same, min_size=n - 1, max_size=n - 1))] if n else [], strict=False)


@st.composite
def shop_input(draw: Any) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Dataset arguments, and a table that mostly has the columns they name (of random types and
    values) plus a few others."""
    args = draw(dataset_args())
    n = draw(st.integers(0, 12))
    named = {v for k, v in args.items() if k.endswith("_col") and isinstance(v, str) and v}
    names = [c for c in sorted(named) if draw(st.integers(0, 19))]
    names += [c for c in draw(st.lists(st.sampled_from(_NAMES), max_size=3, unique=True)) if c not in names]
    cols = [draw(good_column(c, n)) if c in _GOOD and draw(st.integers(0, 3)) else draw(column(n)).alias(c) for c in names]
    return pl.DataFrame(cols), args


def recokit_or_nothing(call: Any) -> Any:
    """``call()``, or None when it raised a RecokitError; warnings are allowed (they are recokit's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecokitWarning)
        try:
            return call()
        except RecokitError:
            return None


@given(shop_input(), st.sampled_from(["frame", "csv", "parquet"]))
def test_random_frames_give_a_dataset_or_a_recokit_error(drawn: tuple[pl.DataFrame, dict[str, Any]], source: str) -> None:
    table, args = drawn
    with tempfile.TemporaryDirectory() as folder:
        given_as: Any = table
        if source != "frame":
            given_as = Path(folder) / f"orders.{source}"
            table.write_csv(given_as) if source == "csv" else table.write_parquet(given_as)
        shop = recokit_or_nothing(lambda: Dataset(given_as, **args))
    if shop is not None:
        assert shop.interactions.height <= table.height
        assert shop.user_items.shape == (shop.n_customers, shop.n_items)
        assert shop.n_baskets <= shop.interactions.height
        model = recokit_or_nothing(lambda: Popularity().fit(shop))
        if model is not None and shop.n_customers:
            table_out = model.recommend_many(shop.customer_ids.to_list()[:3], k=2)
            assert set(table_out["item_id"].to_list()) <= set(shop.item_ids.to_list())


# -- random queries -----------------------------------------------------------------------------------
@cache
def fitted() -> tuple[Dataset, Any, Any]:
    from recokit.datasets import sports_shop

    shop = sports_shop(200, seed=5)
    rules = parse_rules('[[rule]]\nname = "in stock"\ntype = "filter"\nkeep = "stock > 0"\n', shop)
    return shop, AssociationRules().fit(shop), Ruled(Popularity(), rules).fit(shop)


_ID = st.one_of(st.none(), st.integers(-3, 10**6), st.text(max_size=8), st.floats(), st.booleans(), st.just([1]), st.just(("a",)))


@st.composite
def query_args(draw: Any) -> dict[str, Any]:
    """Mostly plausible requests (known or unknown ids of the right type, k in range), each
    argument now and then anything at all."""
    shop, _, _ = fitted()
    item = st.one_of(st.sampled_from(shop.item_ids.to_list()[:30]), st.sampled_from(["nope", "P9999"]))
    customer = st.one_of(st.sampled_from(shop.customer_ids.to_list()[:30]), st.none(), st.just("C-unknown"))

    def arg(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
        return draw(bad) if draw(st.integers(0, 5)) == 0 else draw(good)

    return {
        "customer_id": arg(customer, _ID),
        "items": arg(st.lists(item, max_size=4), _ID),
        "k": arg(st.integers(1, 40), st.one_of(st.integers(-2, 0), st.floats(), st.text(max_size=2), st.none())),
        "exclude": arg(st.lists(item, max_size=3), _ID),
        "now": arg(st.one_of(st.none(), _TIME), st.one_of(st.dates(), st.text(max_size=5), st.integers())),
        "exclude_purchased": arg(st.booleans(), st.one_of(st.integers(0, 2), st.text(max_size=2))),
    }


@given(query_args(), st.booleans())
def test_random_queries_give_an_answer_or_a_recokit_error(args: dict[str, Any], ruled: bool) -> None:
    shop, rules_model, ruled_model = fitted()
    model = ruled_model if ruled else rules_model
    recs = recokit_or_nothing(lambda: model.recommend(Query(**args)))
    if recs is not None:
        q = Query(**args)
        assert len(recs) <= q.k
        assert set(recs.item_ids) <= set(shop.item_ids.to_list())
        assert not set(recs.item_ids) & (set(q.exclude) | set(q.items))
    recokit_or_nothing(lambda: model.recommend_many([args["customer_id"]], k=args["k"]))


# -- random rules files ------------------------------------------------------------------------------------
_CONDITION = st.sampled_from(
    [
        "stock > 0", "category = 'helmet'", "eco_label", "stock > 0", "price > 10",
        "stock > 0", "category = 'helmet'", "eco_label", "price BETWEEN 20 AND 80", "LOWER(brand) LIKE '%a%'",
        "NOT eco_label", "category IN ('tent', 'pump')", "price * 0.8 < 50", "(((stock > 0)))",
        # bad: unknown column, not boolean, not SQL, a query, a file reader, too deep, a comment
        "colour = 'red'", "stock + 1", "stock >", "item_id IN (SELECT 1)", "read_csv('x.csv')",
        "(" * 20 + "stock > 0" + ")" * 20, "stock > 0 -- x", "1e400 > price", "price / 0 > 1", "NULL",
    ]
)  # fmt: skip
_VALUE = st.one_of(st.integers(-3, 1000), st.floats(), st.text(max_size=4), st.booleans(), st.lists(st.integers(0, 3), max_size=2))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == -float("inf") else repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


@st.composite
def one_rule(draw: Any, items: list[Any]) -> dict[str, Any]:
    """A rule of each type with plausible settings; then, now and then, a setting changed to
    anything, dropped, or added."""
    kind = draw(st.sampled_from(["filter", "exclude_owned", "one_per_group", "max_per_group", "boost", "bury", "pin", "require_consent", "nope"]))
    fields: dict[str, Any] = {"name": draw(st.sampled_from(["r1", "r2", "r3"])), "type": kind}
    if kind == "filter":
        fields["keep"] = draw(_CONDITION)
    elif kind in ("exclude_owned", "one_per_group", "boost", "bury"):
        fields["match"] = draw(_CONDITION)
    if kind in ("boost", "bury"):
        fields["factor"] = draw(st.sampled_from([1.5, 2, 0.5, 0.1]))
    if kind == "max_per_group":
        fields |= {"column": draw(st.sampled_from(["category", "brand", "colour"])), "n": draw(st.integers(0, 3))}
    if kind == "pin":
        fields |= {"items": draw(st.lists(st.sampled_from(items), min_size=1, max_size=2)), "position": draw(st.integers(0, 4))}
    if kind == "require_consent":
        fields["column"] = draw(st.sampled_from(["consent_personalization", "missing"]))
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 2)) == 0 else 0):
        key = draw(st.sampled_from([*fields, "within", "renew_after", "unless", "extra"]))
        if draw(st.booleans()):
            fields.pop(key, None)
        else:
            fields[key] = draw(st.one_of(_VALUE, _CONDITION))
    return fields


@st.composite
def rules_text(draw: Any) -> str:
    shop, _, _ = fitted()
    items = shop.item_ids.to_list()[:5] + ["nope"]
    rules = draw(st.lists(one_rule(items), max_size=4))
    for i, r in enumerate(rules):  # distinct names, but for one rule in five
        if "name" in r and draw(st.integers(0, 4)):
            r["name"] = f"rule {i}"
    text = "\n".join("[[rule]]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in r.items()) for r in rules) + "\n"
    if draw(st.integers(0, 4)) == 0:  # damage the text itself
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "[", "]]", "\"", "=", "\x00", "\ufeff", "[[rule]]\n"])) + text[cut:]
    return draw(st.sampled_from(["", 'purchase_event = "purchase"\n', 'purchase_event = ""\n'])) + text


@given(rules_text())
def test_random_rules_files_give_rules_or_a_rule_error(text: str) -> None:
    shop, rules_model, _ = fitted()
    rules = recokit_or_nothing(lambda: parse_rules(text, shop))
    if rules is not None:
        model = recokit_or_nothing(lambda: Ruled(rules_model, rules).fit(shop))
        if model is not None:
            recs = model.recommend(Query(customer_id=shop.customer_ids.to_list()[0], k=5))
            assert len(recs) <= 5
