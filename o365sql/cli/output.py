"""Command line, last stage: turns a result set (``description`` + rows) into text.

The CLI (``main``) and the shell (``shell``) hand every result here. The formats: an aligned
table (display widths counted per character, so CJK text and emoji line up; long values cut to
``max_width`` with an ellipsis), ``vertical`` (one ``column | value`` line per column and a
``-[ RECORD n ]`` header per row, psql's expanded display), ``markdown`` (a GitHub table), CSV
(the ``csv`` module, full values; NULL written as ``null_text``, empty by default as
``psql --csv`` does) and JSON (an array, or one object per line with ``jsonl``; datetimes in ISO
8601; collection columns, typed ``JSON``, as JSON arrays and objects). It also holds the
progress line shown on stderr during long statements, only when stderr is a terminal, and
erased before any row is written.
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import json
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, Self, cast

__all__ = [
    "FORMATS",
    "Progress",
    "cell_text",
    "display_width",
    "error_text",
    "json_value",
    "table_lines",
    "truncate",
    "vertical_lines",
    "write_result",
]

#: Output formats ``-f``/``.format`` accept.
FORMATS = ("table", "vertical", "markdown", "csv", "json", "jsonl")

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


def json_value(value: Any, type_code: Any = None) -> Any:
    """A value JSON can hold: ISO text for datetimes, base64 for bytes, str for Decimal; the
    JSON text of a ``JSON``-typed column (a collection) as the array or object it holds.

    Example:
        >>> json_value('[{"a": 1}]', "JSON"), json_value('[1]', "VARCHAR")
        ([{'a': 1}], '[1]')
    """
    if isinstance(value, str) and str(type_code or "").upper() == "JSON":
        try:
            return json.loads(value)
        except ValueError:
            return value  # not JSON after all (a computed column): keep the text
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


_CARET_LINE = re.compile(r"^ *\^+ *$")


def error_text(message: str) -> str:
    """An error message as the CLI prints it: one line, except that a syntax error keeps the
    statement line and the caret under it (the last two lines of its message) beneath it.

    Example:
        >>> error_text("SQL syntax error at line 1, column 1: x\\n  SELEC 1\\n  ^^^^^")
        'SQL syntax error at line 1, column 1: x\\n  SELEC 1\\n  ^^^^^'
        >>> error_text("unknown table\\n   'Mesages'")
        "unknown table 'Mesages'"
    """
    lines = message.split("\n")
    if len(lines) >= 3 and _CARET_LINE.match(lines[-1]):
        head = " ".join(" ".join(lines[:-2]).split())
        return "\n".join([head, lines[-2].rstrip(), lines[-1].rstrip()])
    return " ".join(message.split())


def _names(description: Sequence[Sequence[Any]]) -> list[str]:
    return [str(d[0]) for d in description]


def write_result(
    out: IO[str],
    description: Sequence[Sequence[Any]],
    rows: Iterable[Sequence[Any]],
    fmt: str = "table",
    *,
    max_width: int | None = 40,
    null_text: str | None = None,
    fit_width: int | None = None,
) -> int:
    """Write a result set to ``out`` in ``fmt``; return the number of rows written.

    ``null_text`` is how NULL reads in the text formats (default: ``NULL`` in the table,
    vertical and markdown formats, nothing in CSV as with ``psql --csv``; give it, e.g. ``\\N``,
    to tell NULL from an empty string in CSV). With ``fit_width`` (the shell's ``\\x auto``), a
    table wider than that many columns is written in the vertical format instead. CSV, JSON Lines and vertical stream row by row;
    the table, markdown and the JSON array need every row first (column widths, and a closing
    bracket only after the last row).
    """
    names = _names(description)
    types = [d[1] if len(d) > 1 else None for d in description]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        null = "" if null_text is None else null_text
        count = 0
        for row in rows:
            writer.writerow([null if v is None else cell_text(v) for v in row])
            count += 1
        return count
    if fmt == "jsonl":
        count = 0
        for row in rows:
            out.write(_json_object(names, types, row) + "\n")
            count += 1
        return count
    if fmt == "json":
        count = 0
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + _json_object(names, types, row))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    if fmt == "vertical":
        count = 0
        for count, row in enumerate(rows, 1):
            for line in vertical_lines(names, row, count, max_width, null_text):
                out.write(line + "\n")
        out.write(_row_count(count))
        return count
    if fmt in ("table", "markdown"):
        materialised = list(rows)
        if fmt == "table" and fit_width and materialised:
            wide = table_lines(names, materialised, max_width, null_text)
            if max(display_width(line) for line in wide) > fit_width:
                return write_result(out, description, materialised, "vertical",
                                    max_width=max_width, null_text=null_text)
        lines = (_table_lines(names, materialised, max_width, null_text) if fmt == "table"
                 else _markdown_lines(names, materialised, null_text))
        for line in lines:
            out.write(line + "\n")
        if fmt == "table":
            out.write(_row_count(len(materialised)))
        return len(materialised)
    raise ValueError(f"unknown output format {fmt!r}; one of {', '.join(FORMATS)}")


def _row_count(count: int) -> str:
    return f"({count} {'row' if count == 1 else 'rows'})\n"


def _json_object(names: list[str], types: list[Any], row: Sequence[Any]) -> str:
    return json.dumps({n: json_value(v, t) for n, t, v in zip(names, types, row)},
                      ensure_ascii=False)


def _shown(value: Any, null_text: str | None) -> str:
    if value is None:
        return "NULL" if null_text is None else null_text
    return cell_text(value).translate(_CONTROL)


def vertical_lines(names: list[str], row: Sequence[Any], number: int, max_width: int | None,
                   null_text: str | None = None) -> list[str]:
    """One record in psql's expanded display: a ``-[ RECORD n ]`` rule, then ``name | value``.

    Example:
        >>> vertical_lines(["Id", "Subject"], (7, "Hello, world"), 1, None)
        ['-[ RECORD 1 ]---------', 'Id      | 7', 'Subject | Hello, world']
    """
    width = max((display_width(n) for n in names), default=0)
    values = [truncate(_shown(v, null_text), max_width) for v in row]
    value_width = max((display_width(v) for v in values), default=0)
    head = f"-[ RECORD {number} ]"
    lines = [head + "-" * max(width + 3 + value_width - len(head), 0)]
    for name, value in zip(names, values):
        lines.append((name + " " * (width - display_width(name)) + " | " + value).rstrip())
    return lines


def _markdown_lines(names: list[str], rows: list[Sequence[Any]], null_text: str | None
                    ) -> Iterator[str]:
    """A GitHub-flavoured markdown table; ``|`` escaped, numbers aligned right."""

    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    numeric = _numeric_columns(len(names), rows)
    yield "| " + " | ".join(cell(n) for n in names) + " |"
    yield "|" + "|".join("---:" if num else "---" for num in numeric) + "|"
    for row in rows:
        yield "| " + " | ".join(cell(_shown(v, null_text)) for v in row) + " |"


def _numeric_columns(count: int, rows: list[Sequence[Any]]) -> list[bool]:
    return [
        bool(rows) and all(isinstance(r[i], (int, float, decimal.Decimal))
                           and not isinstance(r[i], bool) for r in rows if r[i] is not None)
        and any(r[i] is not None for r in rows)
        for i in range(count)
    ]


def table_lines(names: list[str], rows: list[Sequence[Any]], max_width: int | None,
                null_text: str | None = None) -> list[str]:
    """The aligned table's lines (header, rule, rows), without the row count."""
    return list(_table_lines(names, rows, max_width, null_text))


def _table_lines(names: list[str], rows: list[Sequence[Any]], max_width: int | None,
                 null_text: str | None = None) -> Iterator[str]:
    cells = [[truncate(_shown(v, null_text), max_width) for v in row] for row in rows]
    header = [truncate(n, max_width) for n in names]
    widths = [display_width(h) for h in header]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], display_width(text))
    numeric = _numeric_columns(len(names), rows)

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
    """``rows, pages`` on one self-overwriting stderr line while a long statement runs.

    Shown only when ``stream.isatty()``: piped or redirected stderr (scripts, CI logs) never
    gets carriage returns. Nothing is shown for statements that finish within ``delay``
    seconds; updates come at most every ``interval`` seconds. ``track`` counts rows as they
    pass; ``start`` adds a ticker thread that redraws the line while no row comes (a sorted
    or grouped result fetches every page before its first row), with the page count read
    from the Graph client's statistics. Rows must be written through ``guard(out)``: it
    erases the line before each write, and when ``out`` is the same terminal as ``stream``
    it stops the progress for good at the first row (the rows show the progress then).
    """

    def __init__(self, stream: IO[str], pages: Any = None, *, delay: float = 0.5,
                 interval: float = 0.2) -> None:
        self._stream = stream
        self._pages = pages  # a callable returning pages fetched so far, or None
        self._enabled = _isatty(stream)
        self._start = time.monotonic()
        self._delay = delay
        self._interval = interval
        self._last = 0.0
        self._shown = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.rows = 0

    @property
    def enabled(self) -> bool:
        return self._enabled and not self._stopped.is_set()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def start(self) -> None:
        """Redraw the line every ``interval`` seconds (after ``delay``) until ``finish``."""
        self._start = time.monotonic()
        if self._enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="o365sql-progress",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        if self._stopped.wait(self._delay):
            return
        while True:
            self._draw(time.monotonic())
            if self._stopped.wait(max(self._interval, 0.05)):
                return

    def track(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """Pass rows through, counting them and refreshing the progress line."""
        try:
            for row in rows:
                self.rows += 1
                if self.enabled:
                    self._tick()
                yield row
        finally:
            self.finish()

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._start < self._delay or now - self._last < self._interval:
            return
        self._draw(now)

    def _draw(self, now: float) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            self._last = now
            pages = self._pages() if self._pages is not None else None
            text = f"{self.rows} rows" + (f", {int(pages)} pages" if pages is not None else "")
            self._stream.write(f"\r\x1b[2K{text} ({now - self._start:.1f} s)")
            self._stream.flush()
            self._shown = True

    def _erase(self) -> None:  # with self._lock held
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False

    def guard(self, out: IO[str]) -> IO[str]:
        """``out`` wrapped so that the progress line never mixes with what is written to it."""
        if not self._enabled:
            return out
        return cast(IO[str], _Guarded(out, self, _same_terminal(out, self._stream)))

    def finish(self) -> None:
        """Stop the ticker and erase the progress line (if one was drawn)."""
        with self._lock:
            self._stopped.set()
            self._erase()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()


class _Guarded:
    """A text stream in front of stdout that erases the progress line before each write."""

    def __init__(self, out: IO[str], progress: Progress, same_terminal: bool) -> None:
        self._out = out
        self._progress = progress
        self._same = same_terminal

    def write(self, text: str) -> int:
        progress = self._progress
        with progress._lock:
            progress._erase()
            if self._same:
                progress._stopped.set()  # rows on the same terminal: no more progress line
            return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _same_terminal(out: IO[str], err: IO[str]) -> bool:
    """True when ``out`` and ``err`` write to the same terminal (so their lines mix)."""
    if out is err:
        return True
    if not (_isatty(out) and _isatty(err)):
        return False
    try:
        a, b = os.fstat(out.fileno()), os.fstat(err.fileno())
    except (AttributeError, OSError, ValueError):
        return False  # not real terminals (test doubles): only the same object counts
    return (a.st_dev, a.st_ino, a.st_rdev) == (b.st_dev, b.st_ino, b.st_rdev)
