"""``lowBoundary()`` / ``highBoundary()`` (FHIRPath 3.0) on decimals, dates, dateTimes, times.

* decimal: half a unit of the last written digit either way (``1.587`` → 1.5865 / 1.5875);
  DuckDB keeps no trailing zeros of JSON numbers (``1.50`` reads as ``1.5``), PostgreSQL and
  SQLite keep the written text.
* date: the first / last day of the written precision (``2010-10`` → ``2010-10-01`` /
  ``2010-10-31``).
* dateTime / instant: the first / last millisecond of the written precision; without a
  timezone the earliest (``+14:00``) / latest (``-12:00``) offset is assumed.
* time: the first / last millisecond (``10:30`` → ``10:30:00.000`` / ``10:30:59.999``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from helios_persistence.views.lower import Coll

if TYPE_CHECKING:
    from helios_persistence.views.lower import Lowerer

__all__ = ["boundary"]


def _s(text: str) -> exp.Expr:
    return exp.Literal.string(text)


def _n(value: int) -> exp.Expr:
    return exp.Literal.number(value)


def _cat(*parts: exp.Expr) -> exp.Expr:
    out = parts[0]
    for part in parts[1:]:
        out = exp.DPipe(this=out, expression=part)
    return out


def _case(subject: exp.Expr, cases: list[tuple[int, exp.Expr]], default: exp.Expr) -> exp.Expr:
    length = exp.Length(this=subject)
    ifs = [exp.If(this=exp.EQ(this=length.copy(), expression=_n(n)), true=v) for n, v in cases]
    return exp.Case(ifs=ifs, default=default)


def _date(lw: Lowerer, s: exp.Expr, high: bool) -> exp.Expr:
    if high:
        return _case(s, [(4, _cat(s, _s("-12-31"))), (7, lw.d.op("month_end", s))], s)
    return _case(s, [(4, _cat(s, _s("-01-01"))), (7, _cat(s, _s("-01")))], s)


def _substr(s: exp.Expr, start: int, length: int | None = None) -> exp.Expr:
    return exp.Substring(this=s, start=_n(start), length=_n(length) if length else None)


def _date_time(lw: Lowerer, s: exp.Expr, high: bool) -> exp.Expr:
    date_part = _date(lw, _substr(s, 1, 10), high)
    has_time = exp.GT(this=exp.Length(this=s), expression=_n(10))
    time_text = _substr(s, 12)
    # the time text up to its zone: 'hh:mm:ss[.fff]' then 'Z' / '+hh:mm' / '-hh:mm' / nothing
    zone_at = exp.Greatest(
        this=lw.d.op("strpos", time_text, _s("Z")),
        expressions=[lw.d.op("strpos", time_text, _s("+")), lw.d.op("strpos", time_text, _s("-"))],
    )
    clock = exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=zone_at, expression=_n(0)),
                true=exp.Substring(
                    this=time_text.copy(),
                    start=_n(1),
                    length=exp.Sub(this=zone_at.copy(), expression=_n(1)),
                ),
            )
        ],
        default=time_text.copy(),
    )
    zone = exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=zone_at.copy(), expression=_n(0)),
                true=exp.Substring(this=time_text.copy(), start=zone_at.copy()),
            )
        ],
        default=_s("-12:00" if high else "+14:00"),
    )
    filled = _time(clock, high)
    with_time = _cat(date_part.copy(), _s("T"), filled, zone)
    without_time = _cat(date_part, _s("T23:59:59.999-12:00" if high else "T00:00:00.000+14:00"))
    return exp.Case(ifs=[exp.If(this=has_time, true=with_time)], default=without_time)


def _time(s: exp.Expr, high: bool) -> exp.Expr:
    fill = (
        {2: ":59:59.999", 5: ":59.999", 8: ".999"}
        if high
        else {2: ":00:00.000", 5: ":00.000", 8: ".000"}
    )
    return _case(s, [(n, _cat(s.copy(), _s(v))) for n, v in fill.items()], s.copy())


def _decimal(lw: Lowerer, one: Coll, high: bool) -> exp.Expr:
    text = (
        lw.typed(one, "text")
        if one.kind == "json"
        else exp.Cast(this=one.value, to=exp.DataType.build("TEXT"))
    )
    dot = lw.d.op("strpos", text, _s("."))
    places = exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=dot, expression=_n(0)),
                true=exp.Sub(this=exp.Length(this=text.copy()), expression=dot.copy()),
            )
        ],
        default=_n(0),
    )
    number = exp.DataType.build(lw.d.numeric_type())
    half = exp.Div(
        this=exp.Cast(this=exp.Literal.number("0.5"), to=number),
        expression=exp.Pow(this=exp.Cast(this=_n(10), to=number), expression=places),
    )
    value = exp.Cast(this=text.copy(), to=number)
    return exp.Add(this=value, expression=half) if high else exp.Sub(this=value, expression=half)


def boundary(lw: Lowerer, one: Coll, *, high: bool) -> Coll:
    kind = one.type
    if kind in ("decimal", "integer"):
        return Coll(_decimal(lw, one, high), "sql", "decimal")
    text = lw.typed(one, "text")
    if kind == "date":
        return Coll(_date(lw, text, high), "sql", "date")
    if kind in ("dateTime", "instant"):
        return Coll(_date_time(lw, text, high), "sql", "dateTime")
    if kind == "time":
        return Coll(_time(text, high), "sql", "time")
    raise lw.fail(
        f"{'highBoundary' if high else 'lowBoundary'}() needs a decimal, date, dateTime or time "
        f"(here: {kind or 'an unknown type'})",
        not_supported=True,
    )
