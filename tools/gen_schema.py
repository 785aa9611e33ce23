"""Generate ``schema/*.toml`` (the table catalog) from the Microsoft Graph v1.0 CSDL.

Build-time tool, not part of the driver. Stage: catalog source. It reads the v1.0 ``$metadata``
(``graph-v1.0-metadata.xml``) for entity shapes, and the documentation-derived capability tables
(``graph-csdl-subset.json``: ``docQueryCapabilities``, ``directoryFilterSupport``) for users and
groups; everything else Graph documents about filtering, sorting and paging is written down in
the ``SPECS`` below, each with its source in ``reference/graph-semantics.md``. It hands on the
TOML files that ``o365sql.catalog.load_catalog`` reads, and ``tests/catalog/csdl_subset.json``
(the CSDL shapes the catalog tests check column paths against).

Hand-tuned facts live here, not in the TOML files, so regenerating never loses them::

    python tools/gen_schema.py                 # rewrite schema/*.toml and the test subset
    python tools/gen_schema.py --check         # exit 1 if the files differ from a fresh run
    python tools/gen_schema.py --reference DIR # where the reference files are

Policy (graph-semantics.md is the authority): a column gets ``$filter`` operators or
``$orderby`` only when the reference documents (doc) or observed (obs) them for that property on
that endpoint. Where it is silent, nothing is pushed and the TOML says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema_specs import SPECS, TableSpec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = Path("/work/shared/reference")
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
GRAPH_NS = "microsoft.graph"

PRIMITIVE_SQL = {
    "Edm.String": "VARCHAR", "Edm.Boolean": "BOOLEAN", "Edm.Int32": "INTEGER",
    "Edm.Int16": "INTEGER", "Edm.Byte": "INTEGER", "Edm.SByte": "INTEGER", "Edm.Int64": "BIGINT",
    "Edm.Double": "DOUBLE", "Edm.Single": "DOUBLE", "Edm.Decimal": "DECIMAL",
    "Edm.DateTimeOffset": "DATETIME", "Edm.Date": "DATE", "Edm.TimeOfDay": "TIME",
    "Edm.Binary": "VARBINARY", "Edm.Guid": "GUID", "Edm.Duration": "VARCHAR",
}
# Flattening stops here; deeper complex values become one JSON column.
MAX_DEPTH = 4
# Operators whose loose (case-insensitive) result is not a superset of SQL's: never pushed on
# inexact columns (see o365sql/catalog.py, filter_exact).
UNSAFE_WHEN_INEXACT = {"ne", "gt", "ge", "lt", "le"}


# -- CSDL ----------------------------------------------------------------------------------
@dataclass
class CsdlType:
    name: str
    kind: str  # EntityType | ComplexType | EnumType
    base: str | None = None
    props: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, type, nullable)
    members: list[str] = field(default_factory=list)


def short(type_name: str) -> str:
    """``graph.message`` / ``microsoft.graph.message`` -> ``message``; others unchanged."""
    for prefix in ("graph.", GRAPH_NS + "."):
        if type_name.startswith(prefix) and "." not in type_name[len(prefix):]:
            return type_name[len(prefix):]
    return type_name


def load_csdl(path: Path) -> dict[str, CsdlType]:
    """The EntityType/ComplexType/EnumType definitions of namespace microsoft.graph."""
    types: dict[str, CsdlType] = {}
    root = ET.parse(path).getroot()
    for schema in root.iter(EDM + "Schema"):
        if schema.get("Namespace") != GRAPH_NS:
            continue
        for el in schema:
            kind = el.tag.removeprefix(EDM)
            if kind not in ("EntityType", "ComplexType", "EnumType"):
                continue
            t = CsdlType(el.get("Name", ""), kind)
            if el.get("BaseType"):
                t.base = short(el.get("BaseType", ""))
            for child in el:
                if child.tag == EDM + "Property":
                    t.props.append((child.get("Name", ""), child.get("Type", ""),
                                    child.get("Nullable", "true") != "false"))
                elif child.tag == EDM + "Member":
                    t.members.append(child.get("Name", ""))
            types[t.name] = t
    return types


def all_props(types: dict[str, CsdlType], name: str) -> list[tuple[str, str, bool]]:
    """Properties of ``name`` and its base types, base first."""
    chain: list[CsdlType] = []
    current: str | None = name
    while current is not None:
        chain.append(types[current])
        current = types[current].base
    return [p for t in reversed(chain) for p in t.props]


# -- columns -------------------------------------------------------------------------------
def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def flatten(types: dict[str, CsdlType], owner: str, prop: str, type_name: str,
            nullable: bool) -> list[dict[str, Any]]:
    """The columns for one top-level property (complex values flattened with ``_``)."""
    return _flatten(types, owner, (prop,), type_name, nullable, 1)


def _column(path: tuple[str, ...], owner: str, edm: str, sql: str, nullable: bool) -> dict[str, Any]:
    return {"name": "_".join(pascal(p) for p in path), "sql_type": sql, "edm_type": edm,
            "path": list(path), "select": path[0], "nullable": nullable,
            "description": f"Graph {owner}.{'/'.join(path)} ({edm})"}


def _flatten(types: dict[str, CsdlType], owner: str, path: tuple[str, ...], type_name: str,
             nullable: bool, depth: int) -> list[dict[str, Any]]:
    if type_name.startswith("Collection("):
        inner = type_name[len("Collection("):-1]
        full = inner if inner.startswith("Edm.") else f"{GRAPH_NS}.{short(inner)}"
        return [_column(path, owner, f"Collection({full})", "JSON", nullable)]
    if type_name in PRIMITIVE_SQL:
        return [_column(path, owner, type_name, PRIMITIVE_SQL[type_name], nullable)]
    if type_name.startswith("Edm."):  # Edm.Stream, Edm.Untyped ...
        return [] if type_name == "Edm.Stream" else [_column(path, owner, type_name, "JSON", nullable)]
    name = short(type_name)
    t = types.get(name)
    full = f"{GRAPH_NS}.{name}"
    if t is None:
        return [_column(path, owner, type_name, "JSON", nullable)]
    if t.kind == "EnumType":
        col = _column(path, owner, full, "ENUM", nullable)
        col["enum_values"] = list(t.members)
        return [col]
    if name == "dateTimeTimeZone":
        # Wall-clock time in <Prop>_TimeZone, kept naive (see o365sql/catalog.py docstring).
        when = _column(path + ("dateTime",), owner, "Edm.String", "DATETIME", nullable)
        when["literal_form"] = "datetime-string"
        when["description"] += "; naive wall-clock time in the *_TimeZone column"
        return [when, _column(path + ("timeZone",), owner, "Edm.String", "VARCHAR", nullable)]
    props = all_props(types, name)
    if not props or depth >= MAX_DEPTH:
        return [_column(path, owner, full, "JSON", nullable)]
    out: list[dict[str, Any]] = []
    for sub, sub_type, sub_nullable in props:
        out += _flatten(types, owner, path + (sub,), sub_type, nullable or sub_nullable, depth + 1)
    return out


# -- capabilities --------------------------------------------------------------------------
DOC_OPS = {"eq": "eq", "ne": "ne", "ge": "ge", "le": "le", "gt": "gt", "lt": "lt", "in": "in",
           "startsWith": "startswith", "endsWith": "endswith"}


def directory_caps(ref: dict[str, Any], resource: str, col: dict[str, Any]) -> dict[str, Any]:
    """Filter/orderby/search facts for a users/groups column from the documented tables."""
    doc = ref["docQueryCapabilities"][resource]
    support = ref["directoryFilterSupport"]
    path = col["path"]
    top = doc.get(path[0])
    if top is None:
        return {}
    caps: dict[str, Any] = {}
    if len(path) == 1:
        key = path[0]
    else:  # employeeOrgData {costCenter}, passwordProfile {forceChange...}, extensionAttributeN
        sub = path[1]
        key = f"{path[0]} {{{sub}}}"
        if sub.startswith("extensionAttribute"):
            key = f"{path[0]} {{extensionAttribute1-15}}"
        if len(path) > 2 or key not in support:
            return {}
    modes = support.get(key)
    if modes is None and path[0] == "assignedLicenses":
        modes = support.get(f"assignedLicenses {{skuId}} ({resource.capitalize()}s)")
    ops = {DOC_OPS[o] for o in top.get("filterOperators", []) if o in DOC_OPS}
    inexact = col["sql_type"] in ("VARCHAR", "ENUM") or (
        col["sql_type"] == "JSON" and col["edm_type"] == "Collection(Edm.String)")
    if inexact:  # directory string comparisons ignore case (graph-semantics §2.3)
        ops -= UNSAFE_WHEN_INEXACT
    advanced = set()
    for op in ops:
        doc_name = {v: k for k, v in DOC_OPS.items()}[op]
        mode = (modes or {}).get(doc_name)
        # Missing from the per-property table: ne/endsWith are advanced by definition (§3.11);
        # anything else unlisted is treated as advanced too, which always works.
        if mode != "default":
            advanced.add(op)
    if col["sql_type"] == "JSON":
        if path[0] == "assignedLicenses":
            ops &= {"eq"}
            caps["any_path"] = ["skuId"]
        elif col["edm_type"] != "Collection(Edm.String)":
            ops = set()
        ops &= {"eq", "startswith", "endswith"}
        if ops:
            caps["filter_ops"] = ["any"]
            caps["any_ops"] = sorted(ops)
    elif ops:
        caps["filter_ops"] = sorted(ops)
    if ops and inexact:
        caps["filter_exact"] = False
    if advanced & ops:
        caps["advanced_ops"] = sorted(advanced & ops)
    if len(path) == 1 and top.get("orderBy"):
        caps["orderable"] = True
    if len(path) == 1 and top.get("search"):
        caps["searchable"] = True
    return caps


# -- table assembly ------------------------------------------------------------------------
def build_columns(spec: TableSpec, types: dict[str, CsdlType], ref: dict[str, Any]) -> list[dict[str, Any]]:
    owner = spec.entity
    columns: list[dict[str, Any]] = []
    for prop, type_name, nullable in all_props(types, owner):
        if prop in spec.exclude:
            continue
        columns += flatten(types, owner, prop, type_name, nullable)
    for subtype in spec.subtypes:
        for prop, type_name, nullable in types[subtype].props:
            for col in flatten(types, subtype, prop, type_name, True):
                col["entity_subtype"] = f"{GRAPH_NS}.{subtype}"
                col["selectable"] = False  # derived-type property: not $select-able on the base
                columns.append(col)
    for subtype, props in spec.subtype_props.items():
        wanted = {p: (t, n) for p, t, n in all_props(types, subtype)}
        for prop in props:
            type_name, _ = wanted[prop]
            for col in flatten(types, subtype, prop, type_name, True):
                col["entity_subtype"] = f"{GRAPH_NS}.{subtype}"
                col["selectable"] = False
                columns.append(col)
    by_name = {c["name"]: c for c in columns}
    by_name["Id"]["key"] = True
    by_name["Id"]["nullable"] = False
    for name in spec.annotations:
        columns.insert(1, dict(ANNOTATIONS[name]))
    for col in columns:
        if col.get("select") in spec.heavy_props:
            col["heavy"] = True
        if col["name"] in spec.always_set:
            col["nullable"] = False
        if col["name"] in spec.not_selectable:
            col["selectable"] = False
        if col.get("select") in spec.select_only:
            col["select_only"] = True
        if col.get("select") in spec.page_caps:
            col["max_page_size"] = spec.page_caps[col["select"]]
        if col.get("select") in spec.writable and not col.get("entity_subtype"):
            col["readonly"] = False
        if col["name"] in spec.endpoint_params:
            col["endpoint_param"] = True
            if spec.table.get("well_known_folders"):
                col["description"] += (
                    "; WHERE ParentFolderId = x (a folder id or a well-known name such as "
                    "'Inbox', any case) reads folder x through its endpoint; a name means its "
                    "folder in every comparison")
            else:
                col["description"] += ("; WHERE ParentFolderId = x (a folder id) reads folder x "
                                       "through its endpoint")
        if spec.directory:
            col.update(directory_caps(ref, spec.directory, col))
            if col.get("select") and col["path"][0] not in ref["docQueryCapabilities"][spec.directory] \
                    and not col.get("entity_subtype"):
                col["heavy"] = True
                col["why"] = ("not in the documented property table of the resource page "
                              "(graph-csdl-subset.json docQueryCapabilities); may need extra "
                              "permissions, so only fetched when named")
        caps = spec.caps.get(col["name"])
        if caps is not None:
            col.update(caps)
            loose = col["sql_type"] in ("VARCHAR", "ENUM", "JSON") or col.get("literal_form")
            if caps.get("filter_ops") and loose:
                col["filter_exact"] = False
    for col in columns:
        if col.get("filter_exact") is False:
            unsafe = UNSAFE_WHEN_INEXACT & set(col.get("filter_ops", []))
            assert not unsafe or col.get("literal_form"), (spec.name, col["name"], unsafe)
    unknown = (set(spec.caps) | spec.not_selectable | spec.endpoint_params | spec.always_set) - {
        c["name"] for c in columns}
    assert not unknown, (spec.name, unknown)
    unknown_props = spec.select_only - {c.get("select") for c in columns}
    assert not unknown_props, (spec.name, unknown_props)
    unwritable = spec.writable - {c.get("select") for c in columns}
    assert not unwritable, (spec.name, unwritable)
    columns += [dict(p) for p in spec.pseudo]
    return columns


ANNOTATIONS: dict[str, dict[str, Any]] = {
    "Etag": {"name": "Etag", "sql_type": "VARCHAR", "edm_type": "Edm.String",
             "path": ["@odata.etag"],
             "description": "The item's @odata.etag (weak ETag); Graph returns it on every Outlook item"},
    "ODataType": {"name": "ODataType", "sql_type": "VARCHAR", "edm_type": "Edm.String",
                  "path": ["@odata.type"],
                  "description": "The item's @odata.type, e.g. #microsoft.graph.fileAttachment"},
}


# -- TOML output ---------------------------------------------------------------------------
def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


COLUMN_KEY_ORDER = [
    "name", "sql_type", "edm_type", "path", "select", "key", "nullable", "pseudo",
    "endpoint_param", "default_value", "enum_values", "filter_ops", "filter_exact", "any_ops",
    "any_path", "advanced_ops", "orderable", "searchable", "heavy", "selectable",
    "select_only", "entity_subtype", "literal_form", "max_page_size", "readonly", "description",
]
COLUMN_DEFAULTS = {"nullable": True, "key": False, "pseudo": False, "endpoint_param": False,
                   "filter_exact": True, "orderable": False, "searchable": False, "heavy": False,
                   "selectable": True, "select_only": False, "literal_form": "",
                   "readonly": True}


def comment(text: str, width: int = 98) -> list[str]:
    lines: list[str] = []
    for para in text.strip().split("\n"):
        words, line = para.split(), "#"
        for w in words:
            if len(line) + 1 + len(w) > width:
                lines.append(line)
                line = "#"
            line += " " + w
        lines.append(line)
    return lines


def render(spec: TableSpec, columns: list[dict[str, Any]]) -> str:
    out = comment(f"{spec.name}: {spec.description}")
    out += comment("GENERATED by tools/gen_schema.py from the Graph v1.0 CSDL; edit the generator "
                   "(tools/schema_specs.py), not this file.")
    out += ["#"] + comment(spec.notes) + [""]
    top = {"name": spec.name, "entity": f"{GRAPH_NS}.{spec.entity}", "kind": spec.kind,
           "description": spec.description, "key": "Id", **spec.table}
    for k, v in top.items():
        if v is not None:
            out.append(f"{k} = {toml_value(v)}")
    for group in ("endpoints", "item_endpoints", "folder_endpoints"):
        for ep in getattr(spec, group):
            out += ["", f"[[{group}]]"]
            for k, v in ep.items():
                out.append(f"{k} = {toml_value(v)}")
    for col in columns:
        out.append("")
        if col.get("why"):
            out += comment(col["why"])
        out.append("[[columns]]")
        for k in COLUMN_KEY_ORDER:
            if k not in col or col[k] is None:
                continue
            if k in COLUMN_DEFAULTS and col[k] == COLUMN_DEFAULTS[k]:
                continue
            if isinstance(col[k], list) and not col[k] and k not in ("any_path",):
                continue
            out.append(f"{k} = {toml_value(col[k])}")
    return "\n".join(out) + "\n"


def test_subset(types: dict[str, CsdlType]) -> str:
    """The CSDL shapes reachable from the catalog's entities (for tests/catalog)."""
    wanted: dict[str, Any] = {}
    todo = [s.entity for s in SPECS] + [t for s in SPECS for t in s.subtypes] + [
        t for s in SPECS for t in s.subtype_props]
    while todo:
        name = todo.pop()
        if name in wanted or name not in types:
            continue
        t = types[name]
        entry: dict[str, Any] = {"kind": t.kind}
        if t.base:
            entry["base"] = t.base
            todo.append(t.base)
        if t.members:
            entry["members"] = t.members
        if t.props:
            entry["properties"] = {p: ty for p, ty, _ in t.props}
            for _, ty, _ in t.props:
                inner = ty[len("Collection("):-1] if ty.startswith("Collection(") else ty
                todo.append(short(inner))
        wanted[name] = entry
    about = ("Subset of the Microsoft Graph v1.0 CSDL (microsoftgraph/msgraph-metadata, "
             "clean_v10_metadata/cleanMetadata.xml): the types the o365sql catalog uses. "
             "Generated by tools/gen_schema.py.")
    return json.dumps({"_about": about, "types": dict(sorted(wanted.items()))}, indent=1) + "\n"


def generate(reference: Path) -> dict[Path, str]:
    types = load_csdl(reference / "graph-v1.0-metadata.xml")
    ref = json.loads((reference / "graph-csdl-subset.json").read_text(encoding="utf-8"))
    files = {ROOT / "schema" / f"{s.file}.toml": render(s, build_columns(s, types, ref)) for s in SPECS}
    files[ROOT / "tests" / "catalog" / "csdl_subset.json"] = test_subset(types)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = generate(args.reference)
    stale = [p for p, text in files.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}")
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(files[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
