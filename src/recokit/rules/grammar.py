"""The grammar a rule condition may use, checked before anything executes it.

A condition is code from outside (a merchandiser's file, a saved model), so it goes through four
gates, each cheap and none recursive, before a polars expression exists:

1. **size**: at most :data:`MAX_CHARS` characters;
2. **tokens** (sqlglot's tokenizer, a linear scan): only the words and signs of the grammar
   below, no comment, no ``;``, no function call but :data:`FUNCTIONS`, nesting (parentheses and
   stacked ``NOT`` / signs) at most :data:`MAX_NESTING` deep -- sqlglot's parser recurses about
   twenty Python frames per parenthesis, so this is what keeps it far from the recursion limit;
3. **tree** (sqlglot's parser, then an explicit allowlist of node types *and* of their arguments,
   walked with a stack): at most :data:`MAX_NODES` parts;
4. **build**: the polars expression is made here from the checked tree (``pl.col``, ``pl.lit``,
   operators). The text itself never reaches polars: ``pl.sql_expr`` ran subqueries and file
   readers while parsing, and its left-deep chains of ``OR`` made a 2,000-term condition take
   seconds to evaluate; ``AND`` / ``OR`` chains are built here as balanced trees.

The grammar (SQL, case-insensitive keywords)::

    condition  := condition OR condition | condition AND condition | NOT condition
                | value (= | == | <> | != | < | <= | > | >=) value
                | value [NOT] IN (literal, ...)
                | value [NOT] BETWEEN value AND value
                | value [NOT] LIKE 'pattern' | value [NOT] ILIKE 'pattern'
                | value IS [NOT] NULL
                | value
    value      := column | literal | value (+ | - | * | /) value | - value | + value
                | LOWER(value) | UPPER(value) | (condition)
    column     := name | "quoted name"
    literal    := 'string' | number | TRUE | FALSE | NULL
                | DATE 'YYYY-MM-DD' | TIMESTAMP 'YYYY-MM-DD HH:MM:SS'

NULL is not allowed inside an IN list (write ``x IN (...) OR x IS NULL``); LIKE has no escape
character (``%`` any text, ``_`` one character). Semantics are polars SQL's: SQL's three-valued
logic (a null never matches), ``/`` is true division, ``NOT x`` casts ``x`` to true/false.

Examples
--------
>>> import polars as pl
>>> c = compile_condition("category IN ('tent', 'bike') AND price BETWEEN 10 AND 100")
>>> c.columns
('category', 'price')
>>> cat = pl.DataFrame({"category": ["tent", "bike", "tent"], "price": [50, 500, None]})
>>> cat.select(c.expr).to_series().to_list()
[True, False, None]
>>> from recokit import RuleError
>>> try:
...     compile_condition("item_id IN (SELECT item_id FROM read_csv('x.csv'))")
... except RuleError as err:
...     print(err.message)
condition "item_id IN (SELECT item_id FROM read_csv('x.csv'..." (50 characters) is not accepted: it contains a query ('SELECT'); a condition is one expression over the catalogue's columns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from recokit._errors import RuleError

__all__ = ["FUNCTIONS", "MAX_CHARS", "MAX_NESTING", "MAX_NODES", "Condition", "compile_condition", "quote"]

#: the longest condition, in characters (a longer one is a catalogue column waiting to be made)
MAX_CHARS = 10_000
#: the most parts a condition may have: each column, literal, operator and IN-list value is one
MAX_NODES = 1_000
#: the deepest nesting of parentheses and stacked NOT / signs
MAX_NESTING = 16
#: the only functions a condition may call (pure, one string argument)
FUNCTIONS = ("LOWER", "UPPER")

HINT = "write comparisons of columns with literals, e.g. \"category = 'bike' AND stock > 0\" (docs/rules.md, 'What a condition may contain')."
SPLIT = "split it into several rules (filters combine with AND), or put the items' flag in a catalogue column and test that column."

T = TokenType
#: the tokens of the grammar; everything else (SELECT, FROM, CASE, '[', ';', '::', '@', '?', ...) stops at gate 2
TOKENS = frozenset(
    {
        T.VAR, T.IDENTIFIER, T.STRING, T.NUMBER, T.NULL, T.TRUE, T.FALSE, T.DATE, T.TIMESTAMP,
        T.L_PAREN, T.R_PAREN, T.COMMA, T.DOT,
        T.EQ, T.NEQ, T.LT, T.LTE, T.GT, T.GTE, T.PLUS, T.DASH, T.STAR, T.SLASH,
        T.AND, T.OR, T.NOT, T.IN, T.BETWEEN, T.LIKE, T.ILIKE, T.IS,
    }
)  # fmt: skip
QUERY_TOKENS = frozenset({T.SELECT, T.FROM, T.WITH, T.UNION, T.INTERSECT, T.EXCEPT, T.VALUES, T.TABLE, T.WHERE, T.JOIN})
#: tokens after which a NOT, '-' or '+' is infix (``a NOT IN``, ``a - 1``), not a prefix that nests
OPERAND_END = frozenset({T.VAR, T.IDENTIFIER, T.STRING, T.NUMBER, T.NULL, T.TRUE, T.FALSE, T.R_PAREN})
DIALECT = Dialect.get_or_raise(None)
#: the base class of sqlglot's tree nodes (``Expr`` since sqlglot 30, ``Expression`` before)
NODE: type[exp.Expr] = getattr(exp, "Expr", None) or exp.Expression


@dataclass(frozen=True)
class Condition:
    """A checked condition: the text as written, its polars expression, the columns it reads."""

    text: str
    expr: pl.Expr
    columns: tuple[str, ...]


def quote(text: str, limit: int = 48) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (a message never carries a
    10,000-character condition, nor anything but what the user wrote)."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit] + "...") + f" ({len(text):,} characters)"


def compile_condition(text: str, where: str | None = None, rule: str | None = None) -> Condition:
    """Check ``text`` against the grammar and build its polars expression.

    ``where`` prefixes messages (default ``condition '<text>'``); ``rule`` is the rule's name
    carried by the :class:`~recokit.RuleError`. Raises RuleError for anything outside the grammar
    or its limits, before polars sees anything.
    """
    where = where or f"condition {quote(text)}"

    def fail(reason: str, hint: str | None = HINT) -> RuleError:
        return RuleError(f"{where} is not accepted: {reason}", hint=hint, rule=rule)

    if not isinstance(text, str):
        raise fail(f"a condition is text, got {type(text).__name__}.", hint=None)
    if len(text) > MAX_CHARS:
        raise fail(f"it has {len(text):,} characters; a condition may have at most {MAX_CHARS:,}.", hint=SPLIT)
    tokens = _tokens(text, where, rule, fail)
    try:
        trees = DIALECT.parser().parse(tokens, text)
    except ParseError as exc:
        raise RuleError(f"{where} does not parse as an SQL condition: {_parse_reason(exc)}.", hint=HINT, rule=rule) from None
    except RecursionError:  # gate 2 keeps nesting far below this; kept as a last guard
        raise fail(f"it is nested too deeply (at most {MAX_NESTING} levels).", hint=SPLIT) from None
    if len(trees) != 1 or trees[0] is None:
        raise fail("it holds no condition, or more than one.")
    expr, columns = _build(trees[0], fail)
    return Condition(text, expr, columns)


# -- gate 2: tokens -----------------------------------------------------------------------------
def _tokens(text: str, where: str, rule: str | None, fail: Callable[..., RuleError]) -> list[Token]:
    """The tokens of ``text``, each of the grammar; raises on comments, ';', calls, deep nesting."""
    try:
        tokens = DIALECT.tokenize(text)
    except TokenError:
        raise RuleError(f"{where} does not parse as an SQL condition: a quote is not closed, or a character is not part of SQL.", hint=HINT, rule=rule) from None
    prefixes = [0]  # per open parenthesis: the NOT / signs still open inside it
    nesting = 0  # open parentheses + open prefixes: what the parser will recurse through
    prev: TokenType | None = None
    for i, tok in enumerate(tokens):
        tt = tok.token_type
        if tok.comments:
            raise fail("it contains a comment (-- or /* */); write the condition alone.")
        if tt not in TOKENS:
            raise fail(_token_reason(tok))
        if tt == T.VAR and not re.fullmatch(r"[^\W\d]\w*", tok.text):  # sqlglot also reads $1, $$x$$ as names
            raise fail(f"{tok.text[:40]!r} is not a column name: write letters, digits and _, or put the name in double quotes.")
        if tt == T.VAR and i + 1 < len(tokens) and tokens[i + 1].token_type == T.L_PAREN and tok.text.upper() not in FUNCTIONS:
            raise fail(f"it calls the function {tok.text}(...); the only functions allowed are {', '.join(FUNCTIONS)}.")
        if tt == T.L_PAREN:
            prefixes.append(0)
            nesting += 1
        elif tt == T.R_PAREN and len(prefixes) > 1:
            nesting -= prefixes.pop() + 1
        elif tt in (T.AND, T.OR, T.COMMA):  # the operands before it are parsed: their prefixes closed
            nesting -= prefixes[-1]
            prefixes[-1] = 0
        elif tt in (T.NOT, T.DASH, T.PLUS) and prev not in OPERAND_END and prev != T.IS:
            prefixes[-1] += 1
            nesting += 1
        if nesting > MAX_NESTING:
            raise fail(f"it is nested more than {MAX_NESTING} levels deep (parentheses, NOT and signs inside one another).", hint=SPLIT)
        prev = tt
    return tokens


def _parse_reason(exc: ParseError) -> str:
    e = exc.errors[0] if exc.errors else {}
    description, near, col = str(e.get("description", "")), str(e.get("highlight", ""))[:20], e.get("col", "?")
    if description.startswith(("Required keyword", "Invalid expression", "Unexpected")) or not description:
        return f"unexpected {near!r} at column {col}" if near else f"incomplete at column {col}"
    return f"{description} (column {col})"


def _token_reason(tok: Token) -> str:
    tt, text = tok.token_type, tok.text
    if tt in QUERY_TOKENS:
        return f"it contains a query ({text.upper()!r}); a condition is one expression over the catalogue's columns."
    if tt == T.SEMICOLON:
        return "it contains ';'; a condition is one expression, not several statements."
    if re.fullmatch(r"\w+", text):
        return f"{text!r} is not part of the condition grammar (a column of that name must be written in double quotes: \"{text}\")."
    return f"{text!r} is not part of the condition grammar."


# -- gates 3 and 4: the tree, walked with a stack; each node is checked, then built ------------
def _build(root: exp.Expr, fail: Callable[..., RuleError]) -> tuple[pl.Expr, tuple[str, ...]]:
    columns: dict[str, None] = {}
    built: dict[int, pl.Expr] = {}
    count = 0
    stack: list[tuple[exp.Expr, list[exp.Expr] | None]] = [(root, None)]
    while stack:
        node, kids = stack.pop()
        if kids is None:
            kids = _children(node, fail)
            count += _parts(node, kids)
            if count > MAX_NODES:
                raise fail(f"it has more than {MAX_NODES:,} parts (columns, values, operators); a condition may have at most {MAX_NODES:,}.", hint=SPLIT)
            stack.append((node, kids))
            stack.extend((k, None) for k in reversed(kids))  # built left to right
            continue
        args = [built.pop(id(k)) for k in kids]
        if isinstance(node, exp.Column):
            columns[node.name] = None
        built[id(node)] = _make(node, args, fail)
    return built[id(root)], tuple(columns)


def _parts(node: exp.Expr, kids: list[exp.Expr]) -> int:
    """How many parts ``node`` adds to the size: one, plus one per IN-list value; a chain of n
    operands joined by AND (or OR) adds its n - 1 connectives."""
    if isinstance(node, (exp.And, exp.Or)):
        return len(kids) - 1
    return 1 + len(node.expressions) if isinstance(node, exp.In) else 1


#: node type -> the arguments it may carry (any other argument must be unset)
ARGS: dict[type[exp.Expr], frozenset[str]] = {
    **{t: frozenset({"this", "expression"}) for t in (exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Is)},
    **{t: frozenset({"this"}) for t in (exp.Not, exp.Neg, exp.Paren, exp.Lower, exp.Upper, exp.Column, exp.Boolean, exp.Null)},
    exp.Like: frozenset({"this", "expression", "negate"}),
    exp.ILike: frozenset({"this", "expression", "negate"}),
    exp.In: frozenset({"this", "expressions"}),
    exp.Between: frozenset({"this", "low", "high"}),
    exp.Literal: frozenset({"this", "is_string"}),
    exp.Cast: frozenset({"this", "to"}),  # only DATE '...' / TIMESTAMP '...': see _literal
}


def _children(node: exp.Expr, fail: Callable[..., RuleError]) -> list[exp.Expr]:
    """Check ``node`` (its type and every argument it carries); return the sub-trees to build first."""
    allowed = ARGS.get(type(node))
    if allowed is None:
        raise fail(_node_reason(node))
    extra = [k for k, v in node.args.items() if k not in allowed and v not in (None, False, "", [])]
    if isinstance(node, exp.Column) and extra:
        raise fail(f"{_sql(node)!r} is not a plain column name (no table or schema prefix).")
    if extra:
        raise fail(f"{node.key.upper()} with {', '.join(extra).upper()} is not part of the condition grammar.")
    if isinstance(node, (exp.And, exp.Or)):
        return _operands(node)
    if isinstance(node, exp.In):
        if not node.expressions:
            raise fail("an IN list is empty.")
        for v in node.expressions:
            if isinstance(v, exp.Null):
                raise fail("NULL inside an IN list never matches.", hint="write x IN (...) OR x IS NULL.")
            _literal(v, fail, "an IN list holds literals only (strings, numbers, TRUE/FALSE, DATE '...')")
        return [node.this]
    if isinstance(node, (exp.Like, exp.ILike)):
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise fail(f"the pattern of {_sql(node)!r} must be a string literal, e.g. name LIKE '%tent%'.")
        return [node.this]
    if isinstance(node, exp.Is):
        if not isinstance(node.expression, exp.Null):
            raise fail(f"{_sql(node)!r}: IS is only for IS NULL / IS NOT NULL.", hint="test a true/false column alone (eco_label) or with NOT (NOT eco_label).")
        return [node.this]
    if isinstance(node, exp.Column):
        ident = node.this
        if not isinstance(ident, exp.Identifier) or set(ident.args) - {"this", "quoted"} or not isinstance(ident.this, str):
            raise fail(f"{_sql(node)!r} is not a plain column name.")
        if ident.this == "*" or (ident.this.startswith("^") and ident.this.endswith("$")):
            raise fail(f"{ident.this!r} is not a column name (polars would read it as a pattern of names).")
        return []
    if isinstance(node, (exp.Literal, exp.Boolean, exp.Null, exp.Cast)):
        _literal(node, fail, "a date is written DATE 'YYYY-MM-DD', a time TIMESTAMP 'YYYY-MM-DD HH:MM:SS'")
        return []
    if isinstance(node, exp.Between):
        return [node.this, node.args["low"], node.args["high"]]
    return [a for a in (node.this, node.args.get("expression")) if isinstance(a, NODE)]


def _operands(node: exp.Expr) -> list[exp.Expr]:
    """The operands of a chain of one connective (``a OR b OR c``), left to right, without recursion."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if type(n) is type(node) and not (set(k for k, v in n.args.items() if v) - {"this", "expression"}):
            todo += [n.expression, n.this]
        else:
            out.append(n)
    return out


def _literal(node: exp.Expr, fail: Callable[..., RuleError], what: str) -> object:
    """The Python value of a literal node (a string, number, bool, None, date or datetime)."""
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -_number(node.this.this, fail)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        return str(node.this) if node.is_string else _number(node.this, fail)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string and isinstance(node.to, exp.DataType):
        to = node.to
        if not (set(k for k, v in to.args.items() if v) - {"this"}):
            return _date(str(node.this.this), to.this, fail)
    raise fail(f"{_sql(node)!r}: {what}.")


def _number(s: object, fail: Callable[..., RuleError]) -> int | float:
    text = str(s)
    try:
        v: int | float = int(text) if re.fullmatch(r"[0-9]+", text) else float(text)
    except ValueError:
        raise fail(f"{text[:40]!r} is not a number a condition can hold.") from None
    if isinstance(v, float) and not math.isfinite(v):
        raise fail(f"{text[:40]!r} is not a finite number.")
    if isinstance(v, int) and v >= 2**63:
        raise fail(f"{text[:40]!r} is larger than a 64-bit integer.")
    return v


def _date(text: str, kind: object, fail: Callable[..., RuleError]) -> dt.date:
    try:
        if kind == exp.DataType.Type.DATE:
            return dt.date.fromisoformat(text)
        if kind == exp.DataType.Type.TIMESTAMP:
            value = dt.datetime.fromisoformat(text)
            if value.tzinfo is None:
                return value
    except ValueError:
        pass
    raise fail(f"{text[:40]!r} is not a literal the grammar knows: write DATE 'YYYY-MM-DD' or TIMESTAMP 'YYYY-MM-DD HH:MM:SS' (no time zone).")


def _node_reason(node: exp.Expr) -> str:
    if isinstance(node, exp.Alias):
        return f"{_sql(node)!r} reads as a value with a name after it (an alias); is an operator or a quote missing?"
    if isinstance(node, (exp.Query, exp.Subquery)):
        return "it contains a query (SELECT ...); a condition is one expression over the catalogue's columns."
    if isinstance(node, exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        return f"it calls the function {name}(...); the only functions allowed are {', '.join(FUNCTIONS)}."
    return f"{_sql(node)!r} is not part of the condition grammar."


def _sql(node: exp.Expr) -> str:
    """The node written back as SQL (from the user's own text), cut for a message."""
    text = node.sql()
    return text if len(text) <= 60 else text[:57] + "..."


# -- gate 4: the polars expression -------------------------------------------------------------
def _balanced(op: Callable[[pl.Expr, pl.Expr], pl.Expr], items: Sequence[pl.Expr]) -> pl.Expr:
    """``items`` joined by an associative ``op`` as a balanced tree (depth log2 n, not n)."""
    level = list(items)
    while len(level) > 1:
        level = [op(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


def _like(node: exp.Like | exp.ILike, value: pl.Expr) -> pl.Expr:
    flags = "(?is)" if isinstance(node, exp.ILike) else "(?s)"
    pattern = str(node.expression.this)
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.sub(r"([\\.+*?()|\[\]{}^$#&\-~])", r"\\\1", ch) for ch in pattern)
    out = value.str.contains(f"{flags}^{regex}$")
    return ~out if node.args.get("negate") else out


BINARY: dict[type[exp.Expr], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b,
}


def _make(node: exp.Expr, args: list[pl.Expr], fail: Callable[..., RuleError]) -> pl.Expr:
    """The polars expression of a checked ``node`` whose sub-trees are built (``args``)."""
    if type(node) in BINARY:
        return BINARY[type(node)](args[0], args[1])
    if isinstance(node, exp.And):
        return _balanced(lambda a, b: a & b, args)
    if isinstance(node, exp.Or):
        return _balanced(lambda a, b: a | b, args)
    if isinstance(node, exp.Column):
        return pl.col(node.name)
    if isinstance(node, (exp.Literal, exp.Boolean, exp.Null, exp.Cast)):
        return pl.lit(_literal(node, fail, ""))
    if isinstance(node, exp.Neg):
        inner = node.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return pl.lit(_literal(node, fail, ""))
        return pl.lit(0) - args[0]  # as polars SQL: unsigned columns wrap, they do not fail
    if isinstance(node, exp.Not):
        return args[0].cast(pl.Boolean, strict=True).not_()
    if isinstance(node, exp.In):
        return _balanced(lambda a, b: a | b, [args[0] == pl.lit(_literal(v, fail, "")) for v in node.expressions])
    if isinstance(node, exp.Between):
        return (args[0] >= args[1]) & (args[0] <= args[2])
    if isinstance(node, (exp.Like, exp.ILike)):
        return _like(node, args[0])
    if isinstance(node, exp.Is):
        return args[0].is_null()
    if isinstance(node, exp.Lower):
        return args[0].str.to_lowercase()
    if isinstance(node, exp.Upper):
        return args[0].str.to_uppercase()
    if isinstance(node, exp.Paren):
        return args[0]
    raise fail(_node_reason(node))  # unreachable: _children lets only the types above through

