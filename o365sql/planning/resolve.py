"""Resolve stage: tie every table and column of a bound query to the catalog.

Checks table names (suggesting the nearest on a typo), expands ``SELECT *`` to each table's
default columns (heavy ones only when named), qualifies every column with sqlglot's
``qualify`` (identifiers are case-insensitive), and finds each table reference's columns.
Hands a :class:`Resolved` query to the planner (``pushdown.py`` / ``planner.py``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from ..catalog import Catalog, Column, Table
from ..exceptions import ProgrammingError
from ..system_catalog import CATALOG_NAME, SCHEMA_NAME, SYSTEM_TABLES, system_table
from ..value_model import ANNOTATION_TYPES
from .dialect import DIALECT
from .parse import LABEL, quiet_sqlglot

#: sqlglot type names for catalog SQL types (for qualify and type annotation).
SQLGLOT_TYPES: dict[str, str] = ANNOTATION_TYPES


@dataclass
class TableRef:
    """One mention of a catalog table in the query (each becomes one scan)."""

    node: exp.Table
    table: Table
    alias: str  # lower-case alias as qualified
    scope: Scope
    columns: dict[str, Column] = field(default_factory=dict)  # lower name -> column, use order

    @property
    def is_system(self) -> bool:
        return self.table.name.lower() in SYSTEM_TABLES


@dataclass
class Resolved:
    """A qualified query, its table references and its output columns.

    ``column_nodes`` maps ``id()`` of every qualified column node that reads a catalog table
    to its catalog column (used for typing literals and classifying predicates).
    """

    tree: exp.Query
    refs: list[TableRef]
    output_names: list[str]
    column_nodes: dict[int, Column] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)

    def copy(self) -> Resolved:
        """A private copy (the planner mutates its tree) with refs recomputed on it."""
        tree = self.tree.copy()
        refs, column_nodes = _table_refs(tree, self.tables)
        return Resolved(tree=tree, refs=refs, output_names=list(self.output_names),
                        column_nodes=column_nodes, tables=self.tables)


def table_columns(table: Table) -> tuple[Column, ...]:
    """The table's columns (``SearchTerms`` included where Graph can $search: catalog.py)."""
    return table.columns


def find_column(table: Table, name: str) -> Column | None:
    """The column called ``name`` (case-insensitive)."""
    return table.column(name)


def lookup_table(catalog: Catalog, name: str) -> Table:
    """The catalog (or ``sys_*``) table called ``name``; ProgrammingError with a suggestion."""
    lowered = name.lower()
    system = system_table(lowered)
    if system is not None:
        return system
    tables = catalog.tables
    table = tables.get(lowered)
    if table is not None:
        return table
    for candidate in tables.values():
        if candidate.name.lower() == lowered:
            return candidate
    names = [t.name for t in tables.values()] + list(SYSTEM_TABLES)
    hint = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or difflib.get_close_matches(
        lowered, [n.lower() for n in names], n=1, cutoff=0.6)
    suggestion = f"; did you mean {_original(hint[0], names)}?" if hint else ""
    raise ProgrammingError(f"unknown table {name!r}{suggestion} (see sys_tables for the list)")


def default_columns(table: Table) -> list[Column]:
    """Columns of ``SELECT *``: every column except heavy ones."""
    method = getattr(table, "default_columns", None)
    if callable(method):
        return list(method())
    return [c for c in table.columns if not c.heavy]


def resolve(tree: exp.Query, catalog: Catalog) -> Resolved:
    """Check, expand and qualify a bound query against the catalog."""
    tree = tree.copy()
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables: dict[str, Table] = {}
    for node in tree.find_all(exp.Table):
        if not node.name or (node.name.lower() in cte_names and not node.args.get("db")):
            continue
        if node.args.get("db") or node.args.get("catalog"):
            _drop_schema(node)
        tables[node.name.lower()] = lookup_table(catalog, node.name)
    named = _name_table_function_columns(tree)
    _expand_stars(tree, tables, cte_names)
    _check_qualified_columns(tree, tables)
    output_names = _output_names(tree, tables)
    # qualify lower-cases identifiers in place: keep the user's spelling for error messages.
    spelling = {c.name.lower(): c.name for c in tree.find_all(exp.Column)}
    schema: dict[str, object] = {name: {c.name.lower(): SQLGLOT_TYPES.get(c.sql_type, "TEXT")
                     for c in table_columns(t)} for name, t in tables.items()}
    try:
        with quiet_sqlglot():
            qualified = qualify(tree, schema=schema, dialect=DIALECT,
                                validate_qualify_columns=True, quote_identifiers=True,
                                identify=True)
    except OptimizeError as exc:
        raise _column_error(str(exc), tables, spelling) from None
    assert isinstance(qualified, exp.Query)
    for alias in named:
        alias.set("columns", None)  # SQLite takes no column list after a table alias
    refs, column_nodes = _table_refs(qualified, tables)
    if any(n.startswith("_col_") for n in output_names) or len(output_names) != len(
            qualified.selects):
        output_names = [_label(p) or _display_name(p.alias_or_name, tables)
                        for p in qualified.selects]
    return Resolved(tree=qualified, refs=refs, output_names=output_names,
                    column_nodes=column_nodes, tables=tables)


def _drop_schema(node: exp.Table) -> None:
    """Accept ``Office365.Messages`` and ``o365sql.Office365.Messages`` (the catalog and schema
    ``sys_tables`` and the SQLAlchemy dialect report) by dropping the qualifier; refuse others."""
    schema, catalog_name = node.text("db"), node.text("catalog")
    if schema.lower() != SCHEMA_NAME.lower() or (
            catalog_name and catalog_name.lower() != CATALOG_NAME.lower()):
        raise ProgrammingError(
            f"unknown schema {node.sql(DIALECT).rpartition('.')[0]!r} in {node.sql(DIALECT)!r}: "
            f"the tables are in schema {SCHEMA_NAME} (write {SCHEMA_NAME}.{node.name} or "
            f"{node.name})")
    node.set("db", None)
    node.set("catalog", None)


#: The columns of SQLite's table-valued JSON functions (https://sqlite.org/json1.html#jeach).
TABLE_FUNCTION_COLUMNS: dict[str, tuple[str, ...]] = {
    name: ("key", "value", "type", "atom", "id", "parent", "fullkey", "path")
    for name in ("json_each", "json_tree")}


def _name_table_function_columns(tree: exp.Expr) -> list[exp.TableAlias]:
    """Give ``json_each(...) j`` its column list for qualification, so that ``j.value`` and
    an alias of it (``... AS who ... GROUP BY who``) resolve; returns the aliases changed (the
    caller removes the lists again once the query is qualified)."""
    changed: list[exp.TableAlias] = []
    for table in tree.find_all(exp.Table):
        function = table.this
        names = TABLE_FUNCTION_COLUMNS.get(str(function.this).lower()) if isinstance(
            function, exp.Anonymous) else None
        if names is None:
            continue
        alias = table.args.get("alias")
        if alias is None:
            alias = exp.TableAlias(this=exp.to_identifier(str(function.this).lower()))
            table.set("alias", alias)
        if not alias.columns:
            alias.set("columns", [exp.to_identifier(n) for n in names])
            changed.append(alias)
    return changed


def _expand_stars(tree: exp.Expr, tables: dict[str, Table], cte_names: set[str]) -> None:
    """Replace ``*`` / ``t.*`` over catalog tables with their default columns."""
    for select in list(tree.find_all(exp.Select)):
        found = _select_sources(select, tables, cte_names)
        sources = [(alias, t) for alias, t in found if t is not None]
        if not found or len(sources) != len(found):
            continue  # derived tables: qualify expands their stars from their projections
        new: list[exp.Expr] = []
        changed = False
        for projection in select.expressions:
            if isinstance(projection, exp.Star):
                for alias, table in sources:
                    new.extend(_star_columns(alias, table))
                changed = True
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                wanted = projection.table.lower()
                match = [(a, t) for a, t in sources if a.lower() == wanted]
                if not match:
                    known = ", ".join(_describe_source(a, t) for a, t in sources)
                    raise ProgrammingError(f"{projection.table}.* names no table of this "
                                           f"SELECT; its FROM clause has {known}")
                new.extend(_star_columns(*match[0]))
                changed = True
            else:
                new.append(projection)
        if changed:
            select.set("expressions", new)


def _star_columns(alias: str, table: Table) -> list[exp.Expr]:
    return [exp.column(c.name, table=alias, quoted=True) for c in default_columns(table)]


def _select_sources(select: exp.Select, tables: dict[str, Table], cte_names: set[str]
                    ) -> list[tuple[str, Table | None]]:
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None:
        return []
    nodes = [from_.this] + [j.this for j in select.args.get("joins") or []]
    result: list[tuple[str, Table | None]] = []
    for node in nodes:
        name = node.name.lower() if isinstance(node, exp.Table) else ""
        if name and name in tables and name not in cte_names:
            result.append((node.alias_or_name, tables[name]))
        else:
            result.append((node.alias_or_name, None))
    return result


def _output_names(tree: exp.Query, tables: dict[str, Table]) -> list[str]:
    """Column names for ``description`` as the user wrote them (alias, catalog name, or text)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return []
    names: list[str] = []
    for projection in select.expressions:
        if isinstance(projection, exp.Alias):
            names.append(projection.alias)
        elif isinstance(projection, exp.Column):
            if isinstance(projection.this, exp.Star):
                return ["_col_star"]
            names.append(_display_name(projection.name, tables))
        elif isinstance(projection, exp.Star):
            return ["_col_star"]
        else:
            names.append(projection.meta.get(LABEL) or projection.sql(DIALECT))
    return names


def _label(projection: exp.Expr) -> str | None:
    """The written text of an unaliased computed projection (qualify wraps it in an alias)."""
    inner = projection.this if isinstance(projection, exp.Alias) else projection
    label = inner.meta.get(LABEL) if isinstance(inner, exp.Expr) else None
    return str(label) if label and str(projection.alias_or_name).startswith("_col_") else None


def _display_name(name: str, tables: dict[str, Table]) -> str:
    lowered = name.lower()
    for table in tables.values():
        for column in table_columns(table):
            if column.name.lower() == lowered:
                return column.name
    return name


def _table_refs(tree: exp.Query, tables: dict[str, Table]
                ) -> tuple[list[TableRef], dict[int, Column]]:
    refs: dict[int, TableRef] = {}
    column_nodes: dict[int, Column] = {}
    scopes = traverse_scope(tree)
    # A LATERAL subquery's scope (sqlglot's UDTF scope) also lists the FROM items before it;
    # each table belongs to the SELECT whose FROM names it, so those scopes come last.
    for scope in sorted(scopes, key=lambda s: s.is_udtf):
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table) and id(source) not in refs and \
                    source.name.lower() in tables:
                refs[id(source)] = TableRef(node=source, table=tables[source.name.lower()],
                                            alias=alias, scope=scope)
    for scope in scopes:
        for column in scope.columns:
            origin = _source_of(scope, column.table)
            if isinstance(origin, exp.Table) and id(origin) in refs:
                ref = refs[id(origin)]
                catalog_column = find_column(ref.table, column.name)
                if catalog_column is not None:
                    ref.columns.setdefault(catalog_column.name.lower(), catalog_column)
                    column_nodes[id(column)] = catalog_column
    ordered = sorted(refs.values(), key=lambda r: _position(tree, r.node))
    return ordered, column_nodes


def _source_of(scope: Scope | None, alias: str) -> exp.Table | Scope | None:
    while scope is not None:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


def _position(tree: exp.Expr, node: exp.Expr) -> int:
    for index, candidate in enumerate(tree.walk(bfs=False)):
        if candidate is node:
            return index
    return 0


# -- column errors ---------------------------------------------------------------------------

def _check_qualified_columns(tree: exp.Query, tables: dict[str, Table]) -> None:
    """Check every ``qualifier.column`` before sqlglot qualifies the query, so that the error
    names the fault: an unknown qualifier (listing the tables and aliases in reach), or a
    column its table does not have (naming the table and the nearest column)."""
    for scope in traverse_scope(tree):
        for column in scope.columns:
            qualifier = column.table
            if not qualifier or isinstance(column.this, exp.Star):
                continue
            source, visible = _visible_source(scope, qualifier)
            if source is None:
                raise _unknown_qualifier(column, visible, tables)
            known = _source_columns(source, tables)
            if known is not None and column.name.lower() not in {k.lower() for k in known}:
                raise _unknown_qualified_column(column, source, known, tables)


def _visible_source(scope: Scope, qualifier: str
                    ) -> tuple[object | None, list[tuple[str, object]]]:
    """The source ``qualifier`` names from ``scope`` (its own, then enclosing scopes'), and
    every source in reach, nearest first, for the error message."""
    wanted = qualifier.lower()
    visible: list[tuple[str, object]] = []
    current: Scope | None = scope
    while current is not None:
        for alias, source in current.sources.items():
            if alias.lower() == wanted:
                return source, visible
            visible.append((alias, source))
        current = current.parent
    return None, visible


def _source_columns(source: object, tables: dict[str, Table]) -> list[str] | None:
    """Column names a source offers, or None when unknown here (left to sqlglot)."""
    if isinstance(source, exp.Table):
        table = tables.get(source.name.lower())
        return [c.name for c in table_columns(table)] if table is not None else None
    if isinstance(source, Scope):
        holder = source.expression.parent
        while isinstance(holder, exp.SetOperation):
            # A recursive CTE's own name, seen from its recursive part, is its first SELECT:
            # the column list is on the CTE around the set operation.
            holder = holder.parent
        alias = holder.args.get("alias") if holder is not None else None
        named = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        if named:
            return named
        if isinstance(source.expression, exp.Query):
            names = source.expression.named_selects
            if names and all(n and n != "*" for n in names):
                return list(names)
    return None


def _source_label(alias: str, source: object, tables: dict[str, Table]) -> str:
    if isinstance(source, exp.Table) and source.name.lower() in tables:
        return _describe_source(alias, tables[source.name.lower()])
    if isinstance(source, Scope) and source.is_cte:
        return f"{alias} (a WITH query)"
    return f"{alias} (a subquery)"


def _describe_source(alias: str, table: Table | None) -> str:
    if table is None:
        return f"{alias} (a subquery)"
    return table.name if alias.lower() == table.name.lower() else f"{alias} ({table.name})"


def _unknown_qualifier(column: exp.Column, visible: list[tuple[str, object]],
                       tables: dict[str, Table]) -> ProgrammingError:
    qualifier = column.table
    labels = list(dict.fromkeys(_source_label(a, s, tables) for a, s in visible))
    known = ", ".join(labels) if labels else "no tables"
    message = (f"unknown table or alias {qualifier!r} in {column.sql(DIALECT)}: "
               f"the query's tables here are {known}")
    for alias, source in visible:
        if isinstance(source, exp.Table) and source.name.lower() == qualifier.lower():
            return ProgrammingError(f"{message}; {source.name} has the alias {alias} here: "
                                    f"write {alias}.{column.name}")
    hint = difflib.get_close_matches(qualifier.lower(), [a.lower() for a, _ in visible], n=1,
                                     cutoff=0.5)
    if hint:
        alias = next(a for a, _ in visible if a.lower() == hint[0])
        message += f"; did you mean {alias}.{column.name}?"
    return ProgrammingError(message)


def _unknown_qualified_column(column: exp.Column, source: object, known: list[str],
                              tables: dict[str, Table]) -> ProgrammingError:
    qualifier, name = column.table, column.name
    hint = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    suggestion = ""
    if hint:
        suggestion = f"; did you mean {qualifier}.{_original(hint[0], known)}?"
    if isinstance(source, exp.Table) and source.name.lower() in tables:
        table = tables[source.name.lower()]
        where = table.name if qualifier.lower() == table.name.lower() else \
            f"{table.name} (alias {qualifier})"
        if not suggestion:
            suggestion = (f"; SELECT ColumnName FROM sys_tablecolumns WHERE TableName = "
                          f"'{table.name}' lists its columns")
        return ProgrammingError(f"unknown column {name!r} in {where}{suggestion}")
    if not suggestion:
        suggestion = f"; it has {', '.join(known)}"
    return ProgrammingError(f"unknown column {name!r} in {_source_label(qualifier, source, tables)}"
                            f"{suggestion}")


# sqlglot's message for an unresolved column (text: compiled by ``re`` when one is reported).
_UNRESOLVED = r"Column '([^']+)' could not be resolved|Unknown column: (\w+)"


def _column_error(message: str, tables: dict[str, Table],
                  spelling: dict[str, str] | None = None) -> ProgrammingError:
    match = re.search(_UNRESOLVED, message)
    if not match:
        return ProgrammingError(f"cannot resolve the query's columns: {message}")
    name = match.group(1) or match.group(2)
    name = (spelling or {}).get(name.lower(), name)  # sqlglot reports it lower-cased
    candidates = [(c.name, t.name) for t in tables.values() for c in t.columns]
    owners = [t for c, t in candidates if c.lower() == name.lower()]
    if len(owners) > 1:
        return ProgrammingError(
            f"column {name!r} is ambiguous: it is in {', '.join(sorted(set(owners)))}; "
            "qualify it with the table name or alias")
    table_names = ", ".join(t.name for t in tables.values()) or "the query"
    hint = difflib.get_close_matches(name.lower(), [c.lower() for c, _ in candidates], n=1,
                                     cutoff=0.6)
    suggestion = ""
    if hint:
        column, owner = next((c, t) for c, t in candidates if c.lower() == hint[0])
        suggestion = f"; did you mean {owner}.{column}?"
    return ProgrammingError(f"unknown column {name!r} in {table_names}{suggestion}")


def _original(lowered: str, names: list[str]) -> str:
    for name in names:
        if name.lower() == lowered.lower():
            return name
    return lowered
