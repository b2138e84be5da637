"""Compare two fitted models attribute by attribute (arrays, sparse matrices, frames, nested
values), independently of recokit's own code: a differential test of an update against a fit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit import Dataset, Recommender

__all__ = ["assert_same_dataset", "assert_same_state"]

#: implicit's model object (rebuilt from the factors) and the Dataset (compared on its own)
_SKIP = {"dataset_", "model_"}


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, Recommender):
        assert isinstance(b, Recommender) and type(a) is type(b), where
        assert_same_state(a, b, where)
    elif isinstance(a, Dataset):
        assert_same_dataset(a, b, where)
    elif sp.issparse(a):
        assert sp.issparse(b) and a.shape == b.shape, f"{where}: shape {a.shape} vs {getattr(b, 'shape', None)}"
        x, y = sp.csr_array(a), sp.csr_array(b)
        x.sum_duplicates()
        y.sum_duplicates()
        x.eliminate_zeros()
        y.eliminate_zeros()
        assert np.array_equal(x.indptr, y.indptr) and np.array_equal(x.indices, y.indices), f"{where}: sparsity pattern"
        assert np.array_equal(x.data, y.data), f"{where}: values"
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape, f"{where}: shape {a.shape} vs {getattr(b, 'shape', None)}"
        if a.dtype.kind in "fc":
            assert np.array_equal(a, b, equal_nan=True), f"{where}: values differ"
        else:
            assert a.tolist() == b.tolist(), f"{where}: values differ"
    elif isinstance(a, pl.DataFrame):
        assert isinstance(b, pl.DataFrame) and a.equals(b, null_equal=True), f"{where}: frames differ\n{a}\n{b}"
    elif isinstance(a, pl.Series):
        assert isinstance(b, pl.Series) and a.equals(b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: length"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    elif a is None or isinstance(a, (int, float, str, bool, dt.datetime, np.generic)):
        assert a == b, f"{where}: {a!r} vs {b!r}"
    else:  # dataclasses and other plain values
        assert type(a) is type(b), where
        if hasattr(a, "__dict__"):
            _same(vars(a), vars(b), where)
        else:
            assert a == b, f"{where}: {a!r} vs {b!r}"


def assert_same_state(a: Recommender, b: Recommender, where: str = "model") -> None:
    """Every attribute of ``a`` and ``b`` equal (bit for bit), the implicit object aside."""
    assert set(vars(a)) == set(vars(b)), f"{where}: attributes {sorted(set(vars(a)) ^ set(vars(b)))}"
    for k, v in vars(a).items():
        if k not in _SKIP:
            _same(v, vars(b)[k], f"{where}.{k}")


def assert_same_dataset(a: Dataset, b: Dataset, where: str = "dataset") -> None:
    """The parts a saved Dataset holds, equal (caches aside)."""
    assert a.columns == b.columns, where
    assert a.item_ids == b.item_ids, f"{where}: item ids {a.item_ids.to_list()} vs {b.item_ids.to_list()}"
    assert a.customer_ids == b.customer_ids, f"{where}: customer ids {a.customer_ids.to_list()} vs {b.customer_ids.to_list()}"
    assert a.interactions.equals(b.interactions, null_equal=True), f"{where}: interactions\n{a.interactions}\n{b.interactions}"
    assert a.catalog.equals(b.catalog, null_equal=True), f"{where}: catalog\n{a.catalog}\n{b.catalog}"
    assert (a.customers is None) == (b.customers is None), f"{where}: customer table"
    if a.customers is not None and b.customers is not None:
        assert a.customers.equals(b.customers, null_equal=True), f"{where}: customers\n{a.customers}\n{b.customers}"
    assert a.basket_customer_idx.tolist() == b.basket_customer_idx.tolist(), f"{where}: basket customers"
    ta, tb = a.basket_time, b.basket_time
    assert (ta is None) == (tb is None) and (ta is None or tb is None or ta.tolist() == tb.tolist()), f"{where}: basket times"
