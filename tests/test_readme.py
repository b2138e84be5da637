"""The README's Quick start and CI stay in step."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_quick_start_is_two_commands_demo_then_tests():
    cmds = quick_start_commands()
    assert len(cmds) == 2 and all("\n" not in c for c in cmds)
    assert cmds[0].endswith("recokit demo")
    assert "pytest" in cmds[1]


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert ci_lines == [quick_start_commands()[1]]


def test_in_your_code_example_runs_on_shop_files(tmp_path, monkeypatch):
    """The README's library example, run against the sports shop exported as the files it reads."""
    import contextlib
    import io
    import shutil

    from recokit.datasets import sports_shop_tables

    t = sports_shop_tables(1500, seed=0)
    t.interactions.rename({"timestamp": "ordered_at"}).write_csv(tmp_path / "orders.csv")
    t.catalog.write_csv(tmp_path / "catalog.csv")
    t.customers.write_csv(tmp_path / "customers.csv")
    shutil.copy(ROOT / "docs" / "examples" / "sports_shop_rules.toml", tmp_path / "rules.toml")
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## In your code.*?```python\n(.*?)```", text, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), namespace)  # the project's own README
    assert "bought with" in out.getvalue()
    assert namespace["table"].columns[:5] == ["customer_id", "rank", "item_id", "score", "reason"]
    newsletter = pl.read_csv(tmp_path / "newsletter.csv", schema=namespace["table"].schema)
    assert newsletter.equals(namespace["table"]) and newsletter.columns[-2:] == ["name", "price"]
