"""The one place recokit calls mlxtend (frequent itemsets beyond pairs, reference rule metrics).

mlxtend changed ``association_rules``' signature in a minor release once (0.23.1 added the
``num_itemsets`` argument, without a default meaning "the real number"): every call here uses
keyword arguments only, the version is checked on import, and the columns mlxtend returns are
checked on every call, so an upgrade fails loudly in recokit's tests instead of silently
returning wrong metrics in a shop's backend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recokit._errors import DependencyError

__all__ = ["MLXTEND_RULE_COLUMNS", "association_rules", "check_version", "frequent_itemsets"]

#: The versions whose signatures and column names this adapter was written against.
SUPPORTED = ((0, 23, 1), (0, 26, 0))  # [min, max)

#: Columns recokit reads from mlxtend's ``association_rules`` output.
MLXTEND_RULE_COLUMNS = (
    "antecedents",
    "consequents",
    "antecedent support",
    "consequent support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def check_version() -> str:
    """Import mlxtend and check its version is in :data:`SUPPORTED`; return the version string."""
    try:
        import mlxtend
    except ImportError as exc:  # the itemsets extra: pairs, the default, need no mlxtend
        raise DependencyError(
            "AssociationRules(max_len > 2) needs mlxtend, which is not installed.", hint="pip install 'recokit[itemsets]'."
        ) from exc
    version = getattr(mlxtend, "__version__", "0")
    low, high = SUPPORTED
    if not (low <= _version_tuple(version) < high):
        raise DependencyError(
            f"recokit's mlxtend adapter supports mlxtend >= {'.'.join(map(str, low))}, < "
                f"{'.'.join(map(str, high))}; found {version}.", hint="install a supported mlxtend, or check recokit/adapters/mlxtend.py against the new release."
        )
    return version


def _check_columns(frame: pd.DataFrame, expected: tuple[str, ...], where: str) -> None:
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DependencyError(
            f"mlxtend's {where} no longer returns the column(s) {missing} (it returned {list(frame.columns)}).", hint="the mlxtend release changed its output: pin mlxtend to a supported version."
        )


def basket_frame(baskets: sp.csr_array | sp.csr_matrix) -> pd.DataFrame:
    """A baskets x items sparse boolean pandas DataFrame, columns ``0..n_items-1`` (mlxtend's input)."""
    matrix = sp.csr_matrix(baskets, dtype=bool)
    # pandas-stubs leave the DataFrame.sparse accessor untyped (`sparse = ...`)
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=list(range(matrix.shape[1])))  # type: ignore[attr-defined]


def frequent_itemsets(
    baskets: sp.csr_array | sp.csr_matrix, *, min_support: float, max_len: int | None
) -> pd.DataFrame:
    """mlxtend ``fpgrowth`` on a sparse basket matrix; columns ``support`` (float), ``itemsets``
    (frozensets of column indices).

    mlxtend densifies its input to count single items, so callers should pass only the columns
    (and rows) that can matter.
    """
    check_version()
    from mlxtend.frequent_patterns import fpgrowth

    frame = basket_frame(baskets)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        return pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": pd.Series(dtype=object)})
    out = fpgrowth(frame, min_support=float(min_support), use_colnames=False, max_len=max_len)
    _check_columns(out, ("support", "itemsets"), "fpgrowth")
    return out


def association_rules(itemsets: pd.DataFrame, *, num_itemsets: int, min_confidence: float) -> pd.DataFrame:
    """mlxtend ``association_rules`` (metric confidence), with the columns recokit relies on checked.

    Returns an empty frame with those columns when there is no frequent itemset (mlxtend raises).
    """
    check_version()
    from mlxtend.frequent_patterns import association_rules as _rules

    if itemsets.shape[0] == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c.endswith("s") and " " not in c else float) for c in MLXTEND_RULE_COLUMNS})
    with np.errstate(divide="ignore", invalid="ignore"):  # mlxtend's 'certainty' divides by 0 when sC = 1
        out = _rules(itemsets, num_itemsets=int(num_itemsets), metric="confidence", min_threshold=float(min_confidence))
    _check_columns(out, MLXTEND_RULE_COLUMNS, "association_rules")
    return out


def itemset_counts(itemsets: pd.DataFrame, n_rows: int) -> list[tuple[tuple[int, ...], int]]:
    """Turn mlxtend's float supports back into exact integer counts (``support * n_rows`` rounded)."""
    supports = itemsets["support"].to_numpy(dtype=np.float64)
    counts = np.rint(supports * n_rows).astype(np.int64)
    return [(tuple(sorted(int(i) for i in s)), int(c)) for s, c in zip(itemsets["itemsets"], counts, strict=True)]
