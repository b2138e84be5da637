"""The one place recokit calls scikit-learn (a thin adapter: keyword arguments, version checked).

scikit-learn is used for text TF-IDF (ContentBased) and for clustering customers (Gaussian mixture,
k-means, Ward agglomerative, DBSCAN, silhouette; recokit.customers). Calling it through this module means an upgrade that
changes a signature fails here, in recokit's tests, not in a shop's code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from recokit._errors import ConfigError, DependencyError

__all__ = ["SKLEARN_VERSION", "Predict", "agglomerative_labels", "dbscan_labels", "gaussian_mixture", "kmeans_labels", "silhouette", "tfidf_matrix"]

#: A fitted model's labelling of rows (int64 labels).
Predict = Callable[[np.ndarray], np.ndarray]


def _version() -> tuple[int, int]:
    import sklearn

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    if not (1, 3) <= (major, minor) < (2, 0):
        raise DependencyError(f"recokit needs scikit-learn >=1.3,<2; found {sklearn.__version__}.", hint="pip install 'scikit-learn>=1.3,<2'.")
    return major, minor


SKLEARN_VERSION = _version()


def tfidf_matrix(texts: Sequence[str], *, min_df: int = 1, max_features: int | None = 5000) -> tuple[sp.csr_array, list[str]]:
    """TF-IDF rows (L2-normalised, float64 CSR) of ``texts`` and the vocabulary, in column order.

    An empty text gives an all-zero row. A corpus with no usable word gives a matrix with no columns.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [t if isinstance(t, str) else "" for t in texts]
    vec = TfidfVectorizer(
        lowercase=True,
        min_df=min_df,
        max_features=max_features,
        norm="l2",
        sublinear_tf=True,
        dtype=np.float64,
        token_pattern=r"(?u)\b[^\W\d_][\w-]+\b",
    )
    try:
        m = vec.fit_transform(texts)
    except ValueError as exc:  # "empty vocabulary"
        if "empty vocabulary" in str(exc):
            return sp.csr_array((len(texts), 0), dtype=np.float64), []
        raise ConfigError(f"TF-IDF of the text columns failed: {exc}") from exc
    return sp.csr_array(m, dtype=np.float64), [str(w) for w in vec.get_feature_names_out()]


def kmeans_labels(x: np.ndarray, k: int, *, seed: int, n_init: int = 4) -> np.ndarray:
    """K-means labels (int64) of the rows of ``x`` into ``k`` clusters (k-means++, seeded)."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=seed)
    return np.asarray(model.fit_predict(x), dtype=np.int64)


_CONTROLLER: Any = None


def _one_thread() -> Any:
    """A context limiting BLAS and OpenMP to one thread (the library scan done once per process).
    A mixture of a few components in a dozen dimensions is many small matrix products: threads
    only add overhead, and on a loaded machine they made a 0.1 s fit take 1-5 s (measured)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


def gaussian_mixture(x: np.ndarray, k: int, *, seed: int, n_init: int = 2, reg_covar: float = 1e-3) -> Predict:
    """A full-covariance Gaussian mixture of ``k`` components fitted on the rows of ``x`` (k-means
    initialisation, seeded; the best of ``n_init`` fits); returns its labelling of any rows.
    Fitted and applied with one thread (see ``_one_thread``)."""
    from sklearn.mixture import GaussianMixture

    with _one_thread():
        model = GaussianMixture(n_components=k, covariance_type="full", n_init=n_init, reg_covar=reg_covar, random_state=seed).fit(x)

    def predict(rows: np.ndarray) -> np.ndarray:
        with _one_thread():
            return np.asarray(model.predict(rows), dtype=np.int64)

    return predict


def agglomerative_labels(x: np.ndarray, k: int) -> np.ndarray:
    """Ward agglomerative labels (int64) of the rows of ``x`` into ``k`` clusters (deterministic)."""
    from sklearn.cluster import AgglomerativeClustering

    return np.asarray(AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x), dtype=np.int64)


def dbscan_labels(x: np.ndarray, *, eps: float | None, min_samples: int) -> tuple[np.ndarray, float]:
    """DBSCAN labels (int64, -1 = noise) and the ``eps`` used: by default the median distance
    of a row to its ``min_samples``-th nearest neighbour."""
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    if eps is None:
        distances, _ = NearestNeighbors(n_neighbors=min(min_samples, len(x))).fit(x).kneighbors(x)
        eps = float(np.median(distances[:, -1])) or 1e-9
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(x)
    return np.asarray(labels, dtype=np.int64), eps


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (euclidean) of a labelling with at least two clusters."""
    from sklearn.metrics import silhouette_score

    with _one_thread():
        return float(silhouette_score(x, labels, metric="euclidean"))
