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


def _readme_pipeline(shop):
    """The README's home pipeline, as its "In your code" section builds it."""
    from recokit import Hybrid, ItemKNN, Popularity, Ruled, load_rules

    rules = load_rules(ROOT / "docs" / "examples" / "sports_shop_rules.toml", catalog=shop)
    return Ruled(Hybrid({"because": ItemKNN(), "trending": Popularity(half_life_days=30)}), rules, fallback=Popularity(half_life_days=30)).fit(shop)


def test_an_anonymous_visitor_on_a_bike_page_gets_what_goes_with_the_bike():
    """Issue 10: on the mountain bike's page the README pipeline shows a helmet, a pump and a lock
    (the shop's bike bundle), no energy gel or protein, every one because of the bike -- for an
    anonymous visitor and for a known customer without consent alike (their history is hidden,
    the page is not). 0.1.0 answered both with the fallback's best sellers: gels and protein."""
    import polars as pl

    from recokit import Query
    from recokit.datasets import sports_shop

    shop = sports_shop(1500, seed=0)
    home = _readme_pipeline(shop)
    cat = shop.catalog
    category = dict(zip(cat["item_id"].to_list(), cat["category"].to_list(), strict=True))
    buyers = shop.interactions.group_by("item_id").agg(pl.col("customer_idx").n_unique().alias("n"))
    bikes = cat.filter(pl.col("name").str.starts_with("Mountain bike")).join(buyers, on="item_id").sort(["n", "item_id"], descending=[True, False])
    bike, name = bikes["item_id"][0], bikes["name"][0]  # the most-bought mountain bike
    assert category[bike] == "adult_bike"
    no_consent = shop.customers.filter(~pl.col("consent_personalization"))["customer_id"]
    who = next(c for c in no_consent.to_list() if shop.history(c).height >= 3)  # a customer with a history to hide

    anonymous = home.recommend(Query(items=[bike], k=10))
    shown = [category[r.item_id] for r in anonymous]
    assert {"helmet", "pump", "lock"} <= set(shown), shown
    assert not {"energy_gel", "protein"} & set(shown), shown
    assert all(r.reason.startswith(f"customers who bought {name} also bought this") for r in anonymous), [r.reason for r in anonymous]
    known = home.recommend(Query(customer_id=who, items=[bike], k=10))
    assert [(r.item_id, r.reason) for r in known] == [(r.item_id, r.reason) for r in anonymous]
