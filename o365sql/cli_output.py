"""Command line, last stage: turns a result set (``description`` + rows) into text.

The CLI (``cli.py``) and the shell (``cli_shell.py``) hand every result here. Three formats:
an aligned table (display widths counted per character, so CJK text and emoji line up; long
values cut to ``max_width`` with an ellipsis), CSV (the ``csv`` module, full values) and JSON
(an array, or one object per line with ``jsonl``; datetimes in ISO 8601). It also holds the
progress line shown on stderr during long scans, only when stderr is a terminal.
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import json
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

__all__ = [
    "FORMATS",
    "Progress",
    "cell_text",
    "display_width",
    "json_value",
    "truncate",
    "write_result",
]

#: Output formats ``-f``/``.format`` accept.
FORMATS = ("table", "csv", "json", "jsonl")

_ELLIPSIS = "…"
# Control characters would break the table's lines: shown as visible escapes instead.
_CONTROL = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (East Asian W/F) characters take two,
    combining marks none.

    Example:
        >>> display_width("abc"), display_width("日本"), display_width("e\\u0301")
        (3, 4, 1)
    """
    width = 0
    for char in text:
        if unicodedata.combining(char) or char == "\u200d":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, max_width: int | None) -> str:
    """Cut ``text`` to at most ``max_width`` display columns, ending in ``…`` when cut.

    Example:
        >>> truncate("Quarterly report", 10), truncate("日本語のテキスト", 7), truncate("ok", 10)
        ('Quarterly…', '日本語…', 'ok')
    """
    if max_width is None or max_width <= 0 or display_width(text) <= max_width:
        return text
    budget = max_width - 1  # room for the ellipsis
    out: list[str] = []
    used = 0
    for char in text:
        w = display_width(char)
        if used + w > budget:
            break
        out.append(char)
        used += w
    return "".join(out) + _ELLIPSIS


def cell_text(value: Any) -> str:
    """How one value reads in the table and in CSV: NULL for None, ISO for datetimes,
    ``true``/``false`` for booleans (SQL's spelling), base64 for bytes."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def json_value(value: Any) -> Any:
    """A value JSON can hold: ISO text for datetimes, base64 for bytes, str for Decimal."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _names(description: Sequence[Sequence[Any]]) -> list[str]:
    return [str(d[0]) for d in description]


def write_result(
    out: IO[str],
    description: Sequence[Sequence[Any]],
    rows: Iterable[Sequence[Any]],
    fmt: str = "table",
    *,
    max_width: int | None = 40,
) -> int:
    """Write a result set to ``out`` in ``fmt``; return the number of rows written.

    CSV and JSON Lines stream row by row; the table and the JSON array need every row first
    (column widths, and a closing bracket only after the last row).
    """
    names = _names(description)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        count = 0
        for row in rows:
            writer.writerow(["" if v is None else cell_text(v) for v in row])
            count += 1
        return count
    if fmt == "jsonl":
        count = 0
        for row in rows:
            out.write(_json_object(names, row) + "\n")
            count += 1
        return count
    if fmt == "json":
        count = 0
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + _json_object(names, row))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    if fmt == "table":
        materialised = list(rows)
        for line in _table_lines(names, materialised, max_width):
            out.write(line + "\n")
        noun = "row" if len(materialised) == 1 else "rows"
        out.write(f"({len(materialised)} {noun})\n")
        return len(materialised)
    raise ValueError(f"unknown output format {fmt!r}; one of {', '.join(FORMATS)}")


def _json_object(names: list[str], row: Sequence[Any]) -> str:
    return json.dumps({n: json_value(v) for n, v in zip(names, row)}, ensure_ascii=False)


def _table_lines(names: list[str], rows: list[Sequence[Any]], max_width: int | None
                 ) -> Iterator[str]:
    cells = [[truncate(cell_text(v).translate(_CONTROL), max_width) for v in row] for row in rows]
    header = [truncate(n, max_width) for n in names]
    widths = [display_width(h) for h in header]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], display_width(text))
    numeric = [
        bool(rows) and all(isinstance(r[i], (int, float, decimal.Decimal))
                           and not isinstance(r[i], bool) for r in rows if r[i] is not None)
        and any(r[i] is not None for r in rows)
        for i in range(len(names))
    ]

    def line(texts: list[str]) -> str:
        parts = []
        for i, text in enumerate(texts):
            pad = " " * (widths[i] - display_width(text))
            parts.append(pad + text if numeric[i] else text + pad)
        return " | ".join(parts).rstrip()

    yield line(header)
    yield "-+-".join("-" * w for w in widths)
    for row in cells:
        yield line(row)


class Progress:
    """``rows, pages`` on one self-overwriting stderr line while a long scan runs.

    Shown only when ``stream.isatty()``: piped or redirected stderr (scripts, CI logs) never
    gets carriage returns. Updates are throttled to a few per second, and nothing is shown
    for scans that finish within ``delay`` seconds.
    """

    def __init__(self, stream: IO[str], pages: Any = None, *, delay: float = 0.5,
                 interval: float = 0.2) -> None:
        self._stream = stream
        self._pages = pages  # a callable returning pages fetched so far, or None
        self._enabled = bool(getattr(stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._delay = delay
        self._interval = interval
        self._last = 0.0
        self._shown = False
        self.rows = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    def track(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """Pass rows through, counting them and refreshing the progress line."""
        try:
            for row in rows:
                self.rows += 1
                if self._enabled:
                    self._tick()
                yield row
        finally:
            self.finish()

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._start < self._delay or now - self._last < self._interval:
            return
        self._last = now
        pages = self._pages() if self._pages is not None else None
        text = f"{self.rows} rows" + (f", {int(pages)} pages" if pages is not None else "")
        self._stream.write(f"\r\x1b[2K{text} ({now - self._start:.1f} s)")
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        """Erase the progress line (if one was drawn)."""
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False
