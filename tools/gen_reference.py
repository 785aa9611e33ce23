"""Generate ``docs/reference.md``: every table, column, pseudo-column, stored procedure and
connection property o365sql has, from the sources the driver itself reads.

Build-time tool, not part of the driver. Stage: documentation. It reads the catalog
(``o365sql.catalog.load_catalog()``, i.e. ``schema/*.toml``), the procedure registry
(``o365sql.procedures.all_procedures()``) and the connection properties
(``o365sql.properties.SPECS`` and the ``Properties`` dataclass, whose field comments are the
descriptions), and hands on one Markdown file. ``tests/cli/test_cli_reference_doc.py`` checks
that the committed file equals a fresh run, so the reference cannot drift from the code::

    python tools/gen_reference.py            # rewrite docs/reference.md
    python tools/gen_reference.py --check    # exit 1 if docs/reference.md is out of date
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from o365sql import procedures, properties
from o365sql import system_catalog as catalog_module
from o365sql.catalog import Catalog, Column, Table, load_catalog

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "reference.md"

# Descriptions of properties whose field in properties.py carries no comment yet (CData's
# meanings, reference/cdata-data-model.md §5.2). A comment on the field takes precedence.
FALLBACK_PROPERTY_DOCS = {
    "auth_scheme": "How to sign in: AzureAD (a person, delegated), AzureServicePrincipal "
                   "(the app itself, client secret) or AzureServicePrincipalCert (the app "
                   "itself, certificate).",
    "azure_tenant": "The tenant (directory id or a verified domain such as "
                    "contoso.onmicrosoft.com); required for app-only sign-in. Unset: "
                    "'common' (the person's home tenant).",
    "azure_environment": "The national cloud: chooses the Graph and sign-in hosts.",
    "initiate_oauth": "OFF: use OAuthAccessToken as given. REFRESH: refresh the tokens kept "
                      "in OAuthSettingsLocation (or OAuthRefreshToken), never sign in. "
                      "GETANDREFRESH: as REFRESH, and sign the person in when nothing can "
                      "be refreshed.",
    "oauth_client_id": "The application (client) id of the app registration.",
    "oauth_client_secret": "The app's client secret (confidential apps, app-only sign-in).",
    "oauth_access_token": "An access token to use as is (with InitiateOAuth=OFF).",
    "oauth_refresh_token": "A refresh token to redeem (with InitiateOAuth=REFRESH).",
    "oauth_settings_location": "Where tokens are kept between connections: a file path "
                               "(0600, shared by processes) or memory://<id>. Unset: this "
                               "process's memory.",
    "callback_url": "The redirect URI: a loopback http://localhost:<port> for the desktop "
                    "browser sign-in, the web app's URL for GetOAuthAuthorizationURL.",
    "scope": "Space-separated permissions to ask for; unset: <Graph>/.default.",
    "oauth_jwt_cert": "The certificate credential: a PEM file with the certificate and its "
                      "private key, a PFX file, or the key itself (*_BLOB types).",
    "oauth_jwt_cert_type": "How OAuthJWTCert is given.",
    "oauth_jwt_cert_password": "The password of an encrypted key or PFX file.",
    "oauth_jwt_cert_subject": "When set, the certificate's subject must contain it.",
    "ssl_server_cert": "A PEM file of CA certificates to trust instead of the system's "
                       "(the emulator's CA).",
}


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    names = list(header)
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _anchor(name: str) -> str:
    return name.lower().replace(" ", "-")


# ------------------------------------------------------------------ connection properties
def field_comments() -> dict[str, str]:
    """``{field: comment}`` from the comments on ``Properties``' field lines."""
    source = inspect.getsource(properties.Properties)
    lines = source.splitlines()
    comments: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = lines[node.lineno - 1]
            if "#" in line:
                comments[node.target.id] = line.split("#", 1)[1].strip()
    return comments


def _property_type(spec: properties.PropertySpec) -> str:
    if spec.kind == "enum":
        return "one of " + ", ".join(spec.choices)
    return {"str": "text", "secret": "text (secret)", "cert": "text (path or key)",
            "url": "URL", "bool": "true/false", "int": "whole number"}.get(spec.kind, spec.kind)


def _property_default(spec: properties.PropertySpec, default: properties.Properties) -> str:
    value = getattr(default, spec.field)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def properties_section() -> list[str]:
    comments = field_comments()
    default = properties.Properties()
    rows = []
    for spec in properties.SPECS:
        doc = getattr(spec, "description", "") or comments.get(spec.field) \
            or FALLBACK_PROPERTY_DOCS.get(spec.field, "")
        rows.append((f"`{spec.name}`", _property_type(spec), _property_default(spec, default),
                     doc[:1].upper() + doc[1:]))
    return ["## Connection properties", "",
            ("Names are CData's, matched case-insensitively (snake case is accepted too: "
            "`oauth_client_id`). Give them as a `Key=Value;` string, as keywords of "
            "`o365sql.connect()`, in an `o365sql://` URL's query string, or to the CLI with "
            "`--connect`, `-p` or `$O365SQL_CONNECT`."), "",
            *_table(["Property", "Type", "Default", "Description"], rows), ""]


# ------------------------------------------------------------------ tables
def _filter(column: Column) -> str:
    ops = sorted(column.filter_ops)
    if not ops:
        return ""
    text = " ".join(ops)
    return text + (" (pre-filter, re-checked)" if not column.filter_exact else "")


def _flags(column: Column, table: Table) -> str:
    flags = []
    if column.name == table.key:
        flags.append("key")
    if column.pseudo:
        flags.append("pseudo")
    if column.endpoint_param:
        flags.append("addresses endpoint")
    if column.heavy:
        flags.append("heavy")
    if column.select_only:
        flags.append("select-only")
    if not column.readonly:
        flags.append("writable")
    if not column.nullable:
        flags.append("not null")
    return ", ".join(flags)


def _type(column: Column) -> str:
    if column.sql_type == "ENUM" and column.enum_values:
        return "ENUM (" + ", ".join(column.enum_values) + ")"
    if column.sql_type == "DATETIME":
        return "DATETIME (UTC)" if column.edm_type == "Edm.DateTimeOffset" else \
            "DATETIME (wall clock)"
    return column.sql_type


def table_section(table: Table) -> list[str]:
    out = [f"### {table.name}", "", f"{table.description}", ""]
    facts = [f"{'View' if table.kind == 'view' else 'Table'} of `{table.entity}`",
             f"key `{table.key}`", (f"page size {table.default_page_size} by default, at most "
             f"{table.max_page_size}")]
    if table.supports_count:
        facts.append("`COUNT(*)` via `$count`")
    if table.search:
        facts.append(f"`$search` ({table.search})")
    if table.insertable or table.updatable or table.deletable:
        verbs = [v for v, ok in (("INSERT", table.insertable), ("UPDATE", table.updatable),
                                 ("DELETE", table.deletable)) if ok]
        facts.append("writable: " + ", ".join(verbs))
    out += ["; ".join(facts) + ".", ""]
    writable = [c.name for c in table.columns if not c.readonly]
    if writable and (table.insertable or table.updatable):
        addresses = [c.name for c in table.pseudo_columns() if c.name != "SearchTerms"]
        out += [("Writable columns (INSERT and UPDATE SET; read-only ones are refused by name): "
                 + ", ".join(f"`{n}`" for n in writable) + "."), ""]
        if addresses:
            out += [("An INSERT may also give " + ", ".join(f"`{n}`" for n in addresses)
                     + ": they choose where the item is created (the first endpoint below "
                     "whose columns are given)."), ""]
    out += ["Endpoints (the first whose required columns the WHERE clause binds is used):", ""]
    out += [f"* `{e.template}`" + (f" (needs {', '.join(e.requires)})" if e.requires else "")
            for e in table.endpoints]
    out.append("")
    pseudo = table.pseudo_columns()
    if pseudo:
        out += ["Pseudo-columns and addressing columns (bind with `=` or `IN`):", ""]
        for c in pseudo:
            default = f"; unbound: `{c.default_value}`" if c.default_value is not None else ""
            kind = "pseudo-column" if c.pseudo else "real column that also addresses the endpoint"
            out.append(f"* `{c.name}` ({kind}{default}): {c.description}".rstrip(": "))
        out.append("")
    rows = [(f"`{c.name}`", _type(c), _filter(c), "yes" if c.orderable else "",
             _flags(c, table), c.description) for c in table.columns]
    out += _table(["Column", "Type", "$filter", "$orderby", "Flags", "Description"], rows)
    out.append("")
    return out


def tables_section(catalog: Catalog) -> list[str]:
    out = ["## Tables and views", "", WRITES, "",
           ("Column flags: *pseudo*: addresses the endpoint rather than being a Graph property; "
           "*heavy*: left out of `SELECT *` (name it to get it); *select-only*: Graph returns it "
           "only when `$select` names it, so when a query also names a column that cannot be "
           "selected (the scan then sends no `$select`) it is read by one more request per "
           "page, matched by key; *$filter*: the operators "
           "Graph evaluates on the column (everything else is evaluated locally, with the same "
           "result); *pre-filter*: Graph compares loosely (e.g. case-insensitively), so "
           "o365sql re-checks its answer. DATETIME (UTC) values are timezone-aware; "
           "DATETIME (wall clock) values are naive, in the zone of the matching `*_TimeZone` "
           "column."), ""]
    out += _table(["Table", "Kind", "Description"],
                  ((f"[{t.name}](#{_anchor(t.name)})", t.kind, t.description) for t in catalog))
    out.append("")
    for table in catalog:
        out += table_section(table)
    return out


WRITES = (
    "INSERT, UPDATE and DELETE work on the tables marked *writable* below. Values are written "
    "in the form SELECT reads them: collections as JSON text (`'[{\"emailAddress\":"
    "{\"address\":\"a@x.com\"}}]'`), `*_DateTime` wall-clock values with their `*_TimeZone`, "
    "DATETIME (UTC) values as aware datetimes or ISO 8601 text, enums by member name. "
    "An INSERT into Messages creates a draft (send it with `EXEC SendMail @Id = ...`). "
    "UPDATE and DELETE take any WHERE: the rows are found with a SELECT, then each is changed "
    "by its id. `rowcount` is the number of items created, changed or deleted; "
    "`INSERT ... RETURNING Id` (any columns) returns the new items; `cursor.lastrowid` is the "
    "id of the last one created (a string). `executemany` and SQLAlchemy/pandas bulk inserts "
    "send the writes 20 to a `$batch` request; a failing row does not stop the others, and the "
    "error raised afterwards says how many were done (`error.extra['outcomes']` has each "
    "row's). A create whose answer was lost is never sent again blindly: messages, contacts "
    "and events carry a client marker (a single-value extended property) and are looked up "
    "by it; otherwise the error says it may or may not have happened.")


# ------------------------------------------------------------------ procedures
def procedures_section() -> list[str]:
    out = ["## Stored procedures", "", ("Run with `EXEC Name @Param = value, ...` (or "
           "`cursor.callproc`)."), ""]
    for proc in sorted(procedures.all_procedures(), key=lambda p: p.name.lower()):
        out += [f"### {proc.name}", "", proc.description, ""]
        if proc.parameters:
            out += _table(["Parameter", "Type", "Required", "Default", "Description"],
                          ((f"`@{p.name}`", p.type, "yes" if p.required else "",
                            "" if p.default is None else p.default, p.description)
                           for p in proc.parameters))
            out.append("")
        if proc.result_columns:
            out += ["Returns:", ""]
            out += _table(["Column", "Type", "Description"],
                          ((f"`{c.name}`", c.type, c.description) for c in proc.result_columns))
            out.append("")
    return out


def system_tables_section() -> list[str]:
    out = ["## System tables", "", "Catalog metadata, queryable with SELECT like any table.", ""]
    for table in catalog_module.SYSTEM_TABLES.values():
        out.append(f"* `{table.name}`: " + ", ".join(f"{c.name} {c.sql_type}"
                                                      for c in table.columns))
        out.append(f"  {table.description}")
    return out + [""]


def replication_section() -> list[str]:
    """REPLICATE, AutoCache and Offline (``o365sql/replica/tracking.py``)."""
    from o365sql.execution.replica_scans import REPLICATE_COLUMNS
    from o365sql.replica.tracking import REPLICATION_DOC, TRACKED, functions, per

    out = ["## Replication", ""]
    out += list(REPLICATION_DOC) + [""]
    out += _table(["Table", "Graph delta functions", "Kept per"],
                  ((f"`{t.table}`", functions(t), per(t)) for t in TRACKED.values()))
    out += ["", "REPLICATE returns one row per table and mailbox: "
            + ", ".join(f"{c} {t}" for c, t in REPLICATE_COLUMNS) + ".", ""]
    return out


def semantics_section() -> list[str]:
    """The engine's documented SQL rules (``o365sql/execution/sql_rules.py``)."""
    from o365sql.execution.sql_rules import RULES

    out = ["## SQL semantics", "", ("Where o365sql's SQL differs from a first guess, and how "
           "Graph's looser semantics are kept out of the answers."), ""]
    for topic, rule in RULES:
        out += [f"* **{topic}.** {rule}"]
    return out + [""]


def render(catalog: Catalog | None = None) -> str:
    """The whole reference as Markdown."""
    catalog = catalog if catalog is not None else load_catalog()
    lines = ["# o365sql reference", "",
             ("<!-- GENERATED by tools/gen_reference.py from schema/*.toml, "
             "o365sql/procedures and o365sql/properties.py; do not edit by hand. -->"), "",
             "* [Connection properties](#connection-properties)",
             "* [SQL semantics](#sql-semantics)",
             "* [Tables and views](#tables-and-views)",
             "* [Stored procedures](#stored-procedures)",
             "* [System tables](#system-tables)",
             "* [Replication](#replication)", ""]
    lines += properties_section()
    lines += semantics_section()
    lines += tables_section(catalog)
    lines += procedures_section()
    lines += system_tables_section()
    lines += replication_section()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the file differs from a fresh generation")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python tools/gen_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
