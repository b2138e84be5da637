"""The ``recokit`` command line: ``recokit demo`` (and more subcommands as models arrive)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from recokit._errors import ConfigError, RecokitError

__all__ = ["main"]


def _version() -> str:
    import recokit  # the package imports the CLI lazily: read its version when asked

    return recokit.__version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recokit", description="Product recommendations for small and medium shops.")
    parser.add_argument("--version", action="version", version=f"recokit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit the models on the built-in synthetic sports shop and show recommendations")
    demo.add_argument("--customers", type=int, default=5000, help="number of synthetic customers (default 5000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the synthetic shop (default 0)")
    demo.add_argument("--show", type=int, default=3, help="how many customers to show (default 3)")
    rules = sub.add_parser("rules", help="business rules files")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate a TOML rules file and show what each rule keeps/removes on a catalogue")
    check.add_argument("file", nargs="?", default=None, help="the TOML rules file (or --pipeline: its [rules] file)")
    check.add_argument("--pipeline", metavar="FILE", default=None, help="check the rules file of this pipeline TOML file")
    check.add_argument("--catalog", required=True, help="the product catalogue (CSV or Parquet, with an item_id column)")
    from recokit.cli.customers import add_parser as add_customers
    from recokit.cli.evaluate import add_parser as add_evaluate
    from recokit.cli.recommend import add_parser as add_recommend
    from recokit.cli.report import add_parser as add_report

    add_evaluate(sub)
    add_customers(sub)
    add_recommend(sub)
    add_report(sub)
    return parser


def _rules_file(args: argparse.Namespace) -> str:
    """``rules check``'s file: given, or the pipeline file's [rules] file (one of the two)."""
    if args.pipeline is None:
        if args.file is None:
            raise ConfigError("recokit rules check needs a rules file, or --pipeline FILE whose [rules] names one.")
        return str(args.file)
    if args.file is not None:
        raise ConfigError("a rules file and --pipeline: give one of them (the pipeline names its own rules file).")
    from recokit.pipeline import load_pipeline

    pipeline = load_pipeline(args.pipeline)
    if pipeline.rules_file is None:
        raise ConfigError(f"{args.pipeline} has no [rules] file to check.")
    return str(pipeline.rules_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recokit`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from recokit.cli.demo import run_demo

            run_demo(n_customers=args.customers, seed=args.seed, show=args.show, out=sys.stdout)
            return 0
        if args.command == "rules" and args.rules_command == "check":
            from recokit.rules import check_file

            check_file(_rules_file(args), args.catalog, out=sys.stdout)
            return 0
        if args.command == "evaluate":
            from recokit.cli.evaluate import run as run_evaluate

            return run_evaluate(args, out=sys.stdout)
        if args.command == "recommend":
            from recokit.cli.recommend import run as run_recommend

            return run_recommend(args, out=sys.stdout)
        if args.command == "report":
            from recokit.cli.report import run as run_report

            return run_report(args, out=sys.stdout)
        if args.command == "customers":
            from recokit.cli.customers import run as run_customers

            return run_customers(args, out=sys.stdout)
    except RecokitError as exc:
        print(f"recokit: error: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects unknown commands first
