"""The clustering calls of recokit.adapters.sklearn: shapes, types, determinism, and the
silhouette against a plain numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

from recokit.adapters import sklearn as sk

X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])


@pytest.mark.parametrize("fit", [lambda: sk.kmeans_labels(X, 2, seed=0), lambda: sk.agglomerative_labels(X, 2), lambda: sk.dbscan_labels(X, eps=0.5, min_samples=2)[0]])
def test_labels_are_int64_one_per_row_and_find_the_two_groups(fit):
    labels = fit()
    assert labels.dtype == np.int64 and labels.shape == (6,)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]
    assert np.array_equal(labels, fit())


def test_dbscan_default_eps_is_the_median_distance_to_the_kth_neighbour():
    _, eps = sk.dbscan_labels(X, eps=None, min_samples=2)
    d = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    assert eps == pytest.approx(np.median(np.sort(d, axis=1)[:, 1]))  # the point itself is the first neighbour


def test_silhouette_equals_a_numpy_computation():
    labels = np.array([0, 0, 1, 1, 1, 0])
    d = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    s = []
    for i in range(len(X)):
        same = (labels == labels[i]) & (np.arange(len(X)) != i)
        a = d[i, same].mean()
        b = d[i, labels != labels[i]].mean()
        s.append((b - a) / max(a, b))
    assert sk.silhouette(X, labels) == pytest.approx(np.mean(s))
