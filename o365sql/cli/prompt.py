"""Command line, interactive input with prompt_toolkit: SQL highlighted and completions shown as
you type (the ``shell`` extra, ``pip install 'o365sql[shell]'``).

Stage: entry point support for ``shell``. prompt_toolkit is what pgcli and litecli use; it is
chosen over a hand-made terminal layer because it draws the completion menu, colours the input
and edits multi-line statements portably (Windows consoles included), and it is pure Python with
one small dependency (wcwidth). It stays optional: without it, or with ``O365SQL_SHELL=readline``,
the shell uses the standard library's ``readline`` with the same commands and Tab completion.

``prompt_reader(...)`` (the shell hands it what it needs; it imports nothing of the shell)
returns a function ``read(prompt) -> str`` that reads one whole statement
(Enter inserts a new line until the statement ends with ``;`` or ``\\G``, or the line is a meta
command), or None when prompt_toolkit is not there. Completion comes from ``shell.complete``;
history is the same file, in the same one-entry-per-line form, as the readline shell's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

__all__ = ["highlight", "prompt_reader"]

#: How each kind of token is shown (prompt_toolkit style names).
STYLE = {
    "keyword": "bold ansiblue",
    "string": "ansigreen",
    "number": "ansicyan",
    "comment": "italic ansibrightblack",
    "meta": "bold ansimagenta",
    "name": "",
}
_TOKENS = re.compile(r"""
    (?P<comment>--.*$|/\*.*?(\*/|$))
  | (?P<string>'(?:[^']|'')*'?)
  | (?P<quoted>"(?:[^"]|"")*"?|\[[^\]]*\]?|`[^`]*`?)
  | (?P<number>\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<meta>^\s*[.\\][A-Za-z?]+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def highlight(line: str, keywords: Iterable[str]) -> list[tuple[str, str]]:
    """``(style class, text)`` fragments of one line of SQL.

    Example:
        >>> highlight("SELECT 'a' -- b", {"SELECT"})
        [('class:keyword', 'SELECT'), ('', ' '), ('class:string', "'a'"), ('', ' '), ('class:comment', '-- b')]
    """
    words = {k.upper() for k in keywords}
    out: list[tuple[str, str]] = []
    for match in _TOKENS.finditer(line):
        kind = match.lastgroup or "other"
        text = match.group(0)
        if kind == "word":
            kind = "keyword" if text.upper() in words else "name"
        style = {"keyword": "class:keyword", "string": "class:string", "number": "class:number",
                 "comment": "class:comment", "meta": "class:meta"}.get(kind, "")
        if out and out[-1][0] == style and style == "":
            out[-1] = ("", out[-1][1] + text)
        else:
            out.append((style, text))
    return out


def prompt_reader(environ: Mapping[str, str], history_path: str, pending: Callable[[], str],
                  complete: Callable[[str, str, str, str], list[str]],
                  statement_ends: Callable[[str], bool], keywords: Iterable[str],
                  continuation: str) -> Callable[[str], str] | None:
    """A statement reader on prompt_toolkit, or None (not installed, or O365SQL_SHELL=readline).

    ``pending()`` is the unfinished statement before this input; ``complete(word, line,
    earlier lines, rest of line)`` the completions of a word; ``statement_ends(text)`` whether
    ``text`` holds a finished statement."""
    if (environ.get("O365SQL_SHELL") or "").lower() == "readline":
        return None
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.document import Document
        from prompt_toolkit.history import History
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.lexers import Lexer
        from prompt_toolkit.styles import Style
    except ImportError:
        return None
    keywords = tuple(keywords)

    class SqlLexer(Lexer):
        def lex_document(self, document: Document) -> Callable[[int], Any]:
            lines = document.lines

            def line(number: int) -> Any:
                return highlight(lines[number], keywords) if number < len(lines) else []

            return line

    class SqlCompleter(Completer):
        def get_completions(self, document: Document, complete_event: Any) -> Iterator[Completion]:
            word = re.search(r"[A-Za-z0-9_.\\$?]*$", document.current_line_before_cursor)
            text = word.group(0) if word else ""
            if not text:
                return
            earlier = document.text_before_cursor[: len(document.text_before_cursor)
                                                  - len(document.current_line_before_cursor)]
            try:
                found = complete(text, document.current_line_before_cursor, pending() + earlier,
                                 document.current_line_after_cursor)
            except Exception:  # noqa: BLE001 - a completion failure must not end the shell
                return
            for candidate in found:
                if candidate != text:
                    yield Completion(candidate, start_position=-len(text))

    class LineHistory(History):
        """One entry per line of ``path`` (a multi-line statement joined into one line)."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

        def load_history_strings(self) -> Iterable[str]:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    lines = [line.rstrip("\n") for line in handle if line.strip()]
            except OSError:
                return []
            return list(reversed(lines[-1000:]))

        def store_string(self, string: str) -> None:
            entry = " ".join(part.strip() for part in string.splitlines() if part.strip())
            try:
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(entry + "\n")
                os.chmod(self.path, 0o600)
            except OSError:
                pass  # a read-only home: history is a convenience

    keys = KeyBindings()

    @keys.add("enter")
    def _enter(event: Any) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        text = buffer.text
        stripped = text.strip()
        finished = (not stripped or (stripped[:1] in ".\\" and "\n" not in stripped
                                     and not pending().strip())
                    or statement_ends(pending() + text + "\n"))
        if finished:
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    session: Any = PromptSession(
        lexer=SqlLexer(), completer=SqlCompleter(), complete_while_typing=True,
        history=LineHistory(history_path), key_bindings=keys, multiline=True,
        prompt_continuation=lambda width, line_number, wrap_count: continuation,
        style=Style.from_dict(STYLE), enable_history_search=False)

    def read(prompt: str) -> str:
        return str(session.prompt(prompt))

    return read
