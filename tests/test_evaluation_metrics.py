"""Metrics @k: a differential test against ranx (an independent implementation) and properties."""

from __future__ import annotations

import numpy as np
import pytest
import ranx  # a dev dependency: the oracle must fail loudly, never skip
from hypothesis import given, settings
from hypothesis import strategies as st

from recokit.evaluation import metrics as M

N_ITEMS = 12
KS = (1, 3, 5, 10)


@st.composite
def runs_and_qrels(draw):
    """Cases: a ranked list (distinct items, length 1..10) and a non-empty relevant set."""
    n_cases = draw(st.integers(1, 6))
    cases = []
    for _ in range(n_cases):
        ranked = draw(st.lists(st.integers(0, N_ITEMS - 1), min_size=1, max_size=10, unique=True))
        relevant = draw(st.lists(st.integers(0, N_ITEMS - 1), min_size=1, max_size=8, unique=True))
        cases.append((ranked, relevant))
    return cases


def _as_matrix(cases, width=10):
    recs = np.full((len(cases), width), -1, dtype=np.int64)
    for c, (ranked, _) in enumerate(cases):
        recs[c, : len(ranked)] = ranked
    return recs


@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaTypeSafetyWarning")
@settings(max_examples=40)
@given(runs_and_qrels())
def test_accuracy_agrees_with_ranx(cases):
    # ranx sorts a run by score; its order among tied scores is its own. recokit scores a ranked
    # list as given, so the run gets strictly decreasing scores: both see the same order.
    qrels = ranx.Qrels({f"q{c}": {f"d{i}": 1 for i in rel} for c, (_, rel) in enumerate(cases)})
    run = ranx.Run({f"q{c}": {f"d{i}": float(len(ranked) - r) for r, i in enumerate(ranked)} for c, (ranked, _) in enumerate(cases)})
    names = {"precision": "precision", "recall": "recall", "hit_rate": "hit_rate", "ndcg": "ndcg", "map": "map", "mrr": "mrr"}
    recs = _as_matrix(cases)
    hits = M.hit_matrix(recs, [np.array(rel) for _, rel in cases])
    n_rel = np.array([len(rel) for _, rel in cases])
    for k in KS:
        ours = M.accuracy(hits, n_rel, k)
        metrics = [f"{v}@{k}" for v in names.values()]
        theirs = ranx.evaluate(qrels, run, metrics, return_mean=False, make_comparable=True)
        for ours_name, ranx_name in names.items():
            expected = np.asarray(theirs[f"{ranx_name}@{k}"], dtype=np.float64)
            np.testing.assert_allclose(ours[ours_name], expected, rtol=0, atol=1e-9, err_msg=f"{ours_name}@{k}")


@given(runs_and_qrels(), st.sampled_from(KS))
def test_accuracy_metrics_are_in_unit_interval_and_ordered(cases, k):
    recs = _as_matrix(cases)
    hits = M.hit_matrix(recs, [np.array(rel) for _, rel in cases])
    n_rel = np.array([len(rel) for _, rel in cases])
    m = M.accuracy(hits, n_rel, k)
    for name, v in m.items():
        assert ((v >= 0) & (v <= 1 + 1e-12)).all(), name
    # a hit within k exists exactly when the reciprocal rank is positive
    assert np.array_equal(m["hit_rate"] > 0, m["mrr"] > 0)
    assert (m["map"] <= m["recall"] + 1e-12).all()  # each term of AP is <= 1 / |R|
    assert (m["mrr"] <= m["hit_rate"]).all()


def test_perfect_and_empty_lists():
    hits = M.hit_matrix(np.array([[4, 2, -1], [-1, -1, -1]]), [np.array([2, 4]), np.array([1])])
    m = M.accuracy(hits, np.array([2, 1]), k=3)
    # case 0 ranks both relevant items first: a perfect list, short of k, divided by k for precision
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["map"][0] == pytest.approx(1.0)
    assert m["precision"][0] == pytest.approx(2 / 3)
    assert all(m[x][1] == 0 for x in m)


def test_accuracy_rejects_a_case_without_relevant_items():
    with pytest.raises(ValueError, match="at least one relevant"):
        M.accuracy(np.zeros((1, 3), bool), np.array([0]), k=3)


def test_coverage_diversity_novelty_popularity_by_hand():
    recs = np.array([[0, 1, 2], [0, 3, -1]])
    assert M.catalog_coverage(recs, 8) == pytest.approx(4 / 8)
    cats = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    # list 0: pairs (0,1) same, (0,2) diff, (1,2) diff -> 2/3; list 1: (0,3) diff -> 1
    assert M.intra_list_diversity(recs, cats) == pytest.approx((2 / 3 + 1) / 2)
    vecs = np.eye(8)
    assert M.intra_list_diversity(recs, vecs) == pytest.approx(1.0)  # orthogonal vectors
    assert np.isnan(M.intra_list_diversity(np.array([[1, -1]]), cats))
    p = M.item_probability(np.array([3, 1, 0, 1, 0, 0, 0, 0]), n_customers=3)
    assert p[0] == pytest.approx(1.0)  # bought by everyone: no surprise
    expected = np.mean(-np.log2([1.0, 0.5, 0.25, 1.0, 0.5]))
    assert M.novelty(recs, p) == pytest.approx(expected)
    share = np.array([1.0, 0.2, 0.0, 0.4, 0, 0, 0, 0])
    assert M.average_popularity(recs, share) == pytest.approx((1 + 0.2 + 0 + 1 + 0.4) / 5)
