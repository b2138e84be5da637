"""The data package's shared helpers against plain-Python references: ragged ranges, group
codes, item labels, the day constant."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recokit import Dataset
from recokit.data import DAY_US, group_codes, item_label, item_labels, ragged_ranges

spans = st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 6)), max_size=15)


# -- ragged_ranges ---------------------------------------------------------------------------
@given(spans, st.sampled_from([np.int32, np.int64, np.uint32]))
def test_ragged_ranges_is_the_concatenation_of_the_aranges(pairs, dtype):
    if dtype is np.uint32:
        pairs = [(abs(a), n) for a, n in pairs]
    starts = np.array([a for a, _ in pairs], dtype=dtype)
    stops = np.array([a + n for a, n in pairs], dtype=dtype)
    expected = [i for a, b in zip(starts.tolist(), stops.tolist(), strict=True) for i in range(a, b)]
    out = ragged_ranges(starts, stops)
    assert out.dtype == np.int64
    assert out.tolist() == expected


@given(st.lists(st.integers(0, 5), min_size=1, max_size=10), st.data())
def test_ragged_ranges_of_csr_rows_are_their_positions(row_lengths, data):
    indptr = np.concatenate([[0], np.cumsum(row_lengths)])
    rows = np.array(data.draw(st.lists(st.integers(0, len(row_lengths) - 1), max_size=8)), dtype=np.int64)
    expected = [p for r in rows.tolist() for p in range(indptr[r], indptr[r + 1])]
    assert ragged_ranges(indptr[rows], indptr[rows + 1]).tolist() == expected


def test_ragged_ranges_refuses_a_backward_range_and_unequal_lengths():
    with pytest.raises(ValueError, match="stops"):
        ragged_ranges(np.array([0, 5]), np.array([3, 4]))
    with pytest.raises(ValueError, match="2 starts but 1 stops"):
        ragged_ranges(np.array([0, 5]), np.array([3]))


# -- group_codes -----------------------------------------------------------------------------
@given(st.lists(st.one_of(st.none(), st.sampled_from(["bike", "run", "swim", "(none)", ""])), max_size=20))
def test_group_codes_round_trip_in_first_appearance_order(values):
    codes, names = group_codes(pl.Series("category", values, dtype=pl.String))
    as_text = ["(none)" if v is None else v for v in values]
    assert codes.dtype == np.int64 and len(codes) == len(values)
    assert [names[c] for c in codes.tolist()] == as_text
    assert names == list(dict.fromkeys(as_text))  # distinct, in order of first appearance


@given(st.lists(st.one_of(st.none(), st.integers(-3, 3)), max_size=20))
def test_group_codes_of_numbers_name_them_as_text(values):
    codes, names = group_codes(pl.Series("size", values, dtype=pl.Int64))
    assert [names[c] for c in codes.tolist()] == ["(none)" if v is None else str(v) for v in values]


# -- item labels -----------------------------------------------------------------------------
names = st.one_of(st.none(), st.sampled_from(["Gel", "Road bike", "", "  ", "None"]))


@given(st.lists(names, min_size=1, max_size=8))
def test_item_labels_are_the_name_else_the_id(item_names):
    ids = [f"sku{i}" for i in range(len(item_names))]
    catalog = pl.DataFrame({"item_id": ids, "name": pl.Series(item_names, dtype=pl.String)})
    ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": [ids[0]]}), catalog)
    expected = [n if n is not None and n.strip() else i for n, i in zip(item_names, ids, strict=True)]
    assert item_labels(ds) == expected == ds.item_labels()
    assert [item_label(ds, j) for j in range(len(ids))] == expected
    with_id = [item_label(ds, j, with_id=True) for j in range(len(ids))]
    assert with_id == [lab if lab == i else f"{lab} ({i})" for lab, i in zip(expected, ids, strict=True)]


def test_item_labels_without_a_name_column_are_the_ids():
    ds = Dataset(pl.DataFrame({"customer_id": [1, 2], "item_id": [10, 7]}))
    assert item_labels(ds) == ["7", "10"]
    assert item_label(ds, 1, with_id=True) == "10"


# -- time ------------------------------------------------------------------------------------
def test_day_us_is_one_day_of_microseconds():
    assert DAY_US == dt.timedelta(days=1) // dt.timedelta(microseconds=1)


@given(
    dense=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.sampled_from([0.0, 0.0, 1.5, -2.0])),
    data=st.data(),
)
def test_csr_lookup_equals_reading_the_dense_matrix(dense, data):
    import scipy.sparse as sp

    from recokit.data import csr_lookup

    m = sp.csr_array(dense)  # stores exactly the non-zero cells
    n, w = dense.shape
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=20)), dtype=np.int64)
    cols = np.array(data.draw(st.lists(st.integers(0, w - 1), min_size=len(rows), max_size=len(rows))), dtype=np.int64)
    found, pos = csr_lookup(m, rows, cols)
    assert found.tolist() == [bool(dense[r, c] != 0) for r, c in zip(rows, cols, strict=True)]
    assert m.data[pos[found]].tolist() == [float(dense[r, c]) for r, c in zip(rows, cols, strict=True) if dense[r, c] != 0]


@given(hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-(2**40), 2**40)))
def test_sorted_unique_is_numpys_unique(values):
    from recokit.data import sorted_unique

    np.testing.assert_array_equal(sorted_unique(values), np.unique(values))
    assert sorted_unique(values).dtype == np.int64


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)))
def test_a_requests_time_in_microseconds_is_numpys(now):
    """The rules' per-request clock (plain datetime arithmetic) against numpy's conversion."""
    from recokit.rules import RuleSet

    rs = RuleSet([])
    assert rs.now_us(now) == int(np.datetime64(now, "us").astype(np.int64))
