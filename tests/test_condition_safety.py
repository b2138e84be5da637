"""Rule conditions are code from outside: the grammar refuses everything but a condition.

Each attack is tried through the three ways a condition arrives (a rules file, a rule built in
code, a saved model edited on disk then ``recokit.load``) and must be refused with a recokit
error in under a second, without polars' SQL engine ever being called (it is replaced by a
function that fails the test), without a request reaching a local HTTP server, and without the
content of a file it names appearing in the message.

Valid conditions are checked differentially: random conditions of the grammar must give exactly
what polars' own SQL translator (``pl.sql_expr``, the code path the grammar replaced) gives on
the same text; LIKE patterns against a wildcard matcher written here.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from persist_files import rehash
from recokit import PersistError, Popularity, RecokitError, RuleError, load, save
from recokit.rules import Boost, ExcludeOwned, Filter, Ruled, RuleSet, load_rules, parse_rules
from recokit.rules.grammar import MAX_CHARS, MAX_NESTING, MAX_NODES, compile_condition

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "sports_shop_rules.toml"
#: polars' SQL translator, kept before the tests replace it: the oracle of the differential tests
SQL_EXPR = pl.sql_expr
SECRET = "S3CRET-7f1c9a-TOKEN"


@pytest.fixture(autouse=True)
def no_polars_sql(monkeypatch):
    """Any call to polars' SQL engine fails the test that made it (its table functions read files
    in Rust, so the proof for files is the secret below and for URLs the server's empty log)."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"polars' SQL engine was called with {args!r}")

    for name in ("sql_expr", "sql", "SQLContext"):
        monkeypatch.setattr(pl, name, forbidden)


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    """A CSV whose first line is a secret: polars used to echo it as 'valid columns'."""
    path = tmp_path_factory.mktemp("secret") / "customers.csv"
    path.write_text(f"{SECRET},x\n1,2\n", encoding="utf-8")
    return path


class Server:
    """A local HTTP server counting the requests it receives."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"item_id\nP0001\n")

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.close()


def attacks(secret: Path, url: str) -> dict[str, str]:
    """Every hostile or oversized condition, by name."""
    ors = lambda n: " OR ".join(f"stock = {i}" for i in range(n))  # noqa: E731
    return {
        "read_csv": f"item_id IN (SELECT item_id FROM read_csv('{secret}'))",
        "read_parquet": f"item_id IN (SELECT * FROM read_parquet('{secret}'))",
        "read_json": f"item_id IN (SELECT * FROM read_ndjson('{secret}'))",
        "scan_csv": f"stock > 0 AND item_id IN (SELECT item_id FROM scan_csv('{secret}'))",
        "file as a table": f"item_id IN (SELECT item_id FROM '{secret}')",
        "url": f"item_id IN (SELECT item_id FROM read_csv('{url}/items.csv'))",
        "url in a function": f"read_csv('{url}/x.csv') IS NULL",
        "subquery": "stock > (SELECT MAX(stock) FROM self)",
        "exists": "EXISTS (SELECT 1 FROM self)",
        "table function": "item_id IN (SELECT * FROM generate_series(1, 10))",
        "union": "stock > 0 UNION SELECT 1",
        "two statements": "stock > 0; SELECT 1",
        "line comment": "stock > 0 -- AND price < 10",
        "block comment": "stock > 0 /* hidden */",
        "function": "sqrt(price) > 3",
        "cast": "CAST(price AS INT) > 3",
        "10,000 parentheses": "(" * 10_000 + "stock > 0" + ")" * 10_000,
        "4,000 parentheses": "(" * 4_000 + "stock > 0" + ")" * 4_000,
        "2,000 NOTs": "NOT " * 2_000 + "eco_label",
        "4,000 signs": "- " * 4_000 + "stock > 0",
        "2,000 ORs": ors(2_000),
        "20,000 ORs": ors(20_000),
        "700 ORs in 10,000 characters": " OR ".join(["eco_label"] * 700),
        "an IN list of 2,000": "stock IN (" + ", ".join(["0"] * 2_000) + ")",
    }


def rules_file(path: Path, keep: str) -> Path:
    # json.dumps writes a valid TOML basic string (escapes quotes, backslashes, newlines)
    path.write_text(f'[[rule]]\nname = "f"\ntype = "filter"\nkeep = {json.dumps(keep)}\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def saved(shop, tmp_path_factory):
    """A saved ruled model whose filter reads ``stock > 0``: the text to tamper with."""
    model = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(shop)
    return save(model, tmp_path_factory.mktemp("saved") / "model")


def tampered(saved: Path, tmp_path: Path, keep: str) -> Path:
    path = shutil.copytree(saved, tmp_path / "model")
    text = (path / "model.json").read_text(encoding="utf-8")
    assert text.count(json.dumps("stock > 0")) >= 1
    (path / "model.json").write_text(text.replace(json.dumps("stock > 0"), json.dumps(keep)), encoding="utf-8")
    rehash(path)  # the manifest agrees with the edit: the grammar, not the hash check, must refuse it
    return path


ATTACKS = list(attacks(Path("x"), "http://x"))


@pytest.mark.parametrize("entry", ["code", "rules file", "saved model"])
@pytest.mark.parametrize("name", ATTACKS)
def test_every_attack_is_refused_quickly_without_reading_anything(name, entry, shop, secret_file, server, saved, tmp_path):
    text = attacks(secret_file, server.url)[name]
    start = time.perf_counter()
    with pytest.raises(RecokitError) as info:
        if entry == "code":
            Ruled(Popularity(), [Filter(text, name="f")]).fit(shop)
        elif entry == "rules file":
            load_rules(rules_file(tmp_path / "rules.toml", text), shop)
        else:
            load(tampered(saved, tmp_path, text))
    elapsed = time.perf_counter() - start
    message = str(info.value)
    # a saved model that does not load is a PersistError (the file was edited), carrying the refusal
    assert isinstance(info.value, PersistError if entry == "saved model" else RuleError)
    assert "is not accepted" in message or "does not parse" in message
    # the < 1 s of the issue is measured by benchmarks/conditions.py (milliseconds); a test on a
    # shared machine only guards against a blow-up (exponential parse, a read that hangs)
    assert elapsed < 10.0, f"{name} via {entry}: refused after {elapsed:.2f} s"
    assert SECRET not in message
    assert len(message) < 1_500, "the message quotes the condition cut short"
    assert server.hits == []


def test_the_server_counts_requests(server):
    """The server really answers: an empty hit list above is a proof, not a dead port."""
    before = len(server.hits)
    with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as r:
        assert r.status == 200
    assert len(server.hits) == before + 1
    server.hits.clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("item_id IN (SELECT item_id FROM read_csv('f.csv'))", r"query \('SELECT'\)"),
        ("read_csv('f.csv') IS NULL", r"calls the function read_csv\(\.\.\.\); the only functions allowed are LOWER, UPPER"),
        ("stock > 0; DROP TABLE t", r"contains ';'"),
        ("stock > 0 -- note", r"contains a comment"),
        ("stock > 0 UNION SELECT 1", r"query \('UNION'\)"),
        ("stock IN (1, NULL)", r"NULL inside an IN list.*\nHint: write x IN \(\.\.\.\) OR x IS NULL"),
        ("stock IN (price)", r"an IN list holds literals only"),
        ("name LIKE category", r"must be a string literal"),
        ("eco_label IS TRUE", r"IS is only for IS NULL"),
        ("t.stock > 0", r"not a plain column name"),
        ('"^s.*$" > 0', r"not a column name"),
        ("stock % 2 = 0", r"'%' is not part of the condition grammar"),
        ("comment = 'x'", r"must be written in double quotes: \"comment\""),
        ("launched > DATE '2024-02-30'", r"DATE 'YYYY-MM-DD'"),
        ("stock BETWEEN SYMMETRIC 1 AND 2", r"BETWEEN with SYMMETRIC"),
        ("stock > 99999999999999999999", r"larger than a 64-bit integer"),
        ("stock = = 1", r"does not parse as an SQL condition: unexpected '='"),
        ("name = 'open", r"a quote is not closed"),
        ("(" * (MAX_NESTING + 1) + "stock > 0" + ")" * (MAX_NESTING + 1), rf"nested more than {MAX_NESTING} levels"),
        ("x" * (MAX_CHARS + 1), rf"it has {MAX_CHARS + 1:,} characters; a condition may have at most {MAX_CHARS:,}"),
        ("stock IN (" + ", ".join(["0"] * MAX_NODES) + ")", rf"more than {MAX_NODES:,} parts"),
    ],
)
def test_refusals_say_what_and_how_to_fix(text, expected):
    with pytest.raises(RuleError, match=expected) as info:
        Filter(text, name="f")
    assert info.value.rule == "f"
    assert info.value.hint


def test_messages_quote_a_long_condition_cut_short():
    text = " OR ".join(f"stock = {i}" for i in range(20_000))
    with pytest.raises(RuleError) as info:
        Filter(text)  # its default name is the text too
    message = str(info.value)
    assert f"({len(text):,} characters)" in message and len(message) < 600


# -- the limits, at their edges -----------------------------------------------------------------
def test_the_limits_hold_exactly_at_their_edges():
    ok, over = "(" * MAX_NESTING + "stock > 0" + ")" * MAX_NESTING, "(" * (MAX_NESTING + 1) + "stock > 0" + ")" * (MAX_NESTING + 1)
    compile_condition(ok)
    with pytest.raises(RuleError):
        compile_condition(over)
    compile_condition("NOT " * MAX_NESTING + "eco_label")
    with pytest.raises(RuleError):
        compile_condition("NOT " * (MAX_NESTING + 1) + "eco_label")
    # NOTs side by side are not nested: 100 of them are fine
    compile_condition(" AND ".join(["NOT eco_label"] * 100))
    # parts: the IN node, its column, and one per value
    compile_condition("stock IN (" + ", ".join(["0"] * (MAX_NODES - 2)) + ")")
    with pytest.raises(RuleError):
        compile_condition("stock IN (" + ", ".join(["0"] * (MAX_NODES - 1)) + ")")
    padded = "stock > 0" + " " * (MAX_CHARS - len("stock > 0"))
    compile_condition(padded)
    with pytest.raises(RuleError):
        compile_condition(padded + " ")


# -- every form in use keeps working --------------------------------------------------------------
def oracle_mask(frame: pl.DataFrame, text: str) -> list[bool]:
    """What polars' SQL translator makes of ``text`` on ``frame`` (null -> False, constants broadcast)."""
    return frame.with_columns(SQL_EXPR(text).fill_null(False).alias("__m"))["__m"].to_list()


def test_the_example_rules_file_still_loads_and_matches_polars_sql(shop):
    rules = load_rules(EXAMPLE, shop)
    for rule in rules:
        for field in rule.conditions:
            text = getattr(rule, field)
            if text is not None:
                assert rule.mask(field, shop.catalog).tolist() == oracle_mask(shop.catalog, text)


@pytest.mark.parametrize(
    "text",
    [
        "stock > 0",
        "category = 'bike' AND age_group = 'child'",
        "category <> 'tent' AND stock >= 2",
        "category IN ('tent', 'backpack')",
        "price < 50 AND eco_label",
        "NOT consumable",
        "price BETWEEN 20 AND 80",
        "name LIKE '%Tent%' OR name ILIKE 'trail%'",
        "description IS NOT NULL",
        "LOWER(brand) = 'nordpeak' OR UPPER(sport) = 'CYCLING'",
        "price * 1.2 > 100 AND price / 2 < 400 AND stock - 1 >= 0 AND -price < 0",
        "1 = 1",
    ],
)
def test_usual_conditions_give_what_polars_sql_gives(shop, text):
    rule = Filter(text, name="f")
    assert rule.mask("keep", shop.catalog).tolist() == oracle_mask(shop.catalog, text)


def test_a_rule_reading_the_customers_table_checks_its_columns(shop):
    # a condition is checked against whatever table it is evaluated on, with that table's name
    from recokit.rules.conditions import evaluate

    rule = Filter("is_vip AND country = 'FR'", name="vip")
    customers = pl.DataFrame({"customer_id": ["a", "b"], "is_vip": [True, True], "country": ["FR", "DE"]})
    assert evaluate(rule, "keep", customers, table="customers table").tolist() == [True, False]
    with pytest.raises(RuleError, match=r"unknown column\(s\) \['is_vip', 'country'\].*\nHint: the customers table's columns are"):
        evaluate(rule, "keep", customers.select("customer_id"), table="customers table")


def test_conditions_are_checked_in_every_rule_type_and_in_rulesets(shop, tmp_path):
    bad = "stock IN (SELECT stock FROM read_csv('x.csv'))"
    for make in (lambda: Boost(bad, 1.2), lambda: ExcludeOwned(match=bad), lambda: ExcludeOwned(unless=bad), lambda: RuleSet([Filter(bad)])):
        with pytest.raises(RuleError, match="query"):
            make()
    with pytest.raises(RuleError, match="query"):
        parse_rules(f"[[rule]]\nname = 'b'\ntype = 'boost'\nmatch = {json.dumps(bad)}\nfactor = 1.5\n")


def test_conditions_compiled_in_parallel_threads_are_the_ones_compiled_alone():
    """Models are loaded by web processes' threads: the parser keeps no state between calls."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"stock > {i} AND (category = 'c{i}' OR price BETWEEN {i} AND {i + 5})" for i in range(200)]
    alone = [str(compile_condition(t).expr) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: str(compile_condition(t).expr), texts))
    assert together == alone


# -- properties -----------------------------------------------------------------------------------
FRAME = pl.DataFrame(
    {
        "stock": [0, 3, None, -2, 10, 7],
        "price": [9.5, None, 120.0, 0.0, -3.25, 80.0],
        "category": ["bike", "Tent", None, "it's", "", "bike helmet"],
        "eco_label": [True, False, None, True, False, True],
        "launched": [dt.date(2024, 1, 1), None, dt.date(2023, 6, 30), dt.date(2025, 2, 1), dt.date(2024, 1, 2), dt.date(2020, 1, 1)],
    }
)

ints = st.integers(-5, 12).map(str)
# exponent form: polars SQL reads it as a float, as the grammar reads every number with a point
# (polars SQL >= 2 reads 2.25 as an exact decimal; see test_a_number_with_a_point_is_a_float)
floats = st.sampled_from(["5e-1", "2.25e0", "1e2", "0e0", "-1.5e0", "1E1"])
strings = st.sampled_from(["bike", "Tent", "it's", "", "bike helmet", "x"]).map(lambda s: "'" + s.replace("'", "''") + "'")
dates = st.dates(dt.date(2019, 1, 1), dt.date(2026, 1, 1)).map(lambda d: f"DATE '{d.isoformat()}'")
patterns = st.text(alphabet="bikeTntl %_'", max_size=6).map(lambda s: "'" + s.replace("'", "''") + "'")

num = st.recursive(
    st.one_of(st.sampled_from(["stock", "price"]), ints, floats),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda x: f"({x})"),
        inner.map(lambda x: f"-({x})"),
    ),
    max_leaves=4,
)
text_value = st.one_of(st.just("category"), strings, st.sampled_from(["LOWER(category)", "UPPER(category)"]))
cmp = st.sampled_from(["=", "<>", "!=", "<", "<=", ">", ">="])
atom = st.one_of(
    st.tuples(num, cmp, num).map(" ".join),
    st.tuples(text_value, cmp, strings).map(" ".join),
    st.tuples(st.just("launched"), cmp, dates).map(" ".join),
    st.tuples(st.sampled_from(["stock", "price"]), st.sampled_from(["IN", "NOT IN"]), st.lists(st.one_of(ints, floats), min_size=1, max_size=4)).map(lambda t: f"{t[0]} {t[1]} ({', '.join(t[2])})"),
    st.tuples(text_value, st.sampled_from(["IN", "NOT IN"]), st.lists(strings, min_size=1, max_size=4)).map(lambda t: f"{t[0]} {t[1]} ({', '.join(t[2])})"),
    st.tuples(num, st.sampled_from(["BETWEEN", "NOT BETWEEN"]), num, num).map(lambda t: f"{t[0]} {t[1]} {t[2]} AND {t[3]}"),
    st.tuples(st.just("launched"), st.sampled_from(["BETWEEN", "NOT BETWEEN"]), dates, dates).map(lambda t: f"{t[0]} {t[1]} {t[2]} AND {t[3]}"),
    st.tuples(text_value, st.sampled_from(["LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"]), patterns).map(" ".join),
    st.tuples(st.sampled_from(list(FRAME.columns)), st.sampled_from(["IS NULL", "IS NOT NULL"])).map(" ".join),
    st.sampled_from(["eco_label", "TRUE", "FALSE"]),
)
condition = st.recursive(
    atom,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(" ".join),
        inner.map(lambda x: f"NOT ({x})"),
        inner.map(lambda x: f"({x})"),
    ),
    max_leaves=6,
)


def values(expr: pl.Expr) -> tuple[pl.DataType, list]:
    out = FRAME.select(expr.alias("m")).to_series()
    return out.dtype, out.to_list()


@given(text=condition)
def test_whitelisted_conditions_evaluate_as_polars_sql_does(text):
    assert values(compile_condition(text).expr) == values(SQL_EXPR(text)), text


def test_a_number_with_a_point_is_a_float():
    """2.25 and 2.25e0 are the same 64-bit float (polars SQL >= 2 would make the first an exact
    decimal, and fail on a division by zero where a float gives inf)."""
    frame = pl.DataFrame({"stock": [0, 3]})
    for point, exponent in [("2.25", "2.25e0"), (".5", "5e-1"), ("-1.5", "-1.5e0")]:
        a, b = (frame.select(compile_condition(f"{n} / stock").expr).to_series() for n in (point, exponent))
        assert a.dtype == b.dtype == pl.Float64 and a.to_list() == b.to_list()
    assert frame.select(compile_condition("0.5 / stock > 1").expr).to_series().to_list() == [True, False]


def like(value: str, pattern: str) -> bool:
    """SQL LIKE by dynamic programming: % any run, _ one character, everything else itself."""
    ok = [True] + [False] * len(value)
    for p in pattern:
        if p == "%":
            ok = [any(ok[: j + 1]) for j in range(len(value) + 1)]
        else:
            ok = [False] + [ok[j] and (p == "_" or p == value[j]) for j in range(len(value))]
    return ok[-1]


@given(value=st.text(alphabet="aB.*+?()[]{}^$|\\#&-~ \n%_", max_size=6), pattern=st.text(alphabet="aB.*+?()[]{}^$|\\#&-~ \n%_", max_size=6), case=st.booleans())
def test_like_matches_a_wildcard_matcher_whatever_the_characters(value, pattern, case):
    op = "ILIKE" if case else "LIKE"
    sql = "'" + pattern.replace("'", "''") + "'"
    got = pl.DataFrame({"v": [value]}).select(compile_condition(f"v {op} {sql}").expr).item()
    assert got == (like(value.lower(), pattern.lower()) if case else like(value, pattern))


FORBIDDEN = [
    "(SELECT 1)", "(SELECT stock FROM self)", "read_csv('x.csv')", "read_parquet('x.parquet')", "scan_csv('x')",
    "EXISTS (SELECT 1)", "CASE WHEN stock > 0 THEN 1 ELSE 0 END", "CAST(stock AS INT)", "stock::int", "sqrt(price)",
    "self.stock", "?", "$1", ":p", "@p", "stock % 2", "category || 'x'", "[1]", "{'a': 1}", "INTERVAL '1 day'",
    "stock <=> 1", "eco_label IS TRUE", "stock IN (SELECT 1)", "category LIKE 'a' ESCAPE '!'", "stock BETWEEN SYMMETRIC 1 AND 2",
    "DATE('2020-01-01')", "'2020-01-01'::date", "stock IN (1, NULL)", "\"^.*$\"", "*", "stock -- c\n", "/* c */ stock",
    "1; SELECT 1", "ARRAY[1]", "ROW(1, 2)", "now()", "random()", "1 UNION SELECT 1", "stock LIKE category", "X'41'",
    "category IN (category)", "TIMESTAMP '2024-01-01 10:00:00+02:00'", "`stock`", "stock & 1", "~stock", "stock ^ 2",
]  # fmt: skip


@given(text=condition, bad=st.sampled_from(FORBIDDEN), where=st.sampled_from(["{b} AND ({t})", "({t}) OR {b} > 0", "NOT ({b}) OR {t}", "{t} AND stock IN ({b})", "{b}"]))
def test_a_condition_with_anything_outside_the_grammar_is_refused(text, bad, where):
    with pytest.raises(RuleError):
        compile_condition(where.format(t=text, b=bad))


WORDS = ["stock", "price", "category", "eco_label", "'x'", "1", "-", "+", "*", "/", "%", "(", ")", ",", "=", "<", ">", "<>", "AND", "OR", "NOT",
         "IN", "BETWEEN", "LIKE", "IS", "NULL", "TRUE", "SELECT", "FROM", "read_csv", "LOWER", "CASE", "WHEN", "THEN", "END", "DATE", "'2024-01-01'",
         ";", "--", "/*", "*/", "'", '"', "[", "]", "{", "}", "::", "@", "?", "$", "$1", ".", "\\", "UNION", "EXISTS", "CAST", "AS"]  # fmt: skip
#: words a condition never holds outside a string or a quoted name
NEVER = {"SELECT", "FROM", "CASE", "WHEN", "THEN", "UNION", "EXISTS", "AS", ";", "::", "[", "{", "@", "?", "%", "$1", "--", "/*"}


@given(tokens=st.lists(st.sampled_from(WORDS), max_size=30), noise=st.text(max_size=40))
def test_any_text_is_a_condition_or_a_rule_error_never_anything_else(tokens, noise):
    try:
        compile_condition(noise)
    except RuleError:
        pass
    try:
        cond = compile_condition(" ".join(tokens))
    except RuleError:
        return
    assert isinstance(cond.expr, pl.Expr)
    if not set(tokens) & {"'", '"'}:
        assert not set(tokens) & NEVER, tokens
