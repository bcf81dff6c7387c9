"""Typed FHIR values shared by the search parser and the indexer.

Both sides of a comparison are normalised here, the same way:

* **Dates are ranges.** Every FHIR date, dateTime or instant denotes the half-open interval
  ``[low, high)`` of instants it covers at its written precision: ``2020`` is
  ``[2020-01-01T00:00Z, 2021-01-01T00:00Z)``, ``2020-03-04T10:00:05Z`` is one second wide.
  Ranges are kept as integer **microseconds since the Unix epoch, UTC**, so every engine compares
  them as plain integers. A value without a timezone (all dates, and dateTimes written without
  an offset) is read as **UTC**: the specification leaves "local time" to the server, and a
  fixed rule keeps answers identical on every engine and machine.
* **Numbers carry their precision.** ``100`` means ``[99.5, 100.5)``, ``100.0`` means
  ``[99.95, 100.05)``, ``1e2`` means ``[50, 150)`` (R4 search, "number").
* **Strings fold.** The default string match is case- and accent-insensitive: :func:`fold`
  lowercases (Unicode casefold), strips combining marks after NFKD decomposition, maps the
  Latin letters that do not decompose to their base letters (``ł`` → ``l``, ``ø`` → ``o``,
  ``đ`` → ``d``, ``æ`` → ``ae``, ``þ`` → ``th``; ``ß`` casefolds to ``ss``: see
  :data:`UNDECOMPOSED`) and collapses white space. ``:exact`` compares the text as written.
  Folding happens in Python on both sides (index rows and query values), so every engine
  answers alike; stores indexed before a change of :func:`fold` need a reindex.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from enum import IntEnum

__all__ = [
    "UNDECOMPOSED",
    "DatePrecision",
    "DateRange",
    "NumberRange",
    "fold",
    "parse_date",
    "parse_number",
    "to_micros",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the widest range any date can have: year 1 to year 9999 (inclusive)
MIN_MICROS = -62135596800000000
MAX_MICROS = 253402300800000000
#: the digits of a number lie within 10^±MAX_NUMBER_EXPONENT, so every exact index column
#: holds it (a PostgreSQL btree entry holds about 2.7 kB: some 5,000 NUMERIC digits)
MAX_NUMBER_EXPONENT = 1_000


class DatePrecision(IntEnum):
    """How much of a date was written."""

    YEAR = 1
    MONTH = 2
    DAY = 3
    MINUTE = 4
    SECOND = 5
    FRACTION = 6


@dataclass(frozen=True, slots=True)
class DateRange:
    """``[low, high)`` in microseconds since the epoch, UTC, and the written precision."""

    low: int
    high: int
    precision: DatePrecision
    text: str

    @property
    def low_datetime(self) -> datetime:
        return EPOCH + timedelta(microseconds=self.low)

    @property
    def high_datetime(self) -> datetime:
        if self.high >= MAX_MICROS:
            return datetime.max.replace(tzinfo=UTC)
        return EPOCH + timedelta(microseconds=self.high)

    def contains(self, micros: int) -> bool:
        return self.low <= micros < self.high


_DATE_RE = re.compile(
    r"""
    (?P<year>\d{4})
    (?:-(?P<month>\d{2})
      (?:-(?P<day>\d{2})
        (?:T(?P<hour>\d{2}):(?P<minute>\d{2})
          (?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?
          (?P<tz>Z|[+-]\d{2}:\d{2})?
        )?
      )?
    )?
    """,
    re.VERBOSE,
)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware (or UTC-assumed naive) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def parse_date(text: str) -> DateRange:
    """Parse a FHIR date, dateTime or instant into the range it denotes.

    Raises ``ValueError`` with a readable message for anything else.
    """
    match = _DATE_RE.fullmatch(text)
    if match is None:
        expected = "YYYY[-MM[-DD[Thh:mm[:ss[.f]][tz]]]]"
        raise ValueError(f"{text!r} is not a FHIR date (expected {expected})")
    parts = match.groupdict()
    year = int(parts["year"])
    month = int(parts["month"] or 1)
    day = int(parts["day"] or 1)
    hour = int(parts["hour"] or 0)
    minute = int(parts["minute"] or 0)
    second = int(parts["second"] or 0)
    fraction = parts["fraction"] or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    try:
        start = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        if year == 0:
            raise ValueError("year 0")
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not a valid date: {exc}") from None
    tz = parts["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        if hours > 14 or minutes > 59:
            raise ValueError(f"{text!r} has an invalid timezone offset {tz}")
        try:
            start -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            raise ValueError(f"{text!r} is outside the representable date range") from None
    if parts["month"] is None:
        precision = DatePrecision.YEAR
        low = to_micros(start)
        high = to_micros(start.replace(year=year + 1)) if year < 9999 else MAX_MICROS
    elif parts["day"] is None:
        precision = DatePrecision.MONTH
        ny, nm = _add_months(year, month, 1)
        low = to_micros(start)
        high = MAX_MICROS if ny > 9999 else to_micros(datetime(ny, nm, 1, tzinfo=UTC))
    elif parts["hour"] is None:
        precision = DatePrecision.DAY
        low = to_micros(start)
        high = low + 86_400_000_000
    elif parts["second"] is None:
        precision = DatePrecision.MINUTE
        low = to_micros(start)
        high = low + 60_000_000
    elif not fraction:
        precision = DatePrecision.SECOND
        low = to_micros(start)
        high = low + 1_000_000
    else:
        precision = DatePrecision.FRACTION
        low = to_micros(start)
        high = low + max(1, 10 ** (6 - min(len(fraction), 6)))
    return DateRange(low, high, precision, text)


@dataclass(frozen=True, slots=True)
class NumberRange:
    """A decimal as written, and the interval its precision implies: ``[low, high)``."""

    value: Decimal
    low: Decimal
    high: Decimal
    text: str


def parse_number(text: str) -> NumberRange:
    """Parse a FHIR decimal/integer; the range is ± half a unit of the last written digit."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite() or not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        raise ValueError(f"{text!r} is not a number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MAX_NUMBER_EXPONENT or value.adjusted() > MAX_NUMBER_EXPONENT:
        raise ValueError(f"{text!r} is outside the supported number range (10^±1000)")
    # exact arithmetic: the default 28-digit context would round long values' bounds away
    try:
        with localcontext() as ctx:
            ctx.prec = len(value.as_tuple().digits) + 2
            half = Decimal(5).scaleb(exponent - 1)
            return NumberRange(value, value - half, value + half, text)
    except ArithmeticError:
        raise ValueError(f"{text!r} is outside the supported number range") from None


_SPACE_RE = re.compile(r"\s+")


def _undecomposed() -> dict[int, str]:
    """Latin letters without a canonical decomposition, mapped to their base letters: every
    ``LATIN ... LETTER X WITH <stroke, hook, bar, curl, ...>`` to ``x``, plus the ligatures
    and letters named below. Derived from the Unicode character names, not listed by hand."""
    named = {"AE": "ae", "OE": "oe", "ETH": "d", "THORN": "th", "DOTLESS I": "i",
             "DOTLESS J": "j", "SHARP S": "ss"}  # fmt: skip
    with_re = re.compile(r"LATIN (?:SMALL|CAPITAL) (?:LETTER|LIGATURE) ([A-Z]{1,2}) WITH ")
    plain_re = re.compile(r"LATIN (?:SMALL|CAPITAL) (?:LETTER|LIGATURE) (.+)")
    table: dict[int, str] = {}
    blocks = (
        range(0xC0, 0x2B0),
        range(0x1E00, 0x1F00),
        range(0x2C60, 0x2C80),
        range(0xA720, 0xA800),
    )
    for cp in (c for block in blocks for c in block):
        ch = chr(cp)
        if unicodedata.decomposition(ch) or not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        match = with_re.match(name)
        if match is not None:
            table[cp] = match.group(1).lower()
        elif (plain := plain_re.match(name)) is not None and plain.group(1) in named:
            table[cp] = named[plain.group(1)]
    for cp, base in list(table.items()):  # both cases alike, even where their names differ
        for other in (chr(cp).lower(), chr(cp).upper()):
            if len(other) == 1 and not unicodedata.decomposition(other):
                table.setdefault(ord(other), base)
    return table


#: code point → replacement of the Latin letters NFKD leaves alone (``ł``, ``ø``, ``æ``, ...)
UNDECOMPOSED: dict[int, str] = _undecomposed()


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a string (default and ``:contains`` matching)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE_RE.sub(" ", stripped.translate(UNDECOMPOSED).casefold()).strip()
