"""``recokit report``: one self-contained HTML page. Parsed here: every image decodes, every model
evaluated is in the comparison table, every rule of the rules file is described, nothing would
be fetched from outside."""

from __future__ import annotations

import base64
import io
import sys
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from recokit import ConfigError, DependencyError, load_rules
from recokit.cli import main
from recokit.report import html_report
from shop_files import write_exports

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "docs" / "examples" / "sports_shop_pipeline.toml"


class Page(HTMLParser):
    """Every tag with its attributes, and the text of every table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_cell = tag in ("td", "th")
        if self._in_cell:
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    _, paths = write_exports(folder, 500, 6)
    out = folder / "report.html"
    code = main(["report", "--pipeline", str(PIPELINE), "--orders", str(paths["orders"]), "--catalog", str(paths["catalog"]),
                 "--customers", str(paths["customers"]), "--k", "5", "10", "--n-boot", "20", "--no-progress", "--out", str(out)])
    assert code == 0
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    return page, out


def test_every_image_is_embedded_and_decodes(report):
    page, _ = report
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) >= 2  # metric against k, accuracy against latency
    for attrs in images:
        src = attrs["src"] or ""
        head, _, data = src.partition(",")
        assert head == "data:image/png;base64"
        picture = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        picture.verify()
        assert picture.size[0] > 100 and picture.size[1] > 100


def test_nothing_is_fetched_from_outside(report):
    page, out = report
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "iframe", "object", "embed")]
    for _, attrs in page.tags:
        for name, value in attrs.items():
            if name in ("src", "href", "srcset", "action", "data", "poster"):
                assert (value or "").startswith("data:"), (name, value)
    text = out.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "url(" not in text


def test_every_model_and_every_rule_is_in_the_report(report):
    page, _ = report
    models = {"pipeline", "because alone (ItemKNN)", "together alone (AssociationRules)", "tastes alone (ALS)", "trending alone (Popularity)"}
    assert models <= set(page.cells)
    rules = load_rules(ROOT / "docs" / "examples" / "sports_shop_rules.toml")
    assert {r.name for r in rules} <= set(page.cells)
    assert "champions" in page.cells  # the customers' segments, the customers table being known


def test_the_report_needs_an_evaluation_and_a_known_metric():
    empty = pl.DataFrame(schema={"model": pl.String, "k": pl.Int64, "ndcg": pl.Float64})
    with pytest.raises(ConfigError, match="empty"):
        html_report(empty)
    with pytest.raises(ConfigError, match="metric must be one of"):
        html_report(empty, metric="auc")


def test_without_matplotlib_the_report_says_how_to_install_it(monkeypatch):
    from recokit.adapters import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(DependencyError, match=r"recokit\[report\]"):
        plots.require()


def test_the_output_must_be_an_html_file(tmp_path, capsys):
    code = main(["report", "--orders", str(tmp_path / "x.csv"), "--out", str(tmp_path / "report.pdf"), "--no-progress"])
    assert code == 2
    assert "the report is an .html file" in capsys.readouterr().err
