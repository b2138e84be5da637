"""matplotlib, for the HTML report's figures: the only module that imports it.

matplotlib is the ``report`` extra (``pip install 'recokit[report]'``), not a dependency of the
library: without it, :func:`require` raises :class:`~recokit.DependencyError` saying how to
install it. Figures are drawn with the non-interactive Agg backend into PNG bytes (no window, no
file, no font or style fetched from anywhere).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from recokit._errors import DependencyError

__all__ = ["Series", "line_chart", "require", "scatter_chart"]

#: One line of :func:`line_chart`: x values, y values, and the lower / upper bounds of a band
#: (or None).
Series = tuple[Sequence[float], Sequence[float], Sequence[float] | None, Sequence[float] | None]


def require() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or a DependencyError with the install command."""
    try:
        import matplotlib
    except ImportError:
        raise DependencyError(
            "the report's figures need matplotlib, which is not installed.", hint="pip install 'recokit[report]'."
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any, plt: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def line_chart(series: Mapping[str, Series], *, xlabel: str, ylabel: str, title: str) -> bytes:
    """One line per name, with a shaded band where bounds are given; PNG bytes."""
    plt = require()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, (xs, ys, lo, hi) in series.items():
        (line,) = ax.plot(list(xs), list(ys), marker="o", label=name)
        if lo is not None and hi is not None:
            ax.fill_between(list(xs), list(lo), list(hi), color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(fig, plt)


def scatter_chart(points: Mapping[str, tuple[float, float]], *, xlabel: str, ylabel: str, title: str, log_x: bool = False) -> bytes:
    """One labelled point per name; PNG bytes."""
    plt = require()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, (x, y) in points.items():
        ax.scatter([x], [y], s=40)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _png(fig, plt)
