"""Command line, interactive part: the ``o365sql shell`` read-eval-print loop.

Stage: entry point (as ``main``). It reads statements that may span lines and end with
``;``, hands each to ``CliContext.run_statement`` (which prints through ``output``), and
handles meta commands (``.tables``, ``.describe T``, ``.explain SQL``, ``.format csv``, ...).
With a terminal it uses the stdlib ``readline``: a history file (``~/.o365sql_history``, or
``$O365SQL_HISTORY``) where a multi-line statement is one entry, and tab completion of SQL
keywords, table and column names, also of tables named later in the statement (``complete()``
is a pure function, so it is tested without a terminal; a second Tab lists the candidates). Without a terminal
(a pipe, a here-document) it reads stdin quietly, without prompts, like ``sqlite3``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import o365sql
from o365sql.cli.output import FORMATS, error_text

if TYPE_CHECKING:
    from o365sql.catalog import Catalog
    from o365sql.cli.context import CliContext

__all__ = [
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
    ".help": "this list",
    ".tables": "list tables and views",
    ".describe": ".describe TABLE: its columns, types, filters Graph evaluates, flags",
    ".explain": ".explain SELECT ...: the Graph requests the query would send",
    ".procedures": "list stored procedures",
    ".format": ".format table|csv|json|jsonl: how rows are printed",
    ".maxwidth": ".maxwidth N: cut table cells to N characters (0: no limit)",
    ".quit": "leave the shell (also .exit or Ctrl-D)",
    ".exit": "leave the shell",
}

#: Keywords offered by tab completion (the SQL subset o365sql runs).
SQL_KEYWORDS = (
    "SELECT", "DISTINCT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE",
    "BETWEEN", "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING",
    "LIMIT", "OFFSET", "AS", "JOIN", "INNER", "LEFT", "OUTER", "ON", "UNION", "ALL", "CASE",
    "WHEN", "THEN", "ELSE", "END", "COUNT", "SUM", "MIN", "MAX", "AVG", "COALESCE", "EXPLAIN",
    "EXEC", "EXECUTE", "TRUE", "FALSE", "CAST",
)
# After these words a table name comes next.
_TABLE_CONTEXT = {"from", "join", "into", "update", "table", ".describe", "exec", "execute"}
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
    """Split ``text`` at ``;`` outside strings and comments.

    Returns the complete statements (without the ``;``, stripped, empty ones dropped) and the
    unfinished rest.

    Example:
        >>> split_statements("SELECT 'a;b' FROM T; SELECT 2;\\nSELECT")
        (["SELECT 'a;b' FROM T", 'SELECT 2'], '\\nSELECT')
    """
    done: list[str] = []
    start = 0
    for i, char in _scan(text):
        if char == ";":
            statement = text[start:i].strip()
            if statement and _has_code(statement):
                done.append(statement)
            start = i + 1
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
    history and completion are used only when it is a terminal."""

    def __init__(self, ctx: CliContext, stdin: IO[str] | None = None) -> None:
        self.ctx = ctx
        self.stdin = stdin if stdin is not None else sys.stdin
        self.interactive = self.stdin is sys.stdin and _isatty(sys.stdin)
        self.failed = False
        self._buffer = ""
        self._lines_read: list[str] = []  # the lines of the statement being typed
        self._readline: Any = None
        self._matches: list[str] = []

    # -- readline -------------------------------------------------------------------------
    def _history_path(self) -> str:
        return self.ctx.environ.get("O365SQL_HISTORY") or os.path.join(
            os.path.expanduser("~"), ".o365sql_history")

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input()
            return
        self._readline = readline
        try:
            readline.read_history_file(self._history_path())
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
                self._readline.write_history_file(self._history_path())
            except OSError:
                pass  # a read-only home: history is a convenience

    # -- reading --------------------------------------------------------------------------
    def _lines(self) -> Iterator[str]:
        while True:
            if self.interactive:
                try:
                    yield input(CONTINUATION if self._buffer.strip() else PROMPT)
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
            self._setup_readline()
            self.ctx.stdout.write(
                f"o365sql {o365sql.__version__}: statements end with ';', .help for commands\n")
        try:
            for line in self._lines():
                if not self._buffer.strip() and line.strip().startswith("."):
                    if not self._meta(line.strip()):
                        break
                    continue
                self._buffer += line + "\n"
                self._lines_read.append(line)
                statements, self._buffer = split_statements(self._buffer)
                if statements:
                    self._remember(self._lines_read)
                    self._lines_read = [] if not self._buffer.strip() else [self._buffer.strip()]
                for statement in statements:
                    self._guarded(self.ctx.run_statement, statement)
            rest = self._buffer.strip()
            if rest and _has_code(rest) and not self.interactive:
                # End of a piped script without a final ';': run what is there.
                self._guarded(self.ctx.run_statement, rest)
        finally:
            self._save_history()
        return 1 if self.failed and not self.interactive else 0

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

    # -- meta commands ----------------------------------------------------------------------
    def _meta(self, line: str) -> bool:
        """Run one meta command; False means leave the shell."""
        from o365sql.cli import catalog as cli_catalog

        command, _, rest = line.partition(" ")
        command, rest = command.lower(), rest.strip().rstrip(";").strip()
        ctx = self.ctx
        if command in (".quit", ".exit", ".q"):
            return False
        if command == ".help":
            width = max(len(c) for c in META_COMMANDS)
            for name, text in META_COMMANDS.items():
                ctx.stdout.write(f"{name.ljust(width)}  {text}\n")
            ctx.stdout.write("SQL statements end with ';' and may span lines.\n")
        elif command == ".tables":
            self._guarded(lambda: ctx.print_rows(*cli_catalog.tables_listing(
                ctx.connection.catalog)))
        elif command == ".describe" and rest:
            self._guarded(lambda: ctx.print_rows(*cli_catalog.describe_table(
                ctx.connection.catalog, rest)))
        elif command == ".procedures":
            self._guarded(lambda: ctx.print_rows(*cli_catalog.procedures_listing()))
        elif command == ".explain" and rest:
            self._guarded(ctx.run_explain, rest)
        elif command == ".format" and rest.lower() in FORMATS:
            ctx.fmt = rest.lower()
        elif command == ".maxwidth" and rest.isdigit():
            ctx.max_width = int(rest)
        else:
            self.failed = True
            ctx.stderr.write(f"o365sql: error: unknown or incomplete command {line!r}; "
                             "try .help\n")
        return True


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
