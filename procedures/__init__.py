"""Stored procedures (installed as ``o365sql.procedures``): the registry and its lookup.

Stage: procedure calls. The execution stage (``EXEC name @P=…``) and ``Cursor.callproc`` call
``get(name).run(context, args)``; ``run`` checks the arguments against the procedure's
``parameters`` (names case-insensitive, an ``@`` prefix allowed), then calls the procedure's
body, which returns rows matching ``result_columns``. ``all_procedures()`` feeds
``sys_procedures``/``sys_procedureparameters``.

Procedures register themselves with ``register`` when their module is imported; every module
in this package is imported the first time the registry is consulted, so adding a procedure
means adding a module here (``oauth.py`` holds the OAuth procedures).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from o365sql.exceptions import ProgrammingError

__all__ = ["Parameter", "Procedure", "ResultColumn", "all_procedures", "get", "register"]


@dataclass(frozen=True)
class Parameter:
    """An input parameter. ``type`` uses the CData names: String, Integer, Boolean, Datetime."""

    name: str
    type: str = "String"
    required: bool = False
    description: str = ""
    default: Any = None


@dataclass(frozen=True)
class ResultColumn:
    """A column of the rows a procedure returns."""

    name: str
    type: str = "String"
    description: str = ""


Body = Callable[[Any, dict[str, Any]], list[tuple[Any, ...]]]


class Procedure:
    """A stored procedure: its signature and the function that runs it.

    Args:
        name: the name ``EXEC`` uses (matched case-insensitively).
        description: one sentence for ``sys_procedures``.
        parameters: the inputs, in order (``callproc`` passes positional values in this order).
        result_columns: the columns of the returned rows.
        run: ``body(context, args)`` with ``args`` keyed by the canonical parameter names,
            every parameter present (its default when not given).
    """

    def __init__(self, name: str, description: str, parameters: Sequence[Parameter],
                 result_columns: Sequence[ResultColumn], run: Body) -> None:
        self.name = name
        self.description = description
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        self.result_columns: tuple[ResultColumn, ...] = tuple(result_columns)
        self._body = run

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.result_columns)

    def bind(self, args: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any]:
        """Check ``args`` (a mapping by name, or a sequence in parameter order).

        Raises:
            ProgrammingError: an unknown parameter (naming the procedure, the parameter and the
                nearest valid name), a parameter given twice, too many positional values, or a
                missing required parameter.
        """
        by_key = {p.name.lower(): p for p in self.parameters}
        bound: dict[str, Any] = {}
        if args is None:
            items: list[tuple[str, Any]] = []
        elif isinstance(args, Mapping):
            items = [(str(k), v) for k, v in args.items()]
        else:
            values = list(args)
            if len(values) > len(self.parameters):
                raise ProgrammingError(
                    f"procedure {self.name} takes at most {len(self.parameters)} parameters, "
                    f"got {len(values)}")
            items = [(p.name, v) for p, v in zip(self.parameters, values)]
        for raw_name, value in items:
            key = raw_name.strip().lstrip("@").lower()
            parameter = by_key.get(key)
            if parameter is None:
                close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.6)
                hint = f"; did you mean @{by_key[close[0]].name}?" if close else ""
                known = ", ".join(p.name for p in self.parameters) or "none"
                raise ProgrammingError(
                    f"procedure {self.name} has no parameter @{raw_name.strip().lstrip('@')}"
                    f"{hint} (its parameters: {known})")
            if parameter.name in bound:
                raise ProgrammingError(
                    f"procedure {self.name}: parameter @{parameter.name} is given twice")
            bound[parameter.name] = value
        for parameter in self.parameters:
            if bound.get(parameter.name) is None:
                if parameter.required:
                    raise ProgrammingError(
                        f"procedure {self.name} needs parameter @{parameter.name}"
                        + (f" ({parameter.description})" if parameter.description else ""))
                bound[parameter.name] = parameter.default
        return bound

    def run(self, context: Any, args: Mapping[str, Any] | Sequence[Any] | None
            ) -> list[tuple[Any, ...]]:
        """Check the arguments and run the procedure; return its rows."""
        return self._body(context, self.bind(args))

    def __repr__(self) -> str:
        params = ", ".join(f"@{p.name}" for p in self.parameters)
        return f"Procedure({self.name}({params}) -> {', '.join(self.column_names)})"


_REGISTRY: dict[str, Procedure] = {}
_LOADED = False
_LOAD_LOCK = threading.RLock()


def register(procedure: Procedure) -> Procedure:
    """Add a procedure (a module of this package calls this at import time)."""
    with _LOAD_LOCK:
        key = procedure.name.lower()
        if key in _REGISTRY and _REGISTRY[key] is not procedure:
            raise ValueError(f"stored procedure {procedure.name} is registered twice")
        _REGISTRY[key] = procedure
    return procedure


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    with _LOAD_LOCK:
        if _LOADED:
            return
        for module in pkgutil.iter_modules(__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{__name__}.{module.name}")
        _LOADED = True


def get(name: str) -> Procedure:
    """The procedure called ``name`` (any case).

    Raises:
        ProgrammingError: no such procedure, naming it and the nearest known name.
    """
    _load()
    key = str(name).strip().strip("[]\"`").lower()
    procedure = _REGISTRY.get(key)
    if procedure is not None:
        return procedure
    close = difflib.get_close_matches(key, list(_REGISTRY), n=1, cutoff=0.6)
    hint = f"; did you mean {_REGISTRY[close[0]].name}?" if close else ""
    raise ProgrammingError(f"unknown stored procedure {str(name).strip()!r}{hint}")


def all_procedures() -> list[Procedure]:
    """Every procedure, sorted by name."""
    _load()
    return sorted(_REGISTRY.values(), key=lambda p: p.name.lower())
