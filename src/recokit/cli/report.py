"""``recokit report``: the evaluation of ``recokit evaluate`` (the pipeline file's ruled hybrid next
to each of its models alone, or recokit's models), what each rule does, and the customers'
segments, as one self-contained HTML page (:mod:`recokit.report`)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from recokit._errors import ConfigError, RecokitError, RecokitWarning


def add_parser(sub: Any) -> None:
    from recokit.cli.evaluate import add_evaluation_arguments

    p = sub.add_parser(
        "report",
        help="evaluate your pipeline (or the models) on your exports and write one self-contained HTML report",
        description="The model comparison with 95%% intervals, metric-against-k and accuracy-against-latency figures, coverage and "
        "popularity bias, what each rule does and the customers' segments, in one HTML file with nothing fetched from outside.",
    )
    add_evaluation_arguments(p, out_help="the HTML file to write (report.html)", out_required=True)
    p.add_argument("--title", default=None, help="the report's title (default: the pipeline file's name)")


def _segments(ds: Any, out: TextIO) -> pl.DataFrame | None:
    """Customers by RFM segment with each segment's description (None, said, when RFM cannot run)."""
    from recokit.customers import rfm, segment_descriptions

    if not ds.has_time:
        print("note: no customer segments in the report: RFM needs order times (a time column).", file=out)
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecokitWarning)
        try:
            table = rfm(ds)
        except RecokitError as exc:  # e.g. no prices anywhere: the report goes on without segments
            print(f"note: no customer segments in the report: {exc}", file=out)
            return None
    for w in caught:
        print(f"note: {w.message}", file=out)
    described = segment_descriptions()
    counts = table["segment"].value_counts().sort(["count", "segment"], descending=[True, False])
    return counts.rename({"count": "customers"}).with_columns(pl.col("segment").replace_strict(described, default="").alias("description"))


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from recokit.cli.evaluate import run_evaluation
    from recokit.report import html_report, write_report

    out = out or sys.stdout
    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {args.out!r}: the report is an .html file.", hint="e.g. --out report.html.")
    from recokit.report import check_figures

    check_figures()  # no matplotlib: say so before the evaluation runs
    result = run_evaluation(args, out)
    rules = result.rules.check(result.dataset) if result.rules is not None else None
    segments = _segments(result.dataset, out)
    title = args.title or (f"recokit report: {Path(args.pipeline).name}" if args.pipeline else "recokit report")
    notes = [f"data: {result.dataset}", f"split: {result.split.report}"]
    page = html_report(result.table, title=title, notes=notes, rules=rules, segments=segments)
    write_report(args.out, page)
    print(f"wrote the report to {args.out} ({len(page.encode('utf-8')) // 1024} KB, {result.table['model'].n_unique()} models)", file=out)
    return 0
