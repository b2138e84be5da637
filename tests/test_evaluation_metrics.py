"""Metrics @k: a differential test against ranx (an independent implementation) and properties."""

from __future__ import annotations

import contextlib
import sys

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recokit.evaluation import metrics as M

N_ITEMS = 12
KS = (1, 3, 5, 10)
NAMES = ("precision", "recall", "hit_rate", "ndcg", "map", "mrr")  # recokit's name = ranx's name

# ranx's metric kernels are numba functions: compiled, they cost 20-40 s of CPU (minutes on a busy
# machine) in every fresh environment -- CI builds a fresh venv each run, so no numba cache can
# help there. The oracle is ranx's formulas, not numba's compiler: with the JIT disabled the same
# source runs as plain Python and numpy (same float64 arithmetic) and costs milliseconds per
# example. Disabled only while ranx is imported and called, so no other test is affected; if
# another module imported ranx first (compiled), it is used as it is, only slower.
_RANX_INTERPRETED = "ranx" not in sys.modules


@contextlib.contextmanager
def _numba_interpreted():
    before = numba.config.DISABLE_JIT
    numba.config.DISABLE_JIT = before or _RANX_INTERPRETED
    try:
        yield
    finally:
        numba.config.DISABLE_JIT = before


with _numba_interpreted():
    import ranx  # a dev dependency: the oracle must fail loudly, never skip


@st.composite
def runs_and_qrels(draw, max_cases=6):
    """Cases: a ranked list (distinct items, length 1..10) and a non-empty relevant set."""
    n_cases = draw(st.integers(1, max_cases))
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


def _ranx_per_case(cases) -> dict[str, np.ndarray]:
    """ranx's per-case scores of every metric at every k, in one call over all the cases.

    Plain dicts (one query per case, in case order) rather than ranx.Qrels / ranx.Run: those build
    numba typed dicts and sort queries by name, and neither is part of the formulas under test.
    ranx sorts a run by score; its order among tied scores is its own. recokit scores a ranked
    list as given, so the run gets strictly decreasing scores: both see the same order.
    """
    qrels = {f"q{c}": {i: 1 for i in rel} for c, (_, rel) in enumerate(cases)}
    run = {f"q{c}": {i: float(len(ranked) - r) for r, i in enumerate(ranked)} for c, (ranked, _) in enumerate(cases)}
    metrics = [f"{name}@{k}" for k in KS for name in NAMES]
    with _numba_interpreted():
        theirs = ranx.evaluate(qrels, run, metrics, return_mean=False)
    return {m: np.asarray(theirs[m], dtype=np.float64) for m in metrics}


@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaTypeSafetyWarning")
@settings(max_examples=100)
@given(runs_and_qrels(max_cases=12))
@example([(list(range(10)), [9]), (list(range(10)), [11, 0]), ([3], [5])])  # the only hit last; a miss
@example([(list(range(10)), list(range(8))), ([1, 2], [2, 1, 4, 6, 7, 8, 9, 10])])  # |R| above and below k
def test_accuracy_agrees_with_ranx(cases):
    theirs = _ranx_per_case(cases)
    hits = M.hit_matrix(_as_matrix(cases), [np.array(rel) for _, rel in cases])
    n_rel = np.array([len(rel) for _, rel in cases])
    for k in KS:
        ours = M.accuracy(hits, n_rel, k)
        for name in NAMES:
            np.testing.assert_allclose(ours[name], theirs[f"{name}@{k}"], rtol=0, atol=1e-9, err_msg=f"{name}@{k}")


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
