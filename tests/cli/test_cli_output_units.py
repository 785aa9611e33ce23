"""Pure functions of ``o365sql.cli.output``: display widths, cutting, formats, the progress line."""

from __future__ import annotations

import csv
import datetime
import io
import json

from cli_support import TTYText

from o365sql.cli.output import Progress, display_width, truncate, write_result

DESCRIPTION = [("Name", "VARCHAR"), ("N", "INTEGER"), ("When", "DATETIME"), ("Ok", "BOOLEAN")]
WHEN = datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.UTC)
ROWS = [("日本語のテキスト", 7, WHEN, True), ("Emoji 🎉", 12345, None, False),
        ("Cafe\u0301\nnew line", -1, WHEN, None)]


def test_widths_count_wide_and_combining_characters():
    assert display_width("Café") == 4 and display_width("Cafe\u0301") == 4
    assert display_width("会議室A") == 7
    assert display_width(truncate("会議室A の予約", 6)) <= 6
    assert truncate("abcdef", 0) == "abcdef"  # 0: no limit


def test_table_columns_line_up_in_display_width():
    out = io.StringIO()
    assert write_result(out, DESCRIPTION, ROWS, "table", max_width=10) == 3
    lines = out.getvalue().splitlines()
    assert lines[-1] == "(3 rows)"
    bars = set()
    for line in [lines[0], *lines[2:-1]]:
        width, cols = 0, []
        for i, char in enumerate(line):
            if line.startswith(" | ", i):
                cols.append(width)
            width += display_width(char)
        bars.add(tuple(cols))
    assert len(bars) == 1
    assert "\\n" in out.getvalue()  # a newline inside a value does not break the row
    assert "NULL" in lines[3] and "true" in lines[2] and "false" in lines[3]
    assert lines[2].split(" | ")[1] == "    7"  # numbers are right-aligned


def test_csv_and_json_keep_whole_values():
    out = io.StringIO()
    write_result(out, DESCRIPTION, ROWS, "csv", max_width=5)
    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert parsed[1] == ["日本語のテキスト", "7", WHEN.isoformat(), "true"]
    assert parsed[2][2] == ""  # NULL is an empty CSV field
    assert parsed[3][0] == "Cafe\u0301\nnew line"
    out = io.StringIO()
    write_result(out, DESCRIPTION, ROWS, "json")
    data = json.loads(out.getvalue())
    assert data[0] == {"Name": "日本語のテキスト", "N": 7, "When": WHEN.isoformat(), "Ok": True}
    assert data[1]["When"] is None and data[2]["Ok"] is None


def test_progress_draws_only_on_a_terminal():
    pages = iter(range(1, 100))
    tty = TTYText()
    progress = Progress(tty, lambda: next(pages), delay=0, interval=0)
    assert list(progress.track(iter(ROWS))) == ROWS
    assert "3 rows" in tty.getvalue() and "pages" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[2K")
    plain = io.StringIO()
    quiet = Progress(plain, lambda: 1, delay=0, interval=0)
    assert list(quiet.track(iter(ROWS))) == ROWS and plain.getvalue() == ""
    assert not quiet.enabled and quiet.rows == 3
