"""Command line, interactive part: the ``o365sql shell`` read-eval-print loop.

Stage: entry point (as ``main``). It reads statements that may span lines and end with
``;``, hands each to ``CliContext.run_statement`` (which prints through ``output``), and
handles meta commands (``.tables``, ``.describe T``, ``.explain SQL``, ``.format csv``, ...).
With a terminal it uses prompt_toolkit when the ``shell`` extra is installed (``prompt.py``:
highlighting and completion as you type), else the stdlib ``readline``: a history file (``~/.o365sql_history``, or
``$O365SQL_HISTORY``) where a multi-line statement is one entry, and tab completion of SQL
keywords, table and column names, also of tables named later in the statement (``complete()``
is a pure function, so it is tested without a terminal; a second Tab lists the candidates). Without a terminal
(a pipe, a here-document) it reads stdin quietly, without prompts, like ``sqlite3``.

What psql, litecli and duckdb users reach for works next to the dot-commands: ``\\d [NAME]``,
``\\dt``, ``\\df``, ``\\?``, ``\\q``; ``\\x on|off|auto`` (vertical display; auto when a table is
wider than the terminal) and ``\\G`` ending a statement; a pager for results longer or wider than
the screen (``$PAGER``, ``less -S`` by default; ``\\pset pager off`` or ``.pager off``);
``\\timing``; ``\\o FILE``/``.output FILE`` and ``\\i FILE``/``.read FILE``. A ``-- comment`` after
the last ``;`` of a line does not leave a continuation prompt.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

import o365sql
from o365sql.cli.output import FORMATS, display_width, error_text

if TYPE_CHECKING:
    from o365sql.catalog import Catalog
    from o365sql.cli.context import CliContext

__all__ = [
    "BACKSLASH_COMMANDS",
    "META_COMMANDS",
    "SQL_KEYWORDS",
    "Shell",
    "complete",
    "split_statements",
    "statement_complete",
]

PROMPT = "o365sql> "
CONTINUATION = "   ...> "

#: Meta commands and their help lines.
META_COMMANDS: dict[str, str] = {
    ".help": "this list (also \\?)",
    ".tables": "list tables, views and the sys_* tables (also \\d, \\dt)",
    ".describe": ".describe TABLE: its columns, types, filters Graph evaluates, flags (\\d TABLE)",
    ".explain": ".explain SELECT ...: the Graph requests the query would send",
    ".procedures": "list stored procedures (also \\df)",
    ".format": ".format " + "|".join(FORMATS) + ": how rows are printed",
    ".expanded": ".expanded on|off|auto: vertical display, one line per column (\\x)",
    ".pager": ".pager on|off|COMMAND: page long results ($PAGER, else less -S)",
    ".nullvalue": ".nullvalue TEXT: how NULL is shown (\\pset null TEXT)",
    ".timer": ".timer on|off: show how long each statement took (\\timing)",
    ".output": ".output [FILE]: write results to FILE; none: to the screen again (\\o)",
    ".read": ".read FILE: run the statements and commands in FILE (\\i FILE)",
    ".maxwidth": ".maxwidth N: cut table cells to N characters (0: no limit)",
    ".quit": "leave the shell (also .exit, \\q or Ctrl-D)",
    ".exit": "leave the shell",
}

#: psql's backslash commands the shell knows, and what each does.
BACKSLASH_COMMANDS: dict[str, str] = {
    "\\?": "this list",
    "\\d": "\\d: list tables; \\d NAME: describe a table",
    "\\dt": "list tables and views",
    "\\df": "list stored procedures",
    "\\x": "\\x [on|off|auto]: vertical display (no argument: toggle)",
    "\\G": "end a statement with \\G instead of ';' to show its rows vertically",
    "\\pset": "\\pset pager on|off, \\pset null TEXT, \\pset format FORMAT",
    "\\timing": "\\timing [on|off]: show how long each statement took",
    "\\o": "\\o [FILE]: write results to FILE (no argument: to the screen again)",
    "\\i": "\\i FILE: run the statements and commands in FILE",
    "\\q": "leave the shell",
}
_BACKSLASH_ALIASES = {"\\?": ".help", "\\dt": ".tables", "\\df": ".procedures", "\\q": ".quit",
                      "\\x": ".expanded", "\\timing": ".timer", "\\o": ".output", "\\i": ".read"}
# A statement ended by one of these instead of ';' shows its rows vertically (\g: as usual).
_TERMINATORS = {"\\g": False, "\\G": True, "\\gx": True}
_ON_OFF = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}

#: Keywords offered by tab completion (the SQL subset o365sql runs).
SQL_KEYWORDS = (
    "SELECT", "DISTINCT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE",
    "BETWEEN", "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING",
    "LIMIT", "OFFSET", "AS", "JOIN", "INNER", "LEFT", "OUTER", "ON", "UNION", "ALL", "CASE",
    "WHEN", "THEN", "ELSE", "END", "COUNT", "SUM", "MIN", "MAX", "AVG", "COALESCE", "EXPLAIN",
    "EXEC", "EXECUTE", "TRUE", "FALSE", "CAST",
)
# After these words a table name comes next.
_TABLE_CONTEXT = {"from", "join", "into", "update", "table", ".describe", "\\d", "exec", "execute"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ------------------------------------------------------------------ statement boundaries
def _scan(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(index, char)`` of characters outside strings, quoted names and comments."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"[`":
            close = "]" if char == "[" else char
            i += 1
            while i < n:
                if text[i] == close:
                    if close != "]" and i + 1 < n and text[i + 1] == close:  # doubled quote
                        i += 2
                        continue
                    break
                i += 1
            i += 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        yield i, char
        i += 1


def split_statements(text: str) -> tuple[list[str], str]:
    """Split ``text`` at ``;`` (or ``\\G``, ``\\g``) outside strings and comments.

    Returns the complete statements (without the ``;``, stripped, empty ones dropped) and the
    unfinished rest.

    Example:
        >>> split_statements("SELECT 'a;b' FROM T; SELECT 2;\\nSELECT")
        (["SELECT 'a;b' FROM T", 'SELECT 2'], '\\nSELECT')
    """
    done, rest = split_terminated(text)
    return [statement for statement, _ in done], rest


def split_terminated(text: str) -> tuple[list[tuple[str, bool]], str]:
    """Like ``split_statements``, each statement with True when ``\\G`` (or ``\\gx``) ended it.

    Example:
        >>> split_terminated("SELECT 1\\G SELECT 2;")
        ([('SELECT 1', True), ('SELECT 2', False)], '')
    """
    done: list[tuple[str, bool]] = []
    start = 0
    skip_to = -1
    for i, char in _scan(text):
        if i < skip_to:
            continue
        end, vertical = -1, False
        if char == ";":
            end = i + 1
        elif char == "\\":
            word = re.match(r"\\(gx|g|G)(?![A-Za-z0-9_])", text[i:])
            if word:
                end, vertical = i + len(word.group(0)), _TERMINATORS[word.group(0)]
        if end < 0:
            continue
        statement = text[start:i].strip()
        if statement and _has_code(statement):
            done.append((statement, vertical))
        start = skip_to = end
    return done, text[start:]


def _has_code(text: str) -> bool:
    return any(not c.isspace() for _, c in _scan(text))


def statement_complete(buffer: str) -> bool:
    """True when ``buffer`` holds at least one statement ended by ``;``.

    Example:
        >>> statement_complete("SELECT 1"), statement_complete("SELECT ';'"), statement_complete("SELECT 1;")
        (False, False, True)
    """
    return bool(split_statements(buffer)[0])


# ------------------------------------------------------------------ completion
def _tables_in(text: str, catalog: Catalog) -> dict[str, str]:
    """``{name or alias (lower): table name}`` for tables named after FROM/JOIN in ``text``."""
    found: dict[str, str] = {}
    words = _WORD.findall(text)
    for i, word in enumerate(words[:-1]):
        if word.lower() in ("from", "join") and words[i + 1] in catalog:
            table = catalog.table(words[i + 1]).name
            found[table.lower()] = table
            if i + 2 < len(words):
                alias = words[i + 3] if words[i + 2].lower() == "as" and i + 3 < len(words) \
                    else words[i + 2]
                if alias.upper() not in SQL_KEYWORDS:
                    found[alias.lower()] = table
    return found


def _match(candidates: list[str], text: str) -> list[str]:
    lowered = text.lower()
    seen: set[str] = set()
    out = []
    for cand in candidates:
        if cand.lower().startswith(lowered) and cand.lower() not in seen:
            seen.add(cand.lower())
            out.append(cand)
    return out


def complete(text: str, line: str, catalog: Catalog, history: str = "", rest: str = ""
             ) -> list[str]:
    """Completions of the word ``text`` at the end of ``line`` (``history``: the earlier lines
    of an unfinished statement; ``rest``: what follows the cursor on its line).

    Meta commands at the start of a line; table names after ``FROM``/``JOIN``/``.describe``;
    ``alias.col`` / ``Table.col`` from the tables the statement names (before or after the
    cursor: ``SELECT Sub| FROM Messages``); otherwise keywords, those tables' columns (every
    table's when the statement names none yet) and table names. Keywords follow the case of
    what was typed.
    """
    before = line[: len(line) - len(text)] if line.endswith(text) else line
    if not before.strip() and text.startswith(".") and not history.strip():
        return _match(sorted(META_COMMANDS), text)
    if not before.strip() and text.startswith("\\") and not history.strip():
        return _match(sorted(BACKSLASH_COMMANDS), text)
    statement = history + "\n" + line + rest
    if "." in text and not text.startswith("."):
        qualifier, _, partial = text.rpartition(".")
        tables = _tables_in(statement, catalog)
        table_name = tables.get(qualifier.lower()) or (
            catalog.table(qualifier).name if qualifier in catalog else None)
        if table_name is None:
            return []
        names = [c.name for c in catalog.table(table_name).columns]
        return [f"{qualifier}.{c}" for c in _match(names, partial)]
    previous = before.split()[-1].lower() if before.split() else ""
    if previous in _TABLE_CONTEXT:
        if previous in ("exec", "execute"):
            from o365sql import procedures

            return _match(sorted(p.name for p in procedures.all_procedures()), text)
        return _match(catalog.names(), text)
    keywords = [k.lower() for k in SQL_KEYWORDS] if text[:1].islower() else list(SQL_KEYWORDS)
    named = list(dict.fromkeys(_tables_in(statement, catalog).values()))
    columns: list[str] = []
    for table_name in named or catalog.names():
        columns.extend(c.name for c in catalog.table(table_name).columns)
    return _match(columns + keywords + catalog.names(), text)


# ------------------------------------------------------------------ the loop
class Shell:
    """The interactive loop. ``stdin`` defaults to ``sys.stdin``; prompts, ``readline``
    history and completion are used only when it is a terminal, and so is the pager."""

    def __init__(self, ctx: CliContext, stdin: IO[str] | None = None) -> None:
        self.ctx = ctx
        self.stdin = stdin if stdin is not None else sys.stdin
        self.interactive = self.stdin is sys.stdin and _isatty(sys.stdin)
        self.failed = False
        self._buffer = ""
        self._lines_read: list[str] = []  # the lines of the statement being typed
        self._readline: Any = None
        self._matches: list[str] = []
        self.expanded = "off"  # \x: off, on or auto
        self.timing = False
        self.pager: bool = True
        self.pager_command: str | None = None  # .pager COMMAND; else $PAGER, else less -S
        self._screen: IO[str] = ctx.stdout  # where results go when not to a file (\o)
        self._output_file: IO[str] | None = None
        self._reading: list[str] = []  # files being read by \i, to refuse a loop
        self._read: Any = input  # prompt_toolkit's reader when the shell extra is installed


    # -- readline -------------------------------------------------------------------------
    def history_path(self) -> str:
        return self.ctx.environ.get("O365SQL_HISTORY") or os.path.join(
            os.path.expanduser("~"), ".o365sql_history")

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input()
            return
        self._readline = readline
        try:
            readline.read_history_file(self.history_path())
        except OSError:
            pass  # first run: no history yet
        readline.set_history_length(1000)
        readline.set_completer(self._completer)
        readline.set_completer_delims(" \t\n(),;=<>'\"")
        # libedit (macOS) spells the binding differently.
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
            # List the candidates on the Tab after one that could not complete further
            # (otherwise GNU readline rings the bell once more and lists only on a third Tab).
            readline.parse_and_bind("set show-all-if-unmodified on")

    def _completer(self, text: str, state: int) -> str | None:
        if state == 0:
            try:
                whole = self._readline.get_line_buffer()
                end = self._readline.get_endidx()
                self._matches = complete(text, whole[:end], self.ctx.connection.catalog,
                                         self._buffer, whole[end:])
            except Exception:  # noqa: BLE001 - a completion failure must not end the shell
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None

    def _remember(self, lines: list[str]) -> None:
        """Make the lines of a multi-line statement ONE history entry (Up recalls it whole).

        ``input()`` has added each non-empty line as an entry of its own; they are replaced
        by the statement on one line (the history file keeps one entry per line)."""
        readline = self._readline
        added = [line for line in lines if line]
        if readline is None or len(added) < 2:
            return
        length = readline.get_current_history_length()
        first = length - len(added)  # 0-based index of the statement's first entry
        if first < 0 or [readline.get_history_item(i + 1) for i in range(first, length)] != added:
            return  # not the entries we expect (a libedit quirk): leave the history alone
        for _ in added:
            readline.remove_history_item(first)
        readline.add_history(" ".join(line.strip() for line in added if line.strip()))

    def _save_history(self) -> None:
        if self._readline is not None:
            try:
                self._readline.write_history_file(self.history_path())
            except OSError:
                pass  # a read-only home: history is a convenience

    # -- reading --------------------------------------------------------------------------
    def _lines(self) -> Iterator[str]:
        while True:
            if self.interactive:
                try:
                    yield self._read(CONTINUATION if _has_code(self._buffer) else PROMPT)
                except EOFError:
                    self.ctx.stdout.write("\n")
                    return
                except KeyboardInterrupt:
                    # Ctrl-C drops the statement being typed, as in psql.
                    self.ctx.stdout.write("^C\n")
                    self._buffer = ""
                    self._lines_read = []
                    continue
            else:
                line = self.stdin.readline()
                if not line:
                    return
                yield line.rstrip("\n")

    def run(self) -> int:
        """Read and run until ``.quit`` or end of input; 1 if a piped statement failed."""
        if self.interactive:
            from o365sql.cli.prompt import prompt_reader

            reader = prompt_reader(
                self.ctx.environ, self.history_path(), lambda: self._buffer,
                lambda word, line, earlier, rest: complete(
                    word, line, self.ctx.connection.catalog, earlier, rest),
                statement_complete, SQL_KEYWORDS, CONTINUATION)
            if reader is None:
                self._setup_readline()
            else:
                self._read = reader
            self.ctx.stdout.write(
                f"o365sql {o365sql.__version__}: statements end with ';' (\\G: rows shown "
                "vertically); \\? or .help for commands\n")
        try:
            if self._feed_all(self._lines()):
                self._finish_script()
        finally:
            self._save_history()
            self._set_output(None)
        return 1 if self.failed and not self.interactive else 0

    def _feed_all(self, lines: Iterable[str]) -> bool:
        """Run each line; False when one of them leaves the shell."""
        for line in lines:
            if not self._feed(line):
                return False
        return True

    def _finish_script(self) -> None:
        rest = self._buffer.strip()
        self._buffer = ""
        if rest and _has_code(rest) and not self.interactive:
            # End of a piped script without a final ';': run what is there.
            self._run_sql(rest, vertical=False)

    def _feed(self, line: str) -> bool:
        """One line of input: a meta command, or part of SQL statements. False: leave."""
        stripped = line.strip()
        if not _has_code(self._buffer) and stripped[:1] in (".", "\\") and not \
                _TERMINATOR_LINE.match(stripped):
            self._buffer = ""
            return self._meta(stripped)
        self._buffer += line + "\n"
        self._lines_read.append(line)
        statements, self._buffer = split_terminated(self._buffer)
        if statements:
            self._remember(self._lines_read)
            self._lines_read = [] if not self._buffer.strip() else [self._buffer.strip()]
        if not _has_code(self._buffer):
            self._buffer = ""  # only a comment after the last ';': no continuation prompt
            self._lines_read = []
        for statement, vertical in statements:
            self._run_sql(statement, vertical=vertical)
        return True

    def _guarded(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except (o365sql.Error, ValueError, OSError) as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            self.failed = True
            self.ctx.stderr.write(f"o365sql: error: {error_text(str(exc))}\n")
        except KeyboardInterrupt:
            self.ctx.stderr.write("interrupted\n")
        self.ctx.stdout.flush()

    # -- running and showing ------------------------------------------------------------------
    def _run_sql(self, statement: str, *, vertical: bool) -> None:
        self._show(self.ctx.run_statement, statement, vertical=vertical, timed=True)

    def _show(self, action: Any, *args: Any, vertical: bool = False, timed: bool = False
              ) -> None:
        """Run ``action`` with the context's output caught, then show it: on the screen (through
        the pager when it does not fit), or in the ``\\o`` file; ``\\timing`` adds the time."""
        ctx = self.ctx
        caught = io.StringIO()
        saved = ctx.stdout, ctx.fmt, ctx.fit_width
        columns, rows = self._terminal_size()
        if ctx.fmt == "table" and (vertical or self.expanded == "on"):
            ctx.fmt = "vertical"
        elif ctx.fmt == "table" and self.expanded == "auto":
            ctx.fit_width = columns
        ctx.stdout = caught
        started = time.perf_counter()
        try:
            self._guarded(action, *args)
        finally:
            ctx.stdout, ctx.fmt, ctx.fit_width = saved
        if self.timing and timed:
            caught.write(f"Time: {(time.perf_counter() - started) * 1000:.3f} ms\n")
        text = caught.getvalue()
        if self._output_file is not None:
            self._output_file.write(text)
            self._output_file.flush()
            return
        lines = text.splitlines()
        if (self.pager and self.interactive and _isatty(self._screen) and lines
                and (len(lines) > rows - 2 or max(display_width(x) for x in lines) > columns)):
            self._page(text)
        else:
            self._screen.write(text)
            self._screen.flush()

    def _terminal_size(self) -> tuple[int, int]:
        size = shutil.get_terminal_size((80, 24))
        return size.columns or 80, size.lines or 24

    def _page(self, text: str) -> None:
        command = self.pager_command or self.ctx.environ.get("PAGER") or "less -S"
        try:
            proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE)
        except (OSError, ValueError) as exc:
            self.ctx.stderr.write(f"o365sql: pager {command!r} did not start ({exc}); "
                                  "\\pset pager off stops trying\n")
            self._screen.write(text)
            return
        assert proc.stdin is not None
        try:
            proc.stdin.write(text.encode("utf-8", "replace"))
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the reader quit the pager before the end
        while True:
            try:
                proc.wait()
                return
            except KeyboardInterrupt:
                continue  # Ctrl-C belongs to the pager while it runs

    def _set_output(self, path: str | None) -> None:
        if self._output_file is not None:
            self._output_file.close()
            self._output_file = None
        if path:
            self._output_file = open(os.path.expanduser(path), "w", encoding="utf-8")  # noqa: SIM115

    def _read_file(self, path: str) -> bool:
        """``\\i FILE``: run its lines as if typed (a missing ';' at its end is forgiven)."""
        full = os.path.abspath(os.path.expanduser(path))
        if full in self._reading:
            raise OSError(f"{path} is already being read (\\i inside itself)")
        with open(full, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        self._reading.append(full)
        try:
            if not self._feed_all(lines):
                return False
            rest = self._buffer.strip()
            self._buffer = ""
            if rest and _has_code(rest):
                self._run_sql(rest, vertical=False)
        finally:
            self._reading.pop()
        return True

    # -- meta commands ----------------------------------------------------------------------
    def _meta(self, line: str) -> bool:
        """Run one meta command (``.name`` or psql's ``\\name``); False means leave the shell."""
        from o365sql.cli import catalog as cli_catalog

        command, _, rest = line.partition(" ")
        rest = rest.strip().rstrip(";").strip()
        if command.startswith("\\"):
            if command == "\\d":
                command = ".describe" if rest else ".tables"
            elif command == "\\pset":
                command, _, rest = rest.partition(" ")
                command, rest = "." + {"null": "nullvalue"}.get(command.lower(), command.lower()), \
                    rest.strip().strip("'")
            else:
                command = _BACKSLASH_ALIASES.get(command, command)
        command = command.lower()
        ctx = self.ctx
        if command in (".quit", ".exit", ".q"):
            return False
        if command == ".help":
            self._show(self._help)
        elif command == ".tables":
            self._show(lambda: ctx.print_rows(*cli_catalog.tables_listing(
                ctx.connection.catalog)))
        elif command == ".describe" and rest:
            self._show(lambda: ctx.print_rows(*cli_catalog.describe_table(
                ctx.connection.catalog, rest)))
        elif command == ".procedures":
            self._show(lambda: ctx.print_rows(*cli_catalog.procedures_listing()))
        elif command == ".explain" and rest:
            self._show(ctx.run_explain, rest, timed=True)
        elif command in (".format", ".mode") and rest.lower() in FORMATS:
            ctx.fmt = rest.lower()
        elif command == ".maxwidth" and rest.isdigit():
            ctx.max_width = int(rest)
        elif command == ".expanded" and rest.lower() in ("", "on", "off", "auto"):
            self.expanded = rest.lower() or ("off" if self.expanded != "off" else "on")
            ctx.stderr.write(f"Expanded display is {self.expanded}.\n")
        elif command == ".timer" and rest.lower() in ("", *_ON_OFF):
            self.timing = _ON_OFF[rest.lower()] if rest else not self.timing
            ctx.stderr.write(f"Timing is {'on' if self.timing else 'off'}.\n")
        elif command == ".pager" and rest:
            if rest.lower() in _ON_OFF:
                self.pager = _ON_OFF[rest.lower()]
            else:
                self.pager, self.pager_command = True, rest
            ctx.stderr.write(f"Pager is {'on' if self.pager else 'off'}.\n")
        elif command == ".nullvalue":
            ctx.null_text = rest
        elif command == ".output":
            self._guarded(self._set_output, rest or None)
        elif command == ".read" and rest:
            outcome: list[bool] = []
            self._guarded(lambda: outcome.append(self._read_file(rest)))
            return outcome != [False]
        else:
            self.failed = True
            ctx.stderr.write(f"o365sql: error: unknown or incomplete command {line!r}; "
                             "try \\? or .help\n")
        return True

    def _help(self) -> None:
        out = self.ctx.stdout
        width = max(len(c) for c in [*META_COMMANDS, *BACKSLASH_COMMANDS])
        for name, text in META_COMMANDS.items():
            out.write(f"{name.ljust(width)}  {text}\n")
        out.write("\npsql's commands:\n")
        for name, text in BACKSLASH_COMMANDS.items():
            out.write(f"{name.ljust(width)}  {text}\n")
        out.write("SQL statements end with ';' (or \\G) and may span lines.\n")


_TERMINATOR_LINE = re.compile(r"^\\(g|G|gx)\s*$")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
