"""GDPR erasure end to end: after forget, a saved model keeps no trace of the customer (every
file read: JSON text, every Parquet column, every .npy array); ALS drops the customer's factors
and re-solves the items they had; ALS partial_fit re-solves the new rows' customers and items.

The ALS checks solve the least-squares steps with numpy, independently of implicit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recokit
from persist_files import data_files
from recokit import (
    ALS,
    AssociationRules,
    ContentBased,
    Dataset,
    Hybrid,
    ItemKNN,
    Popularity,
    Renewal,
    Ruled,
)
from recokit.rules import Filter

TOKEN = "ERASE-ME-4711"


@pytest.fixture(scope="module")
def marked(shop):
    """The session's shop with one customer renamed to a token no other text contains."""
    target = shop.customers.filter(pl.col("declared_sports").is_not_null())["customer_id"][0]
    inter = shop.interactions.select("customer_id", "item_id", "timestamp", "quantity", pl.col("basket_idx").alias("order_id"))
    rename = pl.when(pl.col("customer_id") == target).then(pl.lit(TOKEN)).otherwise(pl.col("customer_id")).alias("customer_id")
    return Dataset(
        inter.with_columns(rename), shop.catalog, shop.customers.with_columns(rename),
        time_col="timestamp", basket_col="order_id", quantity_col="quantity",
    )  # fmt: skip


def everything() -> Ruled:
    parts = {
        "knn": ItemKNN("jaccard", 10),
        "pop": Popularity(by="category"),
        "rules": AssociationRules(min_support=2, min_confidence=0.05),
        "renew": Renewal(),
        "content": ContentBased(),
        "als": ALS(factors=4, iterations=2, random_state=0, num_threads=1),
    }
    return Ruled(Hybrid(parts), [Filter("stock > 0", name="in stock")], fallback=Popularity())


def traces(path: Path, token: str) -> list[str]:
    """Where ``token`` appears in the saved model: file names, raw bytes (UTF-8 and numpy's
    UCS-4), JSON text, Parquet column names and values, .npy values."""
    found = []
    for name in data_files(path):
        file = path / name
        raw = file.read_bytes()
        if token in name or token.encode() in raw or token.encode("utf-32-le") in raw:
            found.append(f"{name}: bytes")
        if name.endswith(".json") and token in json.dumps(json.loads(raw)):
            found.append(f"{name}: json")
        if name.endswith(".parquet"):
            frame = pl.read_parquet(file)
            if any(token in c for c in frame.columns):
                found.append(f"{name}: a column name")
            for col in frame.columns:
                s = frame[col]
                text = pl.Series([str(v) for v in s.to_list()]) if s.dtype.is_nested() else s.cast(pl.String, strict=False)
                if text.str.contains(token, literal=True).any():
                    found.append(f"{name}: column {col}")
        if name.endswith(".npy"):
            a = np.load(file, allow_pickle=False)
            if a.dtype.kind in "USO" and any(token in str(v) for v in a.ravel().tolist()):
                found.append(f"{name}: values")
    return found


def test_a_save_after_forget_keeps_no_trace_of_the_customer(marked, tmp_path):
    model = everything().fit(marked)
    recokit.save(model, tmp_path / "before")
    assert traces(tmp_path / "before", TOKEN), "the scan must find the customer before forget (or it proves nothing)"
    model.forget([TOKEN])
    recokit.save(model, tmp_path / "after")
    assert traces(tmp_path / "after", TOKEN) == []
    loaded = recokit.load(tmp_path / "after")
    assert TOKEN not in loaded.dataset_.customer_ids
    assert loaded.dataset_.n_interactions == marked.n_interactions - marked.history(TOKEN).height


def test_forget_leaves_the_dataset_the_model_and_every_component(marked):
    model = everything().fit(marked).forget([TOKEN])
    datasets = [model.dataset_, model.model_.dataset_, model.rules_.dataset_, *(c.dataset_ for c in model.model_.components_)]
    assert all(TOKEN not in ds.customer_ids for ds in datasets)
    assert all(ds.customers is not None and TOKEN not in ds.customers["customer_id"].to_list() for ds in datasets)
    assert model.recommend(customer_id=TOKEN, k=3).items == everything().fit(marked.without_customers([TOKEN])).recommend(customer_id=TOKEN, k=3).items


# -- ALS, against numpy's least squares -----------------------------------------------------------
def solve(other: np.ndarray, weights: dict[int, float], reg: float, alpha: float) -> np.ndarray:
    """One ALS least-squares solve (implicit's weighting: confidence = alpha * weight)."""
    k = other.shape[1]
    a = other.T @ other + reg * np.eye(k)
    b = np.zeros(k)
    for j, w in weights.items():
        c = alpha * w
        a += (c - 1.0) * np.outer(other[j], other[j])
        b += c * other[j]
    return np.linalg.solve(a, b)


def column(ui, item: int) -> dict[int, float]:
    col = ui[:, [item]].tocoo()
    return dict(zip(col.row.tolist(), col.data.tolist(), strict=True))


def row(ui, customer: int) -> dict[int, float]:
    r = ui[[customer]].tocoo()
    return dict(zip(r.col.tolist(), r.data.tolist(), strict=True))


def als() -> ALS:
    return ALS(factors=6, iterations=3, regularization=0.1, alpha=2.0, random_state=0, num_threads=1)


def test_als_forget_drops_the_factors_and_re_solves_the_items_they_had(shop):
    model = als().fit(shop)
    before_users, before_items = model.user_factors_.copy(), model.item_factors_.copy()
    gone = shop.customer_ids.to_list()[5]
    had = shop.user_items[[5]].indices
    model.forget([gone])
    assert np.array_equal(model.user_factors_, np.delete(before_users, 5, axis=0))
    others = np.setdiff1d(np.arange(shop.n_items), had)
    assert np.array_equal(model.item_factors_[others], before_items[others])
    x = model.user_factors_.astype(np.float32).astype(np.float64)
    ui = model.dataset_.user_items
    for item in had.tolist():
        np.testing.assert_allclose(model.item_factors_[item], solve(x, column(ui, item), 0.1, 2.0), rtol=2e-3, atol=2e-4)


def test_als_partial_fit_re_solves_the_new_rows_customers_then_their_items(shop):
    raw = shop.interactions.select("customer_id", "item_id", "timestamp", "quantity", pl.col("basket_idx").alias("order_id"))
    cut = raw["timestamp"].quantile(0.9)
    # the last 10 % of the rows: known customers' new orders, and customers seen for the first time
    new_rows = raw.filter(pl.col("timestamp") >= cut)

    def build(rows: pl.DataFrame) -> Dataset:
        return Dataset(rows, shop.catalog, time_col="timestamp", basket_col="order_id", quantity_col="quantity")

    old, new = build(raw.filter(pl.col("timestamp") < cut)), build(new_rows)
    model = als().fit(old)
    known_before = set(old.customer_ids.to_list())
    y_before = model.item_factors_.astype(np.float32).astype(np.float64)
    users_before = dict(zip(old.customer_ids.to_list(), model.user_factors_, strict=True))
    model.partial_fit(new)
    ui, ids = model.dataset_.user_items, model.dataset_.customer_ids
    touched = sorted(set(new_rows["customer_id"].to_list()))
    assert any(c not in known_before for c in touched) and any(c in known_before for c in touched)
    for c in touched[:8]:
        np.testing.assert_allclose(model.user_factors_[ids.get(c)], solve(y_before, row(ui, ids.get(c)), 0.1, 2.0), rtol=2e-3, atol=2e-4)
    untouched = [c for c in old.customer_ids.to_list() if c not in set(touched)]
    assert all(np.array_equal(model.user_factors_[ids.get(c)], users_before[c]) for c in untouched)
    x = model.user_factors_.astype(np.float32).astype(np.float64)
    for item in np.unique(new.user_items.indices)[:8].tolist():
        j = model.dataset_.item_ids.get(new.item_ids.id(item))
        np.testing.assert_allclose(model.item_factors_[j], solve(x, column(ui, j), 0.1, 2.0), rtol=2e-3, atol=2e-4)
    newcomer = next(c for c in touched if c not in known_before)
    assert np.isfinite(model.score(customer_id=newcomer)).all()
