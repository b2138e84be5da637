"""Every bad input through the public API is a specific recokit error whose message names the problem.

One row per bad input: what is called, the :class:`~recokit.RecokitError` subclass it must raise,
and a text the message must contain (the column, parameter or file concerned, or the word that
says what is wrong). Nothing else may escape: no ``TypeError`` from polars, no ``KeyError``, no
``UnicodeDecodeError`` from a corrupt file. The cases cover the Dataset (tables, columns, ids,
times, quantities, files), queries and ``recommend_many``, model parameters, rules files and
conditions, saved model files, the CSV loaders and the customer functions.

Each case builds its own input (a file is written to its own temporary folder), so a case
cannot leak into another; fitted models are shared read-only (fitting is what costs).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from persist_files import edit_doc, rehash
from recokit import (
    ALS,
    BPR,
    AssociationRules,
    ConfigError,
    ConfigTypeError,
    ContentBased,
    DataError,
    Dataset,
    Hybrid,
    ItemKNN,
    NotFittedError,
    PersistError,
    Popularity,
    Query,
    RecokitError,
    Renewal,
    Ruled,
    RuleError,
    load,
    load_rules,
    save,
)
from recokit.customers import (
    cluster,
    explain_customer,
    features,
    lifecycle,
    practice_changes,
    quintile_scores,
    rfm,
    transitions,
)
from recokit.datasets import sports_shop
from recokit.datasets.loaders import load_basket_lines, load_movielens_100k, load_transactions
from recokit.evaluation import evaluate, paired_test, random_holdout, temporal_split
from recokit.rules import parse_rules


# -- shared, read-only inputs -----------------------------------------------------------------
class World:
    """Fitted once per module; cases never change these objects."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def folder(self) -> Path:
        self._n += 1
        d = self.root / f"case{self._n}"
        d.mkdir()
        return d

    def file(self, name: str, content: str | bytes) -> Path:
        p = self.folder() / name
        p.write_bytes(content.encode() if isinstance(content, str) else content)
        return p

    @cached_property
    def shop(self) -> Dataset:
        return sports_shop(300, seed=4)

    @cached_property
    def popularity(self) -> Popularity:
        return Popularity().fit(self.shop)

    @cached_property
    def saved(self) -> Path:
        return save(self.popularity, self.root / "saved_popularity")

    def saved_copy(self) -> Path:
        return Path(shutil.copytree(self.saved, self.folder() / "model"))

    @property
    def a_customer(self) -> Any:
        return self.shop.customer_ids.to_list()[0]

    @property
    def an_item(self) -> Any:
        return self.shop.item_ids.to_list()[0]


W: World  # set by the autouse fixture below


@pytest.fixture(scope="module", autouse=True)
def _world(tmp_path_factory: pytest.TempPathFactory) -> None:
    global W
    W = World(tmp_path_factory.mktemp("bad_inputs"))


def orders(**columns: Any) -> pl.DataFrame:
    base: dict[str, Any] = {
        "customer_id": ["ann", "ann", "bob", "cid"],
        "item_id": ["bike", "helmet", "bike", "pump"],
        "order_id": [1, 1, 2, 3],
        "ts": ["2024-01-01 10:00:00", "2024-01-01 10:00:00", "2024-02-03 09:00:00", "2024-03-04 12:00:00"],
        "qty": [1, 2, 1, 1],
    }
    base.update(columns)
    return pl.DataFrame(base, strict=False)


CATALOG = {"item_id": ["bike", "helmet", "pump"], "category": ["bike", "helmet", "pump"], "stock": [1, 0, 3]}


def catalog(**columns: Any) -> pl.DataFrame:
    return pl.DataFrame({**CATALOG, **columns}, strict=False)


def ds(**kw: Any) -> Dataset:
    return Dataset(orders(), **kw)


# -- saved files: damage done to a copy of a saved model ----------------------------------------
def damaged(change: Callable[[Path], None]) -> Callable[[], Any]:
    def run() -> Any:
        path = W.saved_copy()
        change(path)
        return load(path)

    return run


def _truncate(name: str) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: len(data) // 2])

    return change


def _write(name: str, content: bytes, rehashed: bool = True) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        (path / name).write_bytes(content)
        if rehashed and name != "manifest.json":
            rehash(path)

    return change


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    return lambda path: edit_doc(path, change)


def _first_array(path: Path) -> str:
    return sorted(p.name for p in (path / "arrays").iterdir())[0]


def _swap_first_array(path: Path) -> None:
    (path / "arrays" / _first_array(path)).write_bytes(b"\x93NUMPY garbage")
    rehash(path)


def _zip_as_array(path: Path) -> None:
    import zipfile

    target = path / "arrays" / _first_array(path)
    with zipfile.ZipFile(target, "w") as z:
        z.writestr("x.npy", b"not an array")
    rehash(path)


def _parquet_garbage(path: Path) -> None:
    frames = sorted(p for p in path.rglob("*.parquet"))
    frames[0].write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    rehash(path)


def _set_param(path: Path) -> None:
    edit_doc(path, lambda d: d["models"][0]["params"].update({"half_life_days": -3}))


def _deep_json(path: Path) -> None:
    text = (path / "model.json").read_text()
    (path / "model.json").write_text(text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    rehash(path)


# -- rules files ----------------------------------------------------------------------------------
def rules_text(body: str) -> Callable[[], Any]:
    return lambda: parse_rules(body, W.shop)


def rule(**fields: Any) -> str:
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in fields.items())
    return f"[[rule]]\n{lines}\n"


def rules_file(content: bytes | str, name: str = "rules.toml") -> Callable[[], Any]:
    return lambda: load_rules(W.file(name, content), W.shop)


@dataclass(frozen=True)
class Case:
    call: Callable[[], Any]
    error: type[RecokitError]
    names: str


def case(id: str, call: Callable[[], Any], error: type[RecokitError], names: str) -> Any:
    return pytest.param(Case(call, error, names), id=id)


BIG = 2**64 - 1
INTERNAL_NAMES = ["basket_idx", "weight", "item_idx", "customer_idx", "__t", "__day", "__bc", "quantity", "timestamp"]

CASES = [
    # -- Dataset: the tables and their columns ----------------------------------------------------
    case("interactions-not-a-table", lambda: Dataset([1, 2]), DataError, "expected a polars/pandas DataFrame"),
    case("interactions-dict", lambda: Dataset({"customer_id": [1]}), DataError, "got dict"),
    case("missing-item-column", lambda: Dataset(orders(), item_col="sku"), DataError, "'sku'"),
    case("missing-customer-column", lambda: Dataset(orders(), customer_col="client"), DataError, "'client'"),
    case("missing-time-column", lambda: ds(time_col="when"), DataError, "'when'"),
    case("missing-basket-column", lambda: ds(basket_col="order"), DataError, "'order'"),
    case("missing-quantity-column", lambda: ds(quantity_col="units"), DataError, "'units'"),
    case("missing-price-column", lambda: ds(price_col="paid"), DataError, "'paid'"),
    case("missing-event-column", lambda: ds(event_col="kind"), DataError, "'kind'"),
    case("item-col-not-a-name", lambda: ds(item_col=3), ConfigError, "item_col"),
    case("customer-col-empty", lambda: ds(customer_col=""), ConfigError, "customer_col"),
    case("unknown-items-policy", lambda: ds(unknown_items="ignore"), ConfigError, "unknown_items"),
    case("basket-only-without-basket-col", lambda: ds(customer_col=None), ConfigError, "basket_col"),
    case("basket-only-with-customers", lambda: Dataset(orders(), customers=pl.DataFrame({"customer_id": ["ann"]}), customer_col=None, basket_col="order_id"), ConfigError, "customer_col=None"),
    case("catalog-has-item-id-besides-sku", lambda: Dataset(orders().rename({"item_id": "sku"}), catalog().rename({"item_id": "sku"}).with_columns(item_id=pl.lit("x")), item_col="sku"), DataError, "'item_id'"),
    case("customers-have-customer-id-besides-client", lambda: Dataset(orders().rename({"customer_id": "client"}), customers=pl.DataFrame({"client": ["ann"], "customer_id": [1]}), customer_col="client"), DataError, "'customer_id'"),
    # ids
    case("null-customer-id", lambda: Dataset(orders(customer_id=["ann", None, "bob", "cid"])), DataError, "'customer_id' has 1 null"),
    case("null-item-id", lambda: Dataset(orders(item_id=["bike", "helmet", None, "pump"])), DataError, "'item_id' has 1 null"),
    case("float-item-ids", lambda: Dataset(orders(item_id=[1.0, 2.0, 1.0, 3.0])), DataError, "'item_id' holds ids of type Float64"),
    case("list-item-ids", lambda: Dataset(orders(item_id=[[1], [2], [1], [3]])), DataError, "'item_id'"),
    case("boolean-customer-ids", lambda: Dataset(orders(customer_id=[True, True, False, False])), DataError, "'customer_id' holds ids of type Boolean"),
    case("ids-above-2-to-63", lambda: Dataset(orders(item_id=pl.Series([BIG, 3, BIG, 4], dtype=pl.UInt64))), DataError, "above 2^63"),
    case("customer-ids-above-2-to-63", lambda: Dataset(orders(customer_id=pl.Series([BIG, BIG, 1, 2], dtype=pl.UInt64))), DataError, "'customer_id'"),
    case("item-ids-int-vs-str-catalog", lambda: Dataset(orders(item_id=[1, 2, 1, 3]), catalog()), DataError, "item ids are Int64 in interactions but String in the catalog"),
    case("customer-ids-str-vs-int-customers", lambda: Dataset(orders(), customers=pl.DataFrame({"customer_id": [1, 2]})), DataError, "customer ids are String in interactions but Int64"),
    case("duplicate-catalog-ids", lambda: Dataset(orders(), pl.DataFrame({"item_id": ["bike", "bike", "helmet", "pump"]})), DataError, "share an item id in column 'item_id'"),
    case("duplicate-customer-rows", lambda: Dataset(orders(), customers=pl.DataFrame({"customer_id": ["ann", "ann"]})), DataError, "share a customer id"),
    case("null-catalog-id", lambda: Dataset(orders(), pl.DataFrame({"item_id": ["bike", None, "pump", "helmet"]})), DataError, "catalog: column 'item_id' has 1 null"),
    case("items-absent-from-catalog", lambda: Dataset(orders(), pl.DataFrame({"item_id": ["bike", "helmet"]})), DataError, "absent from the catalog"),
    # times
    case("unparseable-time", lambda: Dataset(orders(ts=["yesterday"] * 4), time_col="ts"), DataError, "'ts' are not parseable timestamps"),
    case("null-time", lambda: Dataset(orders(ts=["2024-01-01", None, "2024-01-02", "2024-01-03"]), time_col="ts"), DataError, "'ts' has 1 null"),
    case("milliseconds-as-seconds", lambda: Dataset(orders(ts=[1_700_000_000_000] * 4), time_col="ts"), DataError, "not Unix seconds between 1900 and 2200"),
    case("nan-unix-seconds", lambda: Dataset(orders(ts=[1.7e9, float("nan"), 1.7e9, 1.7e9]), time_col="ts"), DataError, "'ts'"),
    case("inf-unix-seconds", lambda: Dataset(orders(ts=[1.7e9, float("inf"), 1.7e9, 1.7e9]), time_col="ts"), DataError, "not Unix seconds"),
    case("ambiguous-day-month", lambda: Dataset(orders(ts=["05/06/2024", "05/06/2024", "07/08/2024", "01/02/2024"]), time_col="ts"), DataError, "ambiguous"),
    case("ambiguous-names-both-readings", lambda: Dataset(orders(ts=["05/06/2024"] * 4), time_col="ts"), DataError, "reads as 05 June 2024 day first (%d/%m/%Y) or as May 06, 2024 month first (%m/%d/%Y)"),
    case("two-digit-year", lambda: Dataset(orders(ts=["05/06/24"] * 4), time_col="ts"), DataError, "before 1900 or after 2200"),
    case("offset-mixed-with-naive", lambda: Dataset(orders(ts=["2024-01-01T10:00:00Z"] * 3 + ["2024-01-01T10:00:00"]), time_col="ts"), DataError, "mixes 3 time(s) with a UTC offset"),
    case("time-format-mismatch", lambda: Dataset(orders(ts=["2024-01-01"] * 4), time_col="ts", time_format="%d/%m/%Y"), DataError, "do not match time_format='%d/%m/%Y'"),
    case("time-format-without-time-col", lambda: ds(time_format="%Y"), ConfigError, "time_format"),
    case("time-format-not-a-string", lambda: Dataset(orders(), time_col="ts", time_format=5), ConfigError, "time_format"),
    case("time-format-on-datetime", lambda: Dataset(orders(ts=[dt.datetime(2024, 1, 1)] * 4), time_col="ts", time_format="%Y"), ConfigError, "already holds"),
    case("time-of-boolean-type", lambda: Dataset(orders(ts=[True] * 4), time_col="ts"), DataError, "'ts' has type Boolean"),
    case("year-1800", lambda: Dataset(orders(ts=[dt.datetime(1800, 1, 1)] * 4), time_col="ts"), DataError, "before 1900"),
    # quantities, prices, events, baskets
    case("negative-quantity", lambda: Dataset(orders(qty=[1, -2, 1, 1]), quantity_col="qty"), DataError, "'qty' are negative, zero"),
    case("zero-quantity", lambda: Dataset(orders(qty=[0, 1, 1, 1]), quantity_col="qty"), DataError, "1 row(s) of column 'qty'"),
    case("nan-quantity", lambda: Dataset(orders(qty=[1.0, float("nan"), 1.0, 1.0]), quantity_col="qty"), DataError, "'qty'"),
    case("inf-quantity", lambda: Dataset(orders(qty=[1.0, float("inf"), 1.0, 1.0]), quantity_col="qty"), DataError, "1 row(s) of column 'qty' are negative, zero, infinite"),
    case("minus-inf-quantity", lambda: Dataset(orders(qty=[1.0, -float("inf"), float("inf"), 1.0]), quantity_col="qty"), DataError, "2 row(s) of column 'qty'"),
    case("null-quantity", lambda: Dataset(orders(qty=[1, None, 1, 1]), quantity_col="qty"), DataError, "'qty'"),
    case("text-quantity", lambda: Dataset(orders(qty=["1", "2", "x", "1"]), quantity_col="qty"), DataError, "'qty' must be numeric"),
    case("negative-price", lambda: Dataset(orders(paid=[9.5, -1.0, 3.0, 2.0]), price_col="paid"), DataError, "'paid' are negative"),
    case("inf-price", lambda: Dataset(orders(paid=[9.5, float("inf"), 3.0, 2.0]), price_col="paid"), DataError, "'paid' are negative, infinite or NaN"),
    case("text-price", lambda: Dataset(orders(paid=["9.50 EUR"] * 4), price_col="paid"), DataError, "'paid' must hold numeric prices"),
    case("unknown-event-type", lambda: Dataset(orders(ev=["purchase", "like", "view", "view"]), event_col="ev"), DataError, "event types without a weight: ['like']"),
    case("null-event", lambda: Dataset(orders(ev=["purchase", None, "view", "view"]), event_col="ev"), DataError, "'ev' has 1 null"),
    case("negative-event-weight", lambda: Dataset(orders(ev=["purchase"] * 4), event_col="ev", event_weights={"purchase": -1}), ConfigError, "event_weights['purchase']"),
    case("inf-event-weight", lambda: Dataset(orders(ev=["purchase"] * 4), event_col="ev", event_weights={"purchase": float("inf")}), ConfigError, "finite"),
    case("event-weights-without-column", lambda: ds(event_weights={"purchase": 1.0}), ConfigError, "event_col"),
    case("null-order-id", lambda: Dataset(orders(order_id=[1, None, 2, 3]), basket_col="order_id"), DataError, "'order_id' has 1 null"),
    case("order-shared-by-two-customers", lambda: Dataset(orders(order_id=[1, 1, 1, 3]), basket_col="order_id"), DataError, "in column 'order_id' belong to more than one customer"),
    case("basket-only-null-basket", lambda: Dataset(orders(order_id=[1, None, 2, 3]), customer_col=None, basket_col="order_id"), DataError, "'order_id' has 1 null"),
    # internal column names are the user's to use: a clash is never a polars error
    case("internal-name-weight-as-bad-time", lambda: Dataset(orders(ts=["x"] * 4).rename({"ts": "weight"}), time_col="weight"), DataError, "'weight' are not parseable"),
    case("internal-name-basket-idx-bad-values", lambda: Dataset(orders(basket_idx=[1, None, 2, 3]), basket_col="basket_idx"), DataError, "'basket_idx' has 1 null"),
    case("internal-name-weight-as-bad-quantity", lambda: Dataset(orders(weight=[1, -1, 1, 1]), quantity_col="weight"), DataError, "column 'weight' are negative"),
    case("internal-name-item-idx-as-shared-order", lambda: Dataset(orders(item_idx=[1, 1, 1, 3]), basket_col="item_idx"), DataError, "column 'item_idx' belong to more than one customer"),
    # files
    case("file-not-found", lambda: Dataset("/nonexistent/orders.csv"), DataError, "file not found"),
    case("unsupported-file-type", lambda: Dataset(W.file("orders.xlsx", "x")), DataError, "unsupported file type '.xlsx'"),
    case("csv-not-utf8", lambda: Dataset(W.file("orders.csv", b"customer_id,item_id\n1,caf\xe9\n")), DataError, "orders.csv"),
    case("csv-missing-columns", lambda: Dataset(W.file("orders.csv", "client,sku\n1,2\n")), DataError, "missing required column(s) ['customer_id', 'item_id']"),
    case("csv-ragged", lambda: Dataset(W.file("orders.csv", 'customer_id,item_id\n1,2\n3,"4\n')), DataError, "orders.csv"),
    case("csv-empty", lambda: Dataset(W.file("orders.csv", "")), DataError, "orders.csv"),
    case("parquet-garbage", lambda: Dataset(W.file("orders.parquet", b"PAR1 not parquet PAR1")), DataError, "orders.parquet"),
    case("parquet-truncated", lambda: Dataset(W.file("orders.parquet", _parquet_bytes()[:40])), DataError, "orders.parquet"),
    case("csv-quantity-text-after-10000-rows", lambda: Dataset(W.file("orders.csv", "customer_id,item_id,qty\n" + "1,a,2\n" * 10_001 + "2,b,two\n"), quantity_col="qty"), DataError, "'qty' must be numeric"),
    case("catalog-csv-int-vs-frame-int", lambda: Dataset(orders(item_id=[1, 2, 1, 3]), W.file("catalog.csv", "item_id\n1\n2\n3\n")), DataError, "item ids are Int64 in interactions but String in the catalog"),
    case("filter-not-a-predicate", lambda: W.shop.filter("customer_id = 1"), ConfigError, "Dataset.filter"),
    case("filter-unknown-column", lambda: W.shop.filter(pl.col("colour") == "red"), DataError, "colour"),
    case("filter-mask-of-another-length", lambda: W.shop.filter(pl.Series([True, False])), DataError, "one value per interaction"),
    case("filter-not-boolean", lambda: W.shop.filter(pl.col("customer_id")), DataError, "Boolean"),
    case("with-catalog-other-ids", lambda: W.shop.with_catalog(W.shop.catalog.head(3)), DataError, "with_catalog"),
    case("with-catalog-other-type", lambda: W.shop.with_catalog(W.shop.catalog.with_columns(pl.col("item_id").cast(pl.Categorical).cast(pl.String).str.len_chars().alias("item_id"))), DataError, "with_catalog"),
    # -- queries and recommend_many ----------------------------------------------------------------
    case("query-k-zero", lambda: Query(k=0), ConfigError, "Query.k"),
    case("query-k-float", lambda: Query(k=2.5), ConfigError, "Query.k"),
    case("query-k-bool", lambda: Query(k=True), ConfigError, "Query.k"),
    case("query-items-a-string", lambda: Query(items="bike"), ConfigError, "Query.items"),
    case("query-exclude-a-number", lambda: Query(exclude=5), ConfigError, "Query.exclude"),
    case("query-now-a-string", lambda: Query(now="2024-01-01"), ConfigError, "now"),
    case("query-exclude-purchased-not-bool", lambda: Query(exclude_purchased="yes"), ConfigError, "exclude_purchased"),
    case("recommend-not-fitted", lambda: Popularity().recommend(Query()), NotFittedError, "Popularity"),
    case("recommend-not-a-query", lambda: W.popularity.recommend("ann"), ConfigError, "Query"),
    case("recommend-customer-of-other-type", lambda: W.popularity.recommend(Query(customer_id=12345)), ConfigTypeError, "customer"),
    case("recommend-items-of-other-type", lambda: W.popularity.recommend(Query(items=[1, 2])), ConfigTypeError, "item"),
    case("recommend-many-single-id", lambda: W.popularity.recommend_many(W.a_customer), ConfigError, "recommend_many"),
    case("recommend-many-k-zero", lambda: W.popularity.recommend_many([W.a_customer], k=0), ConfigError, "k"),
    case("recommend-many-batch-size-zero", lambda: W.popularity.recommend_many([W.a_customer], batch_size=0), ConfigError, "batch_size"),
    case("recommend-many-unknown-column", lambda: W.popularity.recommend_many([W.a_customer], columns=["colour"]), RecokitError, "colour"),
    case("recommend-many-unknown-consent", lambda: W.popularity.recommend_many([W.a_customer], consent="consent_sms"), RecokitError, "consent_sms"),
    case("recommend-many-rules-as", lambda: W.popularity.recommend_many([W.a_customer], rules_as="json"), ConfigError, "rules_as"),
    case("explain-not-fitted", lambda: ItemKNN().explain(Query(), "x"), NotFittedError, "ItemKNN"),
    case("similar-items-k-text", lambda: ContentBased().fit(W.shop).similar_items(W.an_item, k="3"), ConfigError, "k"),
    # -- model parameters --------------------------------------------------------------------------
    case("popularity-window-negative", lambda: Popularity(window_days=-1), ConfigError, "window_days"),
    case("popularity-count-unknown", lambda: Popularity(count="money"), ConfigError, "count"),
    case("popularity-half-life-text", lambda: Popularity(half_life_days="30"), ConfigError, "half_life_days"),
    case("popularity-by-unknown-column", lambda: Popularity(by="colour").fit(W.shop), RecokitError, "colour"),
    case("rules-min-support-zero", lambda: AssociationRules(min_support=0), ConfigError, "min_support"),
    case("rules-min-confidence-above-one", lambda: AssociationRules(min_confidence=1.5), ConfigError, "min_confidence"),
    case("rules-metric-unknown", lambda: AssociationRules(metric="conviction2"), ConfigError, "metric"),
    case("rules-aggregate-unknown", lambda: AssociationRules(aggregate="median"), ConfigError, "aggregate"),
    case("rules-max-len-one", lambda: AssociationRules(max_len=1), ConfigError, "max_len"),
    case("rules-rejected-not-a-list", lambda: AssociationRules(rejected=5).fit(W.shop), ConfigError, "rejected"),
    case("rules-rejected-unknown-item", lambda: AssociationRules(rejected=[("nope", "nada")]).fit(W.shop), DataError, "unknown to the dataset"),
    case("rules-rejected-file-not-utf8", lambda: AssociationRules(rejected=W.file("rejected.toml", b"\xff\xfe")).fit(W.shop), DataError, "rejected.toml"),
    case("rules-approved-csv-without-columns", lambda: AssociationRules(approved=W.file("approved.csv", "a,b\n1,2\n")).fit(W.shop), DataError, "antecedent"),
    case("knn-k-zero", lambda: ItemKNN(k_neighbours=0), ConfigError, "k_neighbours"),
    case("knn-similarity-unknown", lambda: ItemKNN(similarity="pearson2"), ConfigError, "similarity"),
    case("knn-shrinkage-negative", lambda: ItemKNN(shrinkage=-1.0), ConfigError, "shrinkage"),
    case("knn-bm25-b-above-one", lambda: ItemKNN(similarity="bm25", bm25_b=1.5), ConfigError, "bm25_b"),
    case("content-price-band-ratio-one", lambda: ContentBased(price_band_ratio=1.0), ConfigError, "price_band_ratio"),
    case("content-max-levels-zero", lambda: ContentBased(max_levels=0), ConfigError, "max_levels"),
    case("content-unknown-column", lambda: ContentBased(columns=["colour"]).fit(W.shop), DataError, "'colour'"),
    case("content-negative-column-weight", lambda: ContentBased(columns={"category": -1.0}), ConfigError, "category"),
    case("content-item-id-as-attribute", lambda: ContentBased(columns=["item_id"]).fit(W.shop), ConfigError, "item_id"),
    case("renewal-no-timestamps", lambda: Renewal().fit(ds()), DataError, "timestamps"),
    case("renewal-unknown-category-column", lambda: Renewal(category_column="family").fit(W.shop), DataError, "'family'"),
    case("renewal-early-above-one", lambda: Renewal(early=2.0, late=1.0), ConfigError, "'early' parameter of Renewal"),
    case("renewal-min-repeat-share-above-one", lambda: Renewal(min_repeat_share=2.0), ConfigError, "min_repeat_share"),
    case("als-weights-beyond-float32", lambda: ALS(factors=2, iterations=1).fit(Dataset(orders(qty=[1e300, 1, 1, 1]), quantity_col="qty")), DataError, "float32"),
    case("als-diverges-on-huge-weights", lambda: ALS(factors=2, iterations=2).fit(Dataset(orders(qty=[1e37, 1, 1e37, 1]), quantity_col="qty")), DataError, "diverged"),
    case("als-factors-zero", lambda: ALS(factors=0), ConfigError, "factors"),
    case("als-regularization-negative", lambda: ALS(regularization=-0.1), ConfigError, "regularization"),
    case("bpr-learning-rate-zero", lambda: BPR(learning_rate=0.0), ConfigError, "learning_rate"),
    case("bpr-iterations-text", lambda: BPR(iterations="10"), ConfigError, "iterations"),
    case("hybrid-no-models", lambda: Hybrid([]), ConfigError, "Hybrid"),
    case("hybrid-not-a-model", lambda: Hybrid([Popularity(), "knn"]), ConfigError, "must be a recokit Recommender. Got str"),
    case("hybrid-method-unknown", lambda: Hybrid([Popularity()], method="vote"), ConfigError, "method"),
    case("hybrid-weights-length", lambda: Hybrid([Popularity(), ItemKNN()], weights=[1.0]), ConfigError, "weights"),
    case("hybrid-negative-weight", lambda: Hybrid([Popularity(), ItemKNN()], weights=[1.0, -1.0]), ConfigError, "weights"),
    case("ruled-not-a-model", lambda: Ruled("popularity", []), ConfigError, "model"),
    # -- rules files and conditions ------------------------------------------------------------------
    case("rules-not-toml", rules_text("[[rule]\nname = 'x'"), RuleError, "not valid TOML"),
    case("rules-empty", rules_text(""), RuleError, "no rules found"),
    case("rules-unknown-top-level-key", rules_text("colour = 'red'\n" + rule(name="a", type="filter", keep="stock > 0")), RuleError, "['colour']"),
    case("rules-unknown-type", rules_text(rule(name="a", type="promote", match="stock > 0")), RuleError, "'promote'"),
    case("rules-type-a-list", rules_text('[[rule]]\nname = "a"\ntype = []\nkeep = "stock > 0"\n'), RuleError, "unknown rule type []"),
    case("rules-missing-name", rules_text(rule(type="filter", keep="stock > 0")), RuleError, "name"),
    case("rules-duplicate-name", rules_text(rule(name="a", type="filter", keep="stock > 0") + rule(name="a", type="filter", keep="stock > 1")), RuleError, "'a'"),
    case("rules-unknown-field", rules_text(rule(name="a", type="filter", keep="stock > 0", colour="red")), RuleError, "colour"),
    case("rules-unknown-column", rules_text(rule(name="a", type="filter", keep="colour = 'red'")), RuleError, "colour"),
    case("rules-non-boolean-condition", rules_text(rule(name="a", type="filter", keep="stock + 1")), RuleError, "'a'"),
    case("rules-subquery", rules_text(rule(name="a", type="filter", keep="item_id IN (SELECT item_id FROM x)")), RuleError, "SELECT"),
    case("rules-file-reader-in-condition", rules_text(rule(name="a", type="filter", keep="item_id IN (SELECT * FROM read_csv('x.csv'))")), RuleError, "'a'"),
    case("rules-deep-nesting", rules_text(rule(name="a", type="filter", keep="(" * 40 + "stock > 0" + ")" * 40)), RuleError, "nested"),
    case("rules-boost-factor-text", rules_text(rule(name="a", type="boost", match="stock > 0", factor="big")), RuleError, "factor"),
    case("rules-boost-factor-negative", rules_text(rule(name="a", type="boost", match="stock > 0", factor=-2)), RuleError, "factor"),
    case("rules-max-per-group-n-zero", rules_text(rule(name="a", type="max_per_group", column="category", n=0)), RuleError, "'a'"),
    case("rules-max-per-group-unknown-column", rules_text(rule(name="a", type="max_per_group", column="colour", n=2)), RuleError, "colour"),
    case("rules-pin-unknown-item", rules_text(rule(name="a", type="pin", items=["nope"], position=1)), RuleError, "nope"),
    case("rules-purchase-event-empty", rules_text('purchase_event = ""\n' + rule(name="a", type="filter", keep="stock > 0")), RuleError, "purchase_event"),
    case("rules-path-an-int", lambda: load_rules(5), RuleError, "load_rules: the path"),
    case("rules-file-missing", lambda: load_rules("/nonexistent/rules.toml"), RuleError, "rules.toml"),
    case("rules-file-not-utf8", rules_file(b"\xff\xfe[[rule]]"), RuleError, "not UTF-8"),
    case("rules-file-nested-arrays", rules_file("x = " + "[" * 5000 + "]" * 5000), RuleError, "nested too deeply"),
    case("rules-file-binary", rules_file(bytes(range(256))), RuleError, "rules.toml"),
    # -- saved model files ---------------------------------------------------------------------------
    case("load-not-a-directory", lambda: load("/nonexistent/model"), PersistError, "/nonexistent/model"),
    case("load-empty-directory", lambda: load(W.folder()), PersistError, "manifest.json"),
    case("load-manifest-garbage", damaged(_write("manifest.json", b"{not json")), PersistError, "manifest.json"),
    case("load-manifest-not-utf8", damaged(_write("manifest.json", b"\xff\xfe\x00")), PersistError, "manifest.json"),
    case("load-manifest-deep", damaged(_write("manifest.json", b"[" * 100_000 + b"]" * 100_000)), PersistError, "manifest.json"),
    case("load-model-json-truncated", damaged(_truncate("model.json")), PersistError, "model.json"),
    case("load-model-json-garbage-rehashed", damaged(_write("model.json", b"\x00\x01garbage")), PersistError, "model.json"),
    case("load-model-json-deep-rehashed", damaged(_deep_json), PersistError, "model.json"),
    case("load-model-json-nan-constant", damaged(_write("model.json", b'{"format": NaN}')), PersistError, "model.json"),
    case("load-array-garbage", damaged(_swap_first_array), PersistError, ".npy"),
    case("load-array-is-a-zip", damaged(_zip_as_array), PersistError, ".npy"),
    case("load-parquet-garbage", damaged(_parquet_garbage), PersistError, ".parquet"),
    case("load-invalid-parameter", damaged(_set_param), PersistError, "half_life_days"),
    case("load-unknown-class", damaged(_edit(lambda d: d["models"][0].update({"class": "os.system"}))), PersistError, "os.system"),
    case("load-format-version", damaged(_edit(lambda d: d.update({"format_version": 99}))), PersistError, "format version"),
    case("load-path-an-int", lambda: load(5), ConfigTypeError, "load: the path"),
    case("save-path-an-int", lambda: save(W.popularity, 5), ConfigTypeError, "save: the path"),
    case("save-not-fitted", lambda: save(Popularity(), W.folder() / "m"), NotFittedError, "Popularity"),
    case("save-over-a-file", lambda: save(W.popularity, W.file("model", "x")), PersistError, "model"),
    # -- loaders --------------------------------------------------------------------------------------
    case("transactions-file-not-found", lambda: load_transactions("/nonexistent/t.csv"), DataError, "t.csv"),
    case("transactions-not-utf8", lambda: load_transactions(W.file("t.csv", b"customer_id,item_id\n1,\xff\n")), DataError, "t.csv"),
    case("transactions-bad-parquet", lambda: load_transactions(W.file("t.parquet", b"PAR1xxxxPAR1")), DataError, "t.parquet"),
    case("transactions-time-format-mismatch", lambda: load_transactions(W.file("t.csv", "customer_id,item_id,day\n1,a,2024-01-01\n"), time_col="day", time_format="%d-%m-%Y"), DataError, "'day'"),
    case("transactions-time-format-without-time-col", lambda: load_transactions(W.file("t.csv", "customer_id,item_id\n1,a\n"), time_format="%d-%m-%Y"), ConfigError, "time_format"),
    case("transactions-separator-two-chars", lambda: load_transactions(W.file("t.csv", "customer_id,item_id\n1,a\n"), separator=";;"), ConfigError, "separator"),
    case("transactions-us-dates-ambiguous", lambda: load_transactions(W.file("t.csv", "customer_id,item_id,day\n1,a,05/06/2024\n2,b,07/08/2024\n"), time_col="day"), DataError, "ambiguous"),
    case("basket-lines-not-utf8", lambda: load_basket_lines(W.file("b.csv", b"milk,caf\xe9\n")), DataError, "b.csv"),
    case("basket-lines-empty", lambda: load_basket_lines(W.file("b.csv", "")), DataError, "no basket"),
    case("basket-lines-separator", lambda: load_basket_lines(W.file("b.csv", "a,b\n"), separator=""), ConfigError, "separator"),
    case("movielens-missing", lambda: load_movielens_100k("/nonexistent/ml-100k"), DataError, "ml-100k"),
    case("movielens-wrong-columns", lambda: load_movielens_100k(W.file("u.data", "1\t2\t3\n")), DataError, "u.data"),
    case("movielens-text-rating", lambda: load_movielens_100k(W.file("u.data", "1\t2\tgood\t881250949\n")), DataError, "u.data"),
    case("movielens-min-rating-text", lambda: load_movielens_100k(W.file("u.data", "1\t2\t3\t881250949\n"), min_rating="4"), ConfigError, "min_rating"),
    # -- evaluation ---------------------------------------------------------------------------------
    case("temporal-split-cutoff-text", lambda: temporal_split(W.shop, cutoff="2024"), ConfigError, "cutoff"),
    case("temporal-split-cutoff-after-the-data", lambda: temporal_split(W.shop, cutoff=dt.datetime(2100, 1, 1)), DataError, "leaves no row for testing"),
    case("temporal-split-without-times", lambda: temporal_split(ds()), DataError, "timestamps"),
    case("holdout-fraction-above-one", lambda: random_holdout(W.shop, test_fraction=2), ConfigError, "test_fraction"),
    case("evaluate-not-a-split", lambda: evaluate({"p": Popularity()}, "split"), ConfigError, "Split"),
    case("evaluate-diversity-by-unknown-column", lambda: evaluate({"p": Popularity()}, random_holdout(W.shop), diversity_by="colour", progress=False), ConfigError, "colour"),
    case("paired-test-unknown-metric", lambda: paired_test(Popularity(), Popularity(), random_holdout(W.shop), metric="auc"), ConfigError, "metric"),
    # -- customer functions ---------------------------------------------------------------------------
    case("rfm-not-a-dataset", lambda: rfm(orders()), ConfigTypeError, "Dataset"),
    case("rfm-window-negative", lambda: rfm(W.shop, window_days=-5), ConfigError, "window_days"),
    case("rfm-at-garbage", lambda: rfm(W.shop, at="someday"), ConfigError, "at"),
    case("rfm-price-unknown", lambda: rfm(W.shop, price="gross"), ConfigError, "price"),
    case("rfm-without-time", lambda: rfm(ds()), DataError, "time"),
    case("features-unknown-share-column", lambda: features(W.shop, shares=["colour"]), RecokitError, "colour"),
    case("features-max-values-zero", lambda: features(W.shop, max_values=0), ConfigError, "max_values"),
    case("cluster-method-unknown", lambda: cluster(W.shop, method="spectral"), ConfigError, "method"),
    case("cluster-k-one", lambda: cluster(W.shop, k=1), ConfigError, "k"),
    case("cluster-by-unknown-feature", lambda: cluster(W.shop, by=["colour"]), RecokitError, "colour"),
    case("lifecycle-overdue-factor-nan", lambda: lifecycle(W.shop, overdue_factor=float("nan")), ConfigError, "overdue_factor"),
    case("lifecycle-new-days-negative", lambda: lifecycle(W.shop, new_days=-5), ConfigError, "new_days"),
    case("transitions-by-unknown", lambda: transitions(W.shop, "2024-01-01", "2024-06-01", by="clusters"), ConfigError, "by"),
    case("practice-changes-unknown-column", lambda: practice_changes(W.shop, column="colour"), RecokitError, "colour"),
    case("explain-customer-unknown", lambda: explain_customer(W.shop, "nobody-at-all"), RecokitError, "nobody-at-all"),
    case("explain-customer-clusters-not-a-table", lambda: explain_customer(W.shop, W.a_customer, clusters=5), ConfigTypeError, "clusters"),
    case("quintile-scores-nan", lambda: quintile_scores([1.0, float("nan")]), ConfigError, "NaN"),
]


def _parquet_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    orders().write_parquet(buf)
    return buf.getvalue()


def test_there_are_at_least_a_hundred_cases():
    assert len(CASES) >= 100, len(CASES)


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_a_clear_recokit_error(bad: Case) -> None:
    with pytest.raises(RecokitError) as info:
        bad.call()
    err = info.value
    assert isinstance(err, bad.error), f"expected {bad.error.__name__}, got {type(err).__name__}: {err}"
    assert bad.names in str(err), f"the message does not name {bad.names!r}: {err}"


# -- what the fixes make work (the other half of "bad input": it was not bad) ---------------------------
def test_csv_ids_are_text_so_007_and_7_stay_two_products(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,item_id,order_id\n01,007,A1\n1,7,A01\n01,7,A1\n")
    shop = Dataset(path, basket_col="order_id")
    assert sorted(shop.item_ids.to_list()) == ["007", "7"]
    assert sorted(shop.customer_ids.to_list()) == ["01", "1"]
    assert shop.n_baskets == 2  # 'A1' and 'A01' are two orders


def test_ids_above_2_to_63_and_ids_changing_type_read_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,item_id\n" + "1,5\n" * 10_001 + f"2,{BIG}\n3,abc\n")
    shop = Dataset(path)
    assert sorted(shop.item_ids.to_list()) == sorted(["5", str(BIG), "abc"])


def test_load_transactions_reads_integer_ids_when_told(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("customer_id,item_id\n1,007\n2,7\n")
    assert load_transactions(path).n_items == 2
    assert load_transactions(path, schema_overrides={"item_id": pl.Int64}).item_ids.to_list() == [7]


@pytest.mark.parametrize("name", INTERNAL_NAMES)
def test_a_user_column_named_like_an_internal_one_is_ignored_or_used(name: str) -> None:
    plain = Dataset(orders(), time_col="ts", basket_col="order_id", quantity_col="qty")
    extra = Dataset(orders().with_columns(pl.lit(99).alias(name)) if name != "timestamp" else orders(timestamp=[0] * 4), time_col="ts", basket_col="order_id", quantity_col="qty")
    assert extra.interactions.equals(plain.interactions)
    # ... and named as the column to read, it is read
    as_basket = Dataset(orders().rename({"order_id": name}), time_col="ts" if name != "ts" else None, basket_col=name, quantity_col="qty")
    assert as_basket.n_baskets == 3


def test_quantity_and_time_columns_named_weight_and_basket_idx() -> None:
    renamed = orders().rename({"qty": "weight", "ts": "basket_idx", "order_id": "item_idx"})
    got = Dataset(renamed, time_col="basket_idx", quantity_col="weight", basket_col="item_idx")
    want = Dataset(orders(), time_col="ts", quantity_col="qty", basket_col="order_id")
    assert got.interactions.equals(want.interactions)
    assert (got.user_items != want.user_items).nnz == 0


def test_basket_only_data_each_basket_its_own_customer() -> None:
    baskets = pl.DataFrame({"order": ["o1", "o1", "o2", "o2", "o3"], "item_id": ["tent", "stove", "tent", "stove", "tent"]})
    shop = Dataset(baskets, customer_col=None, basket_col="order")
    assert shop.n_baskets == 3 and shop.n_customers == 3
    assert sorted(shop.customer_ids.to_list()) == ["o1", "o2", "o3"]
    recs = AssociationRules(min_support=2).fit(shop).recommend(Query(items=["tent"], k=1))
    assert recs.item_ids == ["stove"]


@pytest.mark.parametrize(
    ("content", "extra", "names"),
    [
        (b"customer_id,item_id,day\n1,a,05/06/2024\n2,b,07/08/2024\n", [], "ambiguous"),
        (b"customer_id,item_id,day\n1,caf\xe9,2024-01-01\n", [], "cannot read"),
        (b"customer_id,item_id,day\n1,a,2024-01-01\n", ["--time-format", "%d/%m/%Y"], "do not match time_format"),
        (b"customer_id,item_id,day,qty\n1,a,2024-01-01,inf\n", ["--quantity-col", "qty"], "infinite"),
    ],
    ids=["ambiguous-dates", "not-utf8", "time-format", "inf-quantity"],
)
def test_the_cli_reports_bad_files_as_an_error_message(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, extra: list[str], names: str) -> None:
    from recokit.cli.main import main

    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_bytes(content)
    code = main(["customers", "--interactions", str(orders_csv), "--time-col", "day", "--out", str(tmp_path / "out.csv"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("recokit: error:") and names in err, err
