"""ExcludeFor: a hard rule for the customers a customers-table condition selects ("no promotion to
champions"), checked against the selection computed here from the table."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recokit import Popularity, Query, Ruled, RuleError, load, load_rules, save
from recokit.datasets import sports_shop
from recokit.rules import ExcludeFor, RequireConsent

RULE = ExcludeFor("category = 'protein'", "level = 'beginner'", name="no protein for beginners")


@pytest.fixture(scope="module")
def shop():
    return sports_shop(1500, seed=2)


@pytest.fixture(scope="module")
def ruled(shop):
    return Ruled(Popularity(), [RULE]).fit(shop)


def _protein(shop) -> set:
    return set(shop.catalog.filter(category="protein")["item_id"].to_list())


def test_selected_customers_never_get_a_matching_item_and_the_others_may(shop, ruled):
    beginners = set(shop.customers.filter(pl.col("level") == "beginner")["customer_id"].to_list())
    customers = shop.customer_ids.to_list()[:300]
    table = ruled.recommend_many(customers, k=40)
    protein = _protein(shop)
    hit = table.filter(pl.col("item_id").is_in(list(protein)))
    assert hit.height > 0  # the others do get protein: the rule had something to remove
    assert not set(hit["customer_id"].to_list()) & beginners
    assert set(customers) & beginners  # and beginners were asked for


def test_why_not_and_violations_name_the_rule(shop, ruled):
    beginner = shop.customers.filter(pl.col("level") == "beginner")["customer_id"][0]
    expert = shop.customers.filter(pl.col("level") == "expert")["customer_id"][0]
    item = sorted(_protein(shop))[0]
    assert "not for customers where level = 'beginner'" in ruled.why_not(Query(customer_id=beginner), item)
    assert all(rule != "no protein for beginners" for _, rule in ruled.rules_.violations(Query(customer_id=expert), [item]))
    assert ("no protein for beginners" in {rule for _, rule in ruled.rules_.violations(Query(customer_id=beginner), [item])})


def test_anonymous_and_no_consent_customers_are_never_selected(shop):
    """Who someone is comes from the customers table only when their data may be read."""
    rules = [RequireConsent("consent_personalization", name="consent"), RULE]
    ruled = Ruled(Popularity(), rules).fit(shop)
    refused = shop.customers.filter(~pl.col("consent_personalization") & (pl.col("level") == "beginner"))["customer_id"][0]
    anonymous = ruled.recommend(Query(k=40))
    assert ruled.recommend(Query(customer_id=refused, k=40)).item_ids == anonymous.item_ids
    assert set(anonymous.item_ids) & _protein(shop)


def test_from_a_rules_file_checked_at_fit_and_saved_with_the_model(shop, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "no protein for beginners"\ntype = "exclude_for"\nmatch = "category = \'protein\'"\n'
                    'customers = "level = \'beginner\'"\n', encoding="utf-8")
    rules = load_rules(path, shop.catalog)  # a catalogue-only check passes: the customers come at fit
    model = Ruled(Popularity(), rules).fit(shop)
    again = load(save(model, tmp_path / "m"))
    customers = shop.customer_ids.to_list()[:50]
    assert again.recommend_many(customers, k=20).equals(model.recommend_many(customers, k=20))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\ntype = "exclude_for"\nmatch = "stock > 0"\ncustomers = "segment = \'vip\'"\n', encoding="utf-8")
    with pytest.raises(RuleError, match=r"unknown column\(s\) \['segment'\]"):
        Ruled(Popularity(), load_rules(bad, shop.catalog)).fit(shop)


def test_a_boost_for_some_customers_moves_their_lists_only(shop):
    """Boost(match, factor, customers=...): experts' scores of matching items x factor, everyone
    else's unchanged -- checked on the scores against the unboosted model."""
    from recokit.rules import Boost

    vip = Boost("category = 'protein'", 3.0, name="protein up for experts", customers="level = 'expert'")
    boosted = Ruled(Popularity(), [vip]).fit(shop)
    plain = Ruled(Popularity(), []).fit(shop)
    expert = shop.customers.filter(pl.col("level") == "expert")["customer_id"][0]
    other = shop.customers.filter(pl.col("level") == "beginner")["customer_id"][0]
    protein = shop.item_ids.index(sorted(_protein(shop)))
    a, b = boosted.score(customer_id=expert), plain.score(customer_id=expert)
    rest = ~np.isin(np.arange(len(a)), protein)
    np.testing.assert_array_equal(a[protein], 3.0 * b[protein])
    np.testing.assert_array_equal(a[rest], b[rest])
    np.testing.assert_array_equal(boosted.score(customer_id=other), plain.score(customer_id=other))
    np.testing.assert_array_equal(boosted.score(), plain.score())  # anonymous
    recs = boosted.recommend(customer_id=expert, k=10)
    assert any("boost:protein up for experts" in r.rules for r in recs)
    assert not any("boost:protein up for experts" in r.rules for r in boosted.recommend(customer_id=other, k=40))
    table = boosted.recommend_many([expert, other, None], k=10)
    for c in (expert, other):
        assert table.filter(pl.col("customer_id") == c)["item_id"].to_list() == boosted.recommend(customer_id=c, k=10).item_ids
