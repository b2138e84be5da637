"""recokit.load_pipeline: the shipped pipeline file builds the README pipeline, and every bad file
is a recokit error naming the file, the section and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from recokit import (
    ALS,
    AssociationRules,
    ConfigError,
    Hybrid,
    ItemKNN,
    Popularity,
    RecokitError,
    Ruled,
    load_pipeline,
    load_rules,
)
from recokit.datasets import sports_shop, sports_shop_tables
from recokit.pipeline import parse_pipeline

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


@pytest.fixture(scope="module")
def shop():
    return sports_shop(1200, seed=3)


def test_the_shipped_file_builds_the_readme_pipeline_and_recommends_the_same(shop):
    """Differential: the file's pipeline against the same pipeline written out in Python."""
    from_file = load_pipeline(EXAMPLES / "sports_shop_pipeline.toml").build().fit(shop)
    by_hand = Ruled(
        Hybrid({"because": ItemKNN(), "together": AssociationRules(), "tastes": ALS(random_state=0), "trending": Popularity(half_life_days=30)}),
        load_rules(EXAMPLES / "sports_shop_rules.toml"),
        fallback=Popularity(half_life_days=30),
    ).fit(shop)
    customers = [shop.customer_ids.id(i) for i in range(0, shop.n_customers, 97)] + [None]
    for c in customers:
        a = from_file.recommend(customer_id=c, k=8)
        b = by_hand.recommend(customer_id=c, k=8)
        assert [(r.item_id, r.reason) for r in a] == [(r.item_id, r.reason) for r in b]


def test_the_shipped_file_names_the_shops_columns_and_its_consent_column():
    p = load_pipeline(EXAMPLES / "sports_shop_pipeline.toml")
    tables = sports_shop_tables(200, seed=0)
    assert set(p.data.values()) <= set(tables.interactions.columns)
    assert p.consent_col in tables.customers.columns
    ds = p.dataset(tables.interactions, tables.catalog, tables.customers)
    assert ds.has_time and ds.columns["basket_col"] == "order_id"


def test_one_model_without_hybrid_or_rules_is_that_model():
    p = parse_pipeline('[models.best]\ntype = "Popularity"\nhalf_life_days = 14\n')
    model = p.build()
    assert type(model) is Popularity and model.half_life_days == 14


def test_rules_without_a_hybrid_wrap_the_single_model(tmp_path):
    (tmp_path / "r.toml").write_text('[[rule]]\nname = "in stock"\ntype = "filter"\nkeep = "stock > 0"\n')
    model = parse_pipeline('[models.m]\ntype = "ItemKNN"\n[rules]\nfile = "r.toml"\n', base=tmp_path).build()
    assert isinstance(model, Ruled) and type(model.model) is ItemKNN and model.fallback is None


def test_every_build_is_a_new_unfitted_model(shop):
    p = load_pipeline(EXAMPLES / "sports_shop_pipeline.toml")
    first, second = p.build(), p.build()
    first.fit(shop)
    assert first.is_fitted and not second.is_fitted
    assert not p.models["because"].is_fitted


def test_weights_given_for_some_models_default_the_others_to_one():
    p = parse_pipeline('[models.a]\ntype = "Popularity"\n[models.b]\ntype = "ItemKNN"\n[hybrid]\nweights = { b = 3.0 }\n')
    assert p.build().weights == {"a": 1.0, "b": 3.0}


BAD = [
    ("[models.a\ntype = 1", "not valid TOML"),
    ('[model.a]\ntype = "Popularity"\n', "unknown key 'model'"),
    ('[data]\ncustomer_column = "c"\n[models.a]\ntype = "Popularity"\n', "did you mean 'customer_col'"),
    ('[data]\nitem_col = 3\n[models.a]\ntype = "Popularity"\n', "[data] item_col must be text"),
    ('[data]\nevent_weights = { view = "a lot" }\n[models.a]\ntype = "Popularity"\n', "event_weights"),
    ("[data]\n", "no model"),
    ("[models.a]\nk = 3\n", "[models.a] has no type"),
    ('[models.a]\ntype = "ItemKnn"\n', "did you mean 'ItemKNN'"),
    ('[models.a]\ntype = "Wizard"\n', "unknown model type 'Wizard'"),
    ('[models.a]\ntype = "Hybrid"\n', "unknown model type 'Hybrid'"),
    ('[models.a]\ntype = "ItemKNN"\nk_neighbors = 5\n', "did you mean 'k_neighbours'"),
    ('[models.a]\ntype = "ItemKNN"\nk_neighbours = -5\n', "[models.a]: The 'k_neighbours' parameter"),
    ('[models.a]\ntype = "ItemKNN"\nk_neighbours = "many"\n', "k_neighbours"),
    ('models = 3\n', "[models] must be a table"),
    ('[models.a]\ntype = "Popularity"\n[models.b]\ntype = "ItemKNN"\n', "no [hybrid] table"),
    ('[models.a]\ntype = "Popularity"\n[models.b]\ntype = "ItemKNN"\n[hybrid]\nweights = { c = 1.0 }\n', "the model 'c'"),
    ('[models.a]\ntype = "Popularity"\n[hybrid]\nmethod = "vote"\n', "[hybrid]: The 'method' parameter"),
    ('[models.a]\ntype = "Popularity"\n[hybrid]\nweigths = { a = 1.0 }\n', "did you mean 'weights'"),
    ('[models.a]\ntype = "Popularity"\n[hybrid]\nweights = [1.0]\n', "weights must be a table"),
    ('[models.a]\ntype = "Popularity"\n[rules]\npath = "r.toml"\n', "unknown key 'path'"),
    ('[models.a]\ntype = "Popularity"\n[rules]\nfile = 3\n', "[rules] needs file"),
    ('[models.a]\ntype = "Popularity"\n[fallback]\ntype = "Populartiy"\n', "did you mean 'Popularity'"),
    ('[models.a]\ntype = "Popularity"\n[fallback]\ntype = "Popularity"\nhalf_life_days = 0\n', "[fallback]"),
    ('[models.a]\ntype = "Popularity"\n[newsletter]\nconsent_col = 1\n', "consent_col must be a column name"),
    ('[models.a]\ntype = "Popularity"\n[newsletter]\nconsent = "c"\n', "did you mean 'consent_col'"),
]


@pytest.mark.parametrize(("text", "says"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_pipeline_file_is_a_config_error_naming_the_problem(text, says):
    with pytest.raises(ConfigError) as info:
        parse_pipeline(text, source="shop.toml")
    message = str(info.value)
    assert message.startswith("shop.toml: ")
    assert says in message


def test_a_missing_rules_file_is_a_recokit_error_naming_it(tmp_path):
    with pytest.raises(RecokitError, match="nowhere.toml"):
        parse_pipeline('[models.a]\ntype = "Popularity"\n[rules]\nfile = "nowhere.toml"\n', base=tmp_path)


def test_an_unreadable_pipeline_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the pipeline file"):
        load_pipeline(tmp_path / "absent.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[models.a]\ntype = "Popularit\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_pipeline(bad)


def test_rules_check_and_customers_read_the_pipeline_file(tmp_path, capsys):
    """Every CLI command takes the pipeline file: `rules check` checks its rules file, `customers`
    reads its columns (the same table as with the column flags)."""
    import polars as pl

    from recokit.cli import main

    tables = sports_shop_tables(300, seed=1)
    orders, catalog = tmp_path / "orders.csv", tmp_path / "catalog.csv"
    tables.interactions.write_csv(orders)
    tables.catalog.write_csv(catalog)
    pipeline = str(EXAMPLES / "sports_shop_pipeline.toml")
    assert main(["rules", "check", "--pipeline", pipeline, "--catalog", str(catalog)]) == 0
    assert "sports_shop_rules.toml: 7 rule(s), all valid" in capsys.readouterr().out
    by_file, by_flags = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["customers", "--pipeline", pipeline, "--interactions", str(orders), "--catalog", str(catalog), "--out", str(by_file)]) == 0
    assert main(["customers", "--interactions", str(orders), "--catalog", str(catalog), "--out", str(by_flags), "--time-col", "timestamp",
                 "--basket-col", "order_id", "--quantity-col", "quantity"]) == 0
    assert pl.read_csv(by_file).equals(pl.read_csv(by_flags))
    assert main(["customers", "--pipeline", pipeline, "--interactions", str(orders), "--out", str(by_file), "--time-col", "t"]) == 2
    assert "the pipeline file's [data] names the columns" in capsys.readouterr().err
