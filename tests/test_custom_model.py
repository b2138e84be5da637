"""The custom model of docs/testing.md passes recokit's conformance kit.

The model and its test class below are the doc's code, verbatim (checked by
``test_the_doc_shows_this_code``): the doc's example is proven to pass the kit.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recokit import Recommender, ScoreBlock
from recokit.params import Interval, param
from recokit.testing import RecommenderContract

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing.md"


class BoughtTogether(Recommender):
    """Scores an item by how often it was bought with the cart's or the customer's items."""

    min_count: int = param(default=1, check=Interval(int, low=1), doc="Fewest co-buyers that count.")

    def _fit(self, dataset):
        bought = sp.csr_array(dataset.user_items > 0, dtype=np.float64)
        co = (bought.T @ bought).toarray()
        np.fill_diagonal(co, 0.0)
        co[co < self.min_count] = 0.0
        self.co_ = co

    def _seeds(self, batch):
        """Rows x items: each request's cart plus, where visible, the customer's purchases."""
        seeds = batch.context.toarray() > 0
        known = np.flatnonzero(batch.known)
        seeds[known] |= self.dataset_.user_items[batch.customer_idx[known]].toarray() > 0
        return seeds

    def _score(self, batch):
        s = self._seeds(batch) @ self.co_
        return ScoreBlock.dense(np.where(s > 0, s, np.nan))

    def _explain(self, batch, rows, items, block):
        seeds = self._seeds(batch)
        best = np.argmax(np.where(seeds[rows], self.co_[:, items].T, -1.0), axis=1)
        return [f"bought together with {self.dataset_.item_ids.id(int(b))}" for b in best]


class TestBoughtTogether(RecommenderContract):
    learns_from = ("history", "context")  # it must find the planted groups both ways
    expected_hit_rate = 0.9               # measured: 1.0
    saves = False
    saves_why_not = "recokit.load reads only recokit's own model classes"

    def make_model(self):
        return BoughtTogether()


def test_the_doc_shows_this_code():
    text = DOC.read_text(encoding="utf-8")
    for obj in (BoughtTogether, TestBoughtTogether):
        assert inspect.getsource(obj) in text, f"docs/testing.md no longer shows {obj.__name__} as tested here"
