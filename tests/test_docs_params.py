"""The parameter tables of docs/models/*.md are the ones generated from the declared spec.

Each table sits between ``<!-- params: ClassName -->`` and ``<!-- /params -->``; when a model's
parameters change, regenerate them with ``python -m recokit.params --write-docs``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import recokit
from recokit.params import Configurable, params_table

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "models").glob("*.md"))
OPEN = re.compile(r"<!-- params: (\w+) -->")


def blocks(text: str) -> list[tuple[str, str]]:
    """(class name, text between the markers) of every parameter block, in order."""
    out = []
    for m in OPEN.finditer(text):
        end = text.index("<!-- /params -->", m.end())
        out.append((m.group(1), text[m.end() : end]))
    return out


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_parameter_tables_equal_the_generated_ones(page):
    text = page.read_text(encoding="utf-8")
    assert text.count("<!-- params:") == text.count("<!-- /params -->")
    for name, body in blocks(text):
        cls = getattr(recokit, name)
        assert isinstance(cls, type) and issubclass(cls, Configurable)
        assert body == "\n" + params_table(cls) + "\n", (
            f"{page.name}: the {name} parameter table is out of date; run `python -m recokit.params --write-docs`."
        )


def test_every_documented_model_has_its_generated_table():
    documented = {name for page in PAGES for name, _ in blocks(page.read_text(encoding="utf-8"))}
    assert {"ALS", "AssociationRules", "BPR", "ContentBased", "ItemKNN", "Renewal"} <= documented
    for page in PAGES:  # no hand-written parameter table left beside them
        assert "| parameter | default | meaning |" not in page.read_text(encoding="utf-8"), page.name
