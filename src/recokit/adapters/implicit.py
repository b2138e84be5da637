"""The one place recokit calls implicit (item-item neighbours, ALS, BPR).

Everything goes through here, by keyword, so that an implicit release that changes its API fails
loudly in recokit's tests with a recokit error, not deep inside a user's request. implicit 0.7.x
takes the customers x items matrix (``user_items``) in ``fit``; its item-item models need float64
CSR; its ALS/BPR fits are wrapped in ``threadpool_limits(1, "blas")`` (implicit warns and slows down
when BLAS runs its own threads inside implicit's threads).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DependencyError
from recokit.data import csr_rows, entry_rows

__all__ = ["SUPPORTED", "check_version", "fit_item_item", "fit_factorization", "rebuild_factorization", "fold_in", "recalculate_user", "recalculate_users"]

#: implicit versions this adapter was written and tested against (major, minor).
SUPPORTED = ((0, 7),)


#: The largest float32: implicit fits in float32, so a larger weight becomes inf (and NaN factors).
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _import():
    try:
        import implicit
        import implicit.cpu.als
        import implicit.cpu.bpr
        import implicit.nearest_neighbours
        import implicit.recommender_base
    except ImportError as exc:  # pragma: no cover - implicit is a hard dependency
        raise DependencyError(f"recokit needs the 'implicit' package: {exc}.", hint="pip install 'implicit>=0.7,<0.8'") from exc
    return implicit


def check_version() -> str:
    """implicit's version, or a recokit error when it is not a supported one."""
    implicit = _import()
    version = getattr(implicit, "__version__", "0")
    try:
        major_minor = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        major_minor = (-1, -1)
    if major_minor not in SUPPORTED:
        raise DependencyError(
            f"recokit's item-item, ALS and BPR models were written for implicit 0.7.x; found implicit {version}.", hint="install a supported version: pip install 'implicit>=0.7,<0.8'."
        )
    return version


def _csr64(matrix: Any) -> sp.csr_matrix:
    """float64 CSR (implicit's nearest-neighbour kernels need exactly that); no copy when it already is."""
    if isinstance(matrix, sp.csr_matrix) and matrix.dtype == np.float64:
        return matrix
    m = sp.csr_matrix(matrix, dtype=np.float64)
    if not m.has_sorted_indices:
        m.sort_indices()
    return m


def _api_error(what: str, exc: Exception) -> DependencyError:
    return DependencyError(
        f"implicit's {what} did not accept recokit's call ({type(exc).__name__}: {exc}); its API may have changed.", hint="install a supported version: pip install 'implicit>=0.7,<0.8', or report this to recokit."
    )


_ITEM_ITEM = {"cosine": "CosineRecommender", "bm25": "BM25Recommender", "tfidf": "TFIDFRecommender"}


def fit_item_item(kind: str, user_items: Any, *, K: int, num_threads: int = 0, K1: float = 1.2, B: float = 0.75) -> sp.csr_matrix:
    """The items x items similarity of implicit's ``kind`` model (self included), float64 CSR.

    ``user_items`` is customers x items. ``K`` neighbours per item, the item itself counted.
    """
    check_version()
    import implicit.nearest_neighbours as nn

    try:
        cls = getattr(nn, _ITEM_ITEM[kind])
        model = cls(K=K, K1=K1, B=B, num_threads=num_threads) if kind == "bm25" else cls(K=K, num_threads=num_threads)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            # implicit converts its own internal COO to CSR and warns about it: nothing the caller can fix;
            # its TF-IDF divides 0/0 for items whose weights cancel (recokit drops those NaN entries)
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(_canonical_rows(_csr64(user_items)), show_progress=False)
        sim = model.similarity
    except (TypeError, AttributeError) as exc:
        raise _api_error(f"{_ITEM_ITEM[kind]}", exc) from exc
    n_items = user_items.shape[1]
    out = _csr64_or_none(sim)
    if out is None or out.shape != (n_items, n_items):
        raise DependencyError(
            f"implicit's {_ITEM_ITEM[kind]}.similarity is not an items x items sparse matrix.", hint="install implicit 0.7.x."
        )
    return out


def _canonical_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """The customers' rows in an order set by their content, not by their ids: implicit sums
    each item pair's products in row order, so renaming customers (pseudonyms) moved the sums by
    ~1e-16 and flipped exact ties at the neighbour cut. Rows are sorted by their length and two
    content sums; rows that still tie are equal in practice, and equal rows commute exactly."""
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    rows = entry_rows(m.indptr)
    cols = m.indices.astype(np.float64) + 1.0
    h1 = np.bincount(rows, weights=cols * 0.6180339887498949 + m.data, minlength=m.shape[0])
    h2 = np.bincount(rows, weights=cols * cols + m.data * cols, minlength=m.shape[0])
    return sp.csr_matrix(csr_rows(sp.csr_array(m), np.lexsort((h2, h1, np.diff(m.indptr)))))


def _csr64_or_none(sim: Any) -> sp.csr_matrix | None:
    """``sim`` (from untyped implicit) as a float64 CSR matrix, or None when it is not sparse."""
    if not sp.issparse(sim):
        return None
    # sp.issparse narrows to scipy's SparseABC, to which scipy-stubs give no interface at all
    return sp.csr_matrix(sim, dtype=np.float64)  # type: ignore[call-overload]


_CONTROLLER: Any = None


def _one_blas_thread():
    """``threadpool_limits(1, "blas")`` with the library scan done once per process, not per
    request (a fresh scan reads /proc and costs about 0.5 ms)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _new_model(
    kind: str, factors: int, regularization: float, iterations: int, random_state: int | None, num_threads: int, alpha: float, learning_rate: float
) -> Any:
    """An unfitted implicit CPU ``als`` / ``bpr`` model (call it with BLAS limited: implicit
    checks the thread count when the model is built)."""
    import implicit.cpu.als
    import implicit.cpu.bpr

    if kind == "als":
        return implicit.cpu.als.AlternatingLeastSquares(
            factors=factors, regularization=regularization, alpha=alpha, iterations=iterations, random_state=random_state, num_threads=num_threads
        )
    if kind == "bpr":
        return implicit.cpu.bpr.BayesianPersonalizedRanking(
            factors=factors, learning_rate=learning_rate, regularization=regularization, iterations=iterations, random_state=random_state, num_threads=num_threads
        )
    raise ConfigError(f"unknown factorization {kind!r}")  # pragma: no cover - internal


def fit_factorization(
    kind: str,
    user_items: Any,
    *,
    factors: int,
    regularization: float,
    iterations: int,
    random_state: int | None,
    num_threads: int,
    alpha: float = 1.0,
    learning_rate: float = 0.01,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Fit implicit's CPU ``als`` or ``bpr`` on customers x items; returns (user_factors, item_factors, model).

    BLAS is limited to one thread during the fit (implicit parallelises itself).
    """
    check_version()
    largest = float(np.max(user_items.data, initial=0.0)) * max(alpha, 1.0)
    if largest > _FLOAT32_MAX:
        raise DataError(
            f"{kind.upper()}: interaction weights up to {largest:.3g} (times alpha) do not fit the float32 numbers implicit computes with (at most {_FLOAT32_MAX:.3g}).",
            hint="scale the quantities down (a weight is quantity x event weight), or build the Dataset without quantity_col.",
        )
    ui = sp.csr_matrix(user_items, dtype=np.float32)
    try:
        # implicit checks the BLAS thread count when the model is built: limit it before that
        with _one_blas_thread():
            model = _new_model(kind, factors, regularization, iterations, random_state, num_threads, alpha, learning_rate)
            model.fit(ui, show_progress=False)
        user_f, item_f = np.asarray(model.user_factors), np.asarray(model.item_factors)
    except (TypeError, AttributeError) as exc:
        raise _api_error(f"{kind.upper()} model", exc) from exc
    except _import().recommender_base.ModelFitError as exc:  # NaN factors: the weights, not the code
        raise DataError(
            f"{kind.upper()}: implicit's fit diverged ({exc}); the largest interaction weight is {largest:.3g}.",
            hint="scale large quantities down, lower alpha, or raise regularization.",
        ) from None
    if user_f.shape[0] != ui.shape[0] or item_f.shape[0] != ui.shape[1]:
        raise DependencyError(
            "implicit's factors do not have one row per customer / item; its fit orientation may have changed.", hint="install implicit 0.7.x."
        )
    return user_f, item_f, model


def rebuild_factorization(
    kind: str,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    *,
    factors: int,
    regularization: float,
    iterations: int,
    random_state: int | None,
    num_threads: int,
    alpha: float = 1.0,
    learning_rate: float = 0.01,
) -> Any:
    """implicit's CPU ``als`` / ``bpr`` model with given factors, as ``fit_factorization`` left it
    (used by :func:`recokit.load`: implicit's model object is never pickled, only its factors).

    implicit computes in float32: the float64 copies recokit keeps convert back exactly.
    """
    check_version()
    try:
        with _one_blas_thread():
            model = _new_model(kind, factors, regularization, iterations, random_state, num_threads, alpha, learning_rate)
        model.user_factors = np.ascontiguousarray(user_factors, dtype=np.float32)
        model.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
    except (TypeError, AttributeError) as exc:
        raise _api_error(f"{kind.upper()} model", exc) from exc
    return model


def recalculate_user(model: Any, row: sp.csr_array | sp.csr_matrix) -> np.ndarray:
    """ALS user factors for an ad-hoc history row (1 x items), computed by implicit."""
    try:
        with _one_blas_thread():
            return np.asarray(model.recalculate_user(0, sp.csr_matrix(row, dtype=np.float32))).reshape(-1)
    except (TypeError, AttributeError) as exc:
        raise _api_error("AlternatingLeastSquares.recalculate_user", exc) from exc


def recalculate_users(model: Any, rows: sp.csr_array | sp.csr_matrix) -> np.ndarray:
    """ALS user factors for ad-hoc history rows (rows x items), one row of factors each, computed
    by implicit (each row on its own: the same numbers as one row at a time)."""
    try:
        # one thread for the solves of a request's few rows: implicit's OpenMP threads spin on
        # after the solve and slow the next BLAS product (~9x for one product-page request on 2
        # cores). Setting it is idempotent (every caller writes 1) and changes no number.
        model.num_threads = 1
        with _one_blas_thread():
            m = sp.csr_matrix(rows, dtype=np.float32)
            return np.asarray(model.recalculate_user(np.arange(m.shape[0]), m)).reshape(m.shape[0], -1)
    except (TypeError, AttributeError) as exc:
        raise _api_error("AlternatingLeastSquares.recalculate_user", exc) from exc


def fold_in(model: Any, user_items: sp.csr_array | sp.csr_matrix, *, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """implicit's ALS ``partial_fit_users`` for ``users`` (their rows of ``user_items``, given the
    item factors), then ``partial_fit_items`` for ``items`` (given the updated customer factors):
    one least-squares half-step each, the other factors unchanged. Updates ``model`` in place and
    returns its (user, item) factors."""
    try:
        with _one_blas_thread():
            ui = sp.csr_matrix(user_items, dtype=np.float32)
            if len(users):
                model.partial_fit_users(np.asarray(users, dtype=np.int64), ui[np.asarray(users, dtype=np.int64)])
            if len(items):
                iu = sp.csr_matrix(ui.T.tocsr())
                model.partial_fit_items(np.asarray(items, dtype=np.int64), iu[np.asarray(items, dtype=np.int64)])
        return np.asarray(model.user_factors), np.asarray(model.item_factors)
    except (TypeError, AttributeError, ValueError) as exc:
        raise _api_error("AlternatingLeastSquares.partial_fit_users / partial_fit_items", exc) from exc
