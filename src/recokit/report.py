"""One self-contained HTML page a shop's team can read: how the models compare on its own
history, what the rules do, who its customers are.

:func:`html_report` turns an evaluation table (:func:`recokit.evaluation.evaluate`) and, when
known, the rules' effect on the catalogue (:meth:`recokit.RuleSet.check`) and the customers'
segments (:func:`recokit.customers.rfm`) into one HTML document: every style inline, every figure
a PNG embedded as a ``data:`` URI, no script, no external URL -- it opens offline, in a mail,
from a shared drive. The figures need matplotlib (``pip install 'recokit[report]'``).

``recokit report --pipeline FILE --orders FILE ... --out report.html`` writes it for a shop's
pipeline file (docs/pipeline.md).

Examples
--------
>>> import polars as pl
>>> from recokit import Popularity
>>> from recokit.datasets import sports_shop
>>> from recokit.evaluation import evaluate, temporal_split
>>> split = temporal_split(sports_shop(600, seed=0))
>>> table = evaluate({"best sellers": Popularity()}, split, k=(5, 10), n_boot=20, progress=False)
>>> page = html_report(table, title="Sports shop")
>>> page.startswith("<!DOCTYPE html>") and "best sellers" in page and "http" not in page
True
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from recokit._errors import ConfigError
from recokit.adapters import plots

__all__ = ["check_figures", "html_report", "write_report"]

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.note { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; white-space: nowrap; } th { background: #f4f4f4; }
td.name, th.name { text-align: left; white-space: normal; }
.wide { overflow-x: auto; }
img { max-width: 100%; margin: 0.5em 0; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
"""

_ACCURACY = ("precision", "recall", "ndcg", "map", "hit_rate")


def check_figures() -> None:
    """Raise :class:`~recokit.DependencyError` (with the install command) when the figures
    cannot be drawn: matplotlib, the ``report`` extra, is missing."""
    plots.require()


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _esc(value)


def _table(frame: pl.DataFrame, names: Sequence[str] = ()) -> str:
    """An HTML table of a frame; the columns in ``names`` are left-aligned text."""
    head = "".join(f'<th class="{"name" if c in names else ""}">{_esc(c)}</th>' for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = "".join(f'<td class="{"name" if c in names else ""}">{_fmt(v)}</td>' for c, v in zip(frame.columns, row, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _comparison(table: pl.DataFrame) -> str:
    """model x k with each accuracy metric and its 95 % interval, then coverage, latency."""
    cols: dict[str, list[str]] = {"model": [], "k": []}
    for row in table.iter_rows(named=True):
        cols["model"].append(str(row["model"]))
        cols["k"].append(str(row["k"]))
        for m in _ACCURACY:
            lo, hi = row.get(f"{m}_lo"), row.get(f"{m}_hi")
            ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
            cols.setdefault(m, []).append(f"{row[m]:.3f}{ci}" if row.get(m) is not None else "–")
        for m in ("coverage", "rule_violations", "fit_seconds", "latency_p50_ms"):
            value = row.get(m)
            cols.setdefault(m, []).append("–" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value)))
    return _table(pl.DataFrame(cols), names=("model",))


def _by_k_figure(table: pl.DataFrame, metric: str) -> bytes:
    series: dict[str, plots.Series] = {}
    for (model,), part in table.sort("k").group_by("model", maintain_order=True):
        lo = part[f"{metric}_lo"].to_list() if part[f"{metric}_lo"].null_count() == 0 else None
        hi = part[f"{metric}_hi"].to_list() if part[f"{metric}_hi"].null_count() == 0 else None
        series[str(model)] = (part["k"].to_list(), part[metric].to_list(), lo, hi)
    return plots.line_chart(series, xlabel="k (list length)", ylabel=metric, title=f"{metric} against k (bands: 95 % intervals)")


def _latency_figure(table: pl.DataFrame, metric: str, k: int) -> bytes | None:
    at = table.filter(pl.col("k") == k).drop_nulls("latency_p50_ms")
    if at.height == 0:
        return None
    points = {str(r["model"]): (max(float(r["latency_p50_ms"]), 1e-3), float(r[metric])) for r in at.iter_rows(named=True)}
    return plots.scatter_chart(points, xlabel="p50 latency of one request (ms, log)", ylabel=f"{metric}@{k}", title="accuracy against latency", log_x=True)


def _bias(table: pl.DataFrame, k: int) -> str:
    wanted = [c for c in ("model", "coverage", "popularity", "novelty", "diversity") if c in table.columns]
    return _table(table.filter(pl.col("k") == k).select(wanted), names=("model",))


def html_report(
    table: pl.DataFrame,
    *,
    title: str = "recokit report",
    notes: Sequence[str] = (),
    rules: pl.DataFrame | None = None,
    segments: pl.DataFrame | None = None,
    metric: str = "ndcg",
) -> str:
    """The report as one HTML document (a str): see the module docs.

    Parameters
    ----------
    table : polars.DataFrame
        :func:`recokit.evaluation.evaluate`'s result (one row per model and k).
    title : str
    notes : list of str
        Lines shown under the title (what data, which split).
    rules : polars.DataFrame, optional
        :meth:`recokit.RuleSet.check`'s table: what each rule keeps or removes of the catalogue.
    segments : polars.DataFrame, optional
        ``segment, customers`` (and optionally ``description``): the customers by segment.
    metric : str
        The accuracy metric of the figures (default ``"ndcg"``).
    """
    if metric not in _ACCURACY or metric not in table.columns:
        raise ConfigError(f"html_report: metric must be one of {list(_ACCURACY)} present in the table. Got {metric!r}.")
    if table.height == 0:
        raise ConfigError("html_report: the evaluation table is empty: evaluate at least one model.")
    ks = sorted(set(table["k"].to_list()))
    k = 10 if 10 in ks else ks[-1]
    parts = [f"<h1>{_esc(title)}</h1>"] + [f'<p class="note">{_esc(n)}</p>' for n in notes]
    parts += ["<h2>Models compared</h2>", '<p class="note">Each accuracy figure with its 95 % bootstrap interval; two models whose intervals overlap are not told apart by this data.</p>', _comparison(table)]
    figures = [_img(_by_k_figure(table, metric), f"{metric} against k")]
    latency = _latency_figure(table, metric, k)
    if latency is not None:
        figures.append(_img(latency, "accuracy against latency"))
    parts += ['<div class="figures">', *figures, "</div>"]
    parts += [f"<h2>Coverage and popularity bias (k = {k})</h2>",
              '<p class="note">coverage: share of the catalogue shown to anyone; popularity: mean share of buyers of the items shown (higher = more best sellers); novelty: mean self-information of the items shown.</p>',
              _bias(table, k)]
    if rules is not None:
        parts += ["<h2>What each rule does</h2>", '<p class="note">On the catalogue: how many items each rule keeps or removes, or matches; every list above was checked against them (rule_violations).</p>',
                  _table(rules, names=tuple(c for c in ("rule", "type", "note") if c in rules.columns))]
    if segments is not None:
        parts += ["<h2>Customers by segment</h2>", _table(segments, names=tuple(c for c in ("segment", "description") if c in segments.columns))]
    body = "\n".join(parts)
    return f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n'


def write_report(path: str | Path, page: str) -> Path:
    """Write the page as UTF-8; returns the path."""
    p = Path(path)
    if p.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"write_report: {str(p)!r} is not an .html file.", hint="name the report report.html.")
    p.write_text(page, encoding="utf-8")
    return p
