"""recokit.persist.registry: which classes a saved file may name.

Rule types come from recokit.rules.RULE_TYPES, read when saving and loading: a rule type
registered anywhere is saveable without touching recokit.persist, and one that is not
registered cannot be loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from recokit import ContentBased, PersistError, Popularity, Query, Ruled, load, save
from recokit.models.content import ColumnBlock
from recokit.persist import FORMAT_VERSION
from recokit.persist.registry import DATACLASSES, dataclass_name
from recokit.rules import RULE_TYPES, Filter, RuleSet, register


@pytest.fixture
def new_rule_type():
    """A rule type unknown to recokit.persist, registered for one test only."""

    @dataclass(frozen=True)
    class StockedOnlyForTest(Filter):
        kind: ClassVar[str] = "stocked_only_for_test"

    register(StockedOnlyForTest)
    yield StockedOnlyForTest
    del RULE_TYPES[StockedOnlyForTest.kind]


def test_every_registered_rule_type_may_be_named_by_its_class_name():
    assert {c.__name__ for c in RULE_TYPES.values()} <= set(DATACLASSES)
    assert all(DATACLASSES[c.__name__] is c and dataclass_name(c) == c.__name__ for c in RULE_TYPES.values())


def test_a_rule_type_registered_later_saves_and_loads(shop, tmp_path, new_rule_type):
    assert new_rule_type.__name__ in DATACLASSES
    model = Ruled(Popularity(), RuleSet([new_rule_type("stock > 0", name="stocked")])).fit(shop)
    path = save(model, tmp_path / "m")
    loaded = load(path)
    (rule,) = loaded.get_params()["rules"]
    assert type(rule) is new_rule_type and rule == model.get_params()["rules"][0]
    q = Query(k=10)
    assert loaded.recommend(q).item_ids == model.recommend(q).item_ids
    in_stock = set(shop.catalog.filter(shop.catalog["stock"] > 0)["item_id"].to_list())
    assert set(loaded.recommend(q).item_ids) <= in_stock


def test_a_rule_type_no_longer_registered_is_refused_on_load(shop, tmp_path, new_rule_type):
    model = Ruled(Popularity(), RuleSet([new_rule_type("stock > 0")])).fit(shop)
    path = save(model, tmp_path / "m")
    del RULE_TYPES[new_rule_type.kind]
    try:
        with pytest.raises(PersistError, match="unknown class 'StockedOnlyForTest'"):
            load(path)
    finally:
        RULE_TYPES[new_rule_type.kind] = new_rule_type  # for the fixture's clean-up


def test_two_rule_types_with_one_class_name_are_refused(shop, tmp_path):
    @dataclass(frozen=True)
    class Filter2(Filter):  # noqa: N801 - a second class that calls itself Filter
        kind: ClassVar[str] = "filter_twin_for_test"

    Filter2.__name__ = "Filter"
    register(Filter2)
    try:
        model = Ruled(Popularity(), RuleSet([Filter("stock > 0")])).fit(shop)
        with pytest.raises(PersistError, match="two classes would be saved under the name 'Filter'"):
            save(model, tmp_path / "m")
    finally:
        del RULE_TYPES[Filter2.kind]
    assert not (tmp_path / "m").exists()


def test_content_blocks_are_saved_under_their_class_name(shop, tmp_path):
    """Format version 1 called them "ContentBased._Block"; version 2 uses the class name, as for rules."""
    model = ContentBased().fit(shop)
    path = save(model, tmp_path / "m")
    text = (path / "model.json").read_text()
    assert '"class": "ColumnBlock"' in text
    assert "_Block" not in text
    blocks = load(path).blocks_
    assert blocks and all(type(b) is ColumnBlock for b in blocks)
    assert blocks == model.blocks_
    assert json.loads(text)["format_version"] == FORMAT_VERSION == 2
