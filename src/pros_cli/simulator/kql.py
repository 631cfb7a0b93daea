"""The subset of the Kusto Query Language the simulator evaluates: what pros sends.

Supported: a table name, then ``| where <predicate>`` and ``| summarize <aggregations> [by <keys>]``
stages, any number of them. Predicates: comparisons (``== != < <= > >=``) of columns, numbers,
strings, ``true``/``false`` and ``datetime(...)``, joined with ``and``/``or`` and parentheses.
Aggregations: ``count()``, ``countif(predicate)``, ``sum(col)``, ``max(col)``, ``min(col)``, each
optionally named (``Name = ...``). Keys: a column, or ``Name = bin(col, <timespan>)``.

Anything else is refused with :class:`Unsupported`, naming the operator or function, never
answered wrongly. Semantics follow KQL where it matters here: a comparison with null is not true,
``summarize`` puts the key columns first and the aggregations after them, ``bin`` floors to
multiples of the span from 0001-01-01 (the Unix epoch gives the same day boundaries), and a
column that does not exist is a semantic error (learn.microsoft.com, Kusto query language
reference: where, summarize, bin, count, countif, sum, max, min).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


class KqlError(Exception):
    """A query Azure itself would refuse: ``kind`` is ``SyntaxError`` or ``SemanticError``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class Unsupported(Exception):
    """Valid KQL the simulator does not evaluate."""


_TOKEN = re.compile(
    r"\s*(?:(?P<datetime>datetime\s*\(\s*(?P<dtvalue>[^)]*)\))"
    r"|(?P<timespan>\d+(?:\.\d+)?(?:ms|d|h|m|s)\b)"
    r"|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|>=|<=|[|,()=<>]))"
)
_SPANS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Tok:
    kind: str
    value: Any


def _tokens(text: str) -> list[Tok]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise KqlError("SyntaxError", f"Syntax error at position {pos}: {text[pos : pos + 20]!r}")
        pos = match.end()
        if match.group("datetime") is not None:
            out.append(Tok("datetime", parse_datetime(match.group("dtvalue"))))
        elif match.group("timespan") is not None:
            raw = match.group("timespan")
            unit = "ms" if raw.endswith("ms") else raw[-1]
            out.append(Tok("timespan", dt.timedelta(seconds=float(raw[: -len(unit)]) * _SPANS[unit])))
        elif match.group("number") is not None:
            raw = match.group("number")
            out.append(Tok("number", float(raw) if "." in raw else int(raw)))
        elif match.group("string") is not None:
            out.append(Tok("string", match.group("string")[1:-1]))
        elif match.group("ident") is not None:
            out.append(Tok("ident", match.group("ident")))
        else:
            out.append(Tok("op", match.group("op")))
    return out


def parse_datetime(text: str) -> dt.datetime:
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise KqlError("SyntaxError", f"Invalid datetime literal {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# ---- expressions ----------------------------------------------------------------------------------
Expr = Callable[[Row], Any]


class _Parser:
    def __init__(self, tokens: list[Tok], columns: Mapping[str, str]):
        self.tokens = tokens
        self.pos = 0
        self.columns = columns

    def peek(self, kind: str | None = None, value: Any = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        tok = self.tokens[self.pos]
        return (kind is None or tok.kind == kind) and (value is None or tok.value == value)

    def take(self, kind: str | None = None, value: Any = None) -> Tok:
        if not self.peek(kind, value):
            found = self.tokens[self.pos].value if self.pos < len(self.tokens) else "end of query"
            raise KqlError("SyntaxError", f"Syntax error: expected {value or kind}, found {found!r}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def column(self, name: str) -> str:
        if name not in self.columns:
            raise KqlError("SemanticError", f"Failed to resolve column or scalar expression named '{name}'")
        return name

    # predicate := and ('or' and)* ; and := cmp ('and' cmp)* ; cmp := primary (op primary)?
    def predicate(self) -> Expr:
        left = self.conjunction()
        while self.peek("ident", "or"):
            self.take()
            right, before = self.conjunction(), left
            left = lambda row, a=before, b=right: bool(a(row)) or bool(b(row))  # noqa: E731
        return left

    def conjunction(self) -> Expr:
        left = self.comparison()
        while self.peek("ident", "and"):
            self.take()
            right, before = self.comparison(), left
            left = lambda row, a=before, b=right: bool(a(row)) and bool(b(row))  # noqa: E731
        return left

    def comparison(self) -> Expr:
        left = self.primary()
        if self.peek("op") and self.tokens[self.pos].value in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take().value
            right = self.primary()
            return lambda row: _compare(op, left(row), right(row))
        return left

    def primary(self) -> Expr:
        if self.peek("op", "("):
            self.take()
            inner = self.predicate()
            self.take("op", ")")
            return inner
        tok = self.take()
        if tok.kind in ("number", "string", "datetime", "timespan"):
            return lambda row, v=tok.value: v
        if tok.kind == "ident":
            if tok.value in ("true", "false"):
                return lambda row, v=(tok.value == "true"): v
            if self.peek("op", "("):
                raise Unsupported(f"the simulator does not implement the KQL function '{tok.value}()' here")
            name = self.column(tok.value)
            return lambda row, n=name: row.get(n)
        raise KqlError("SyntaxError", f"Syntax error: unexpected {tok.value!r}")


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False  # a comparison with null is null, which where does not keep
    if isinstance(a, str) != isinstance(b, str):
        raise KqlError(
            "SemanticError", f"Cannot compare values of types {type(a).__name__} and {type(b).__name__}"
        )
    return {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


# ---- operators --------------------------------------------------------------------------------
_AGGREGATES = ("count", "countif", "sum", "max", "min")


def _aggregation(p: _Parser) -> tuple[str, str, Callable[[list[Row]], Any]]:
    """(output name, output type, function of the group's rows)."""
    name = None
    if p.peek("ident") and p.pos + 1 < len(p.tokens) and p.tokens[p.pos + 1] == Tok("op", "="):
        name = p.take().value
        p.take("op", "=")
    func = p.take("ident").value
    if func not in _AGGREGATES:
        raise Unsupported(f"the simulator does not implement the KQL aggregation function '{func}()'")
    p.take("op", "(")
    if func == "count":
        p.take("op", ")")
        return name or "count_", "long", len
    if func == "countif":
        pred = p.predicate()
        p.take("op", ")")
        return name or "countif_", "long", lambda rows: sum(1 for r in rows if pred(r))
    col = p.column(p.take("ident").value)
    p.take("op", ")")
    source = p.columns[col]
    kind = ("long" if source in ("int", "long") else source) if func == "sum" else source
    values = lambda rows: [r[col] for r in rows if r.get(col) is not None]  # noqa: E731
    if func == "sum":
        return name or f"sum_{col}", kind, lambda rows: sum(values(rows))
    pick = max if func == "max" else min
    return name or f"{func}_{col}", kind, lambda rows: pick(values(rows), default=None)


def _key(p: _Parser) -> tuple[str, str, Expr]:
    name = None
    if p.peek("ident") and p.pos + 1 < len(p.tokens) and p.tokens[p.pos + 1] == Tok("op", "="):
        name = p.take().value
        p.take("op", "=")
    ident = p.take("ident").value
    if p.peek("op", "("):
        if ident != "bin":
            raise Unsupported(f"the simulator does not implement the KQL function '{ident}()' in 'by'")
        p.take("op", "(")
        col = p.column(p.take("ident").value)
        p.take("op", ",")
        span = p.take("timespan").value
        p.take("op", ")")
        if p.columns[col] != "datetime":
            raise Unsupported("the simulator implements bin() over datetime columns only")
        return name or col, "datetime", lambda row: _bin(row.get(col), span)
    col = p.column(ident)
    return name or col, p.columns[col], lambda row: row.get(col)


def _bin(value: dt.datetime | None, span: dt.timedelta) -> dt.datetime | None:
    if value is None:
        return None
    steps = (value - _EPOCH) // span
    return _EPOCH + steps * span


def _summarize(p: _Parser, rows: list[Row]) -> tuple[list[Row], dict[str, str]]:
    aggs = [_aggregation(p)]
    while p.peek("op", ","):
        p.take()
        aggs.append(_aggregation(p))
    keys: list[tuple[str, str, Expr]] = []
    if p.peek("ident", "by"):
        p.take()
        keys.append(_key(p))
        while p.peek("op", ","):
            p.take()
            keys.append(_key(p))
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(fn(row) for _, _, fn in keys), []).append(row)
    if not keys and not groups:
        groups[()] = []  # summarize without keys answers one row, even over nothing
    columns = {name: kind for name, kind, _ in keys} | {name: kind for name, kind, _ in aggs}
    out = []
    for key, members in groups.items():
        record = {name: value for (name, _, _), value in zip(keys, key, strict=True)}
        record |= {name: fn(members) for name, _, fn in aggs}
        out.append(record)
    return out, columns


def evaluate(
    query: str, tables: Mapping[str, tuple[Mapping[str, str], Sequence[Row]]]
) -> tuple[list[Row], dict[str, str]]:
    """Run ``query`` over ``tables`` (name -> (column types, rows)); the result's rows and column
    types, in column order."""
    tokens = _tokens(query)
    if not tokens or tokens[0].kind != "ident":
        raise KqlError("SyntaxError", "A query starts with a table name")
    table = tokens[0].value
    if table not in tables:
        raise KqlError("SemanticError", f"Failed to resolve table or column expression named '{table}'")
    columns, source = tables[table]
    rows, types = [dict(r) for r in source], dict(columns)
    p = _Parser(tokens, types)
    p.pos = 1
    while p.pos < len(tokens):
        p.take("op", "|")
        operator = p.take("ident").value
        if operator == "where":
            predicate = p.predicate()
            rows = [r for r in rows if predicate(r) is True]
        elif operator == "summarize":
            rows, types = _summarize(p, rows)
            p.columns = types
        else:
            raise Unsupported(f"the simulator does not implement the KQL operator '{operator}'")
        if p.pos < len(tokens) and not p.peek("op", "|"):
            raise KqlError("SyntaxError", f"Syntax error: unexpected {tokens[p.pos].value!r}")
    return rows, types
