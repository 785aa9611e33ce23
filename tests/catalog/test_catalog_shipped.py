"""The shipped schema/*.toml: every table loads and agrees with the Graph v1.0 CSDL and the rules
the planner and renderer rely on (capability sanity, endpoints, naming, types)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from o365sql.catalog import FILTER_OPS, Column, Table, load_catalog
from o365sql.types import SQL_TYPES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REFERENCE = Path("/work/shared/reference")
SUBSET = json.loads((HERE / "csdl_subset.json").read_text(encoding="utf-8"))["types"]

REQUIRED_TABLES = {
    "Messages", "MailFolders", "Events", "CalendarView", "EventInstances", "Calendars",
    "Contacts", "ContactFolders", "Users", "Groups", "GroupMembers", "MessageAttachments",
    "EventAttachments",
}
PRIMITIVE_SQL = {
    "Edm.String": "VARCHAR", "Edm.Boolean": "BOOLEAN", "Edm.Int32": "INTEGER",
    "Edm.Int64": "BIGINT", "Edm.Double": "DOUBLE", "Edm.DateTimeOffset": "DATETIME",
    "Edm.Date": "DATE", "Edm.TimeOfDay": "TIME", "Edm.Binary": "VARBINARY", "Edm.Guid": "GUID",
    "Edm.Duration": "VARCHAR", "Edm.Decimal": "DECIMAL",
}
CATALOG = load_catalog()
TABLES = list(CATALOG)
COLUMNS = [(t, c) for t in TABLES for c in t.columns]


def short(name: str) -> str:
    return name.removeprefix("microsoft.graph.").removeprefix("graph.")


def props_of(type_name: str) -> dict[str, str]:
    """Declared properties of a CSDL type and its base types (from the committed subset)."""
    out: dict[str, str] = {}
    current: str | None = short(type_name)
    while current:
        entry = SUBSET[current]
        out = {**entry.get("properties", {}), **out}
        current = entry.get("base")
    return out


def resolve(entity: str, path: tuple[str, ...]) -> str:
    """The CSDL type at ``path`` below ``entity`` (KeyError when a step does not exist)."""
    type_name = entity
    for step in path:
        type_name = props_of(type_name)[step]
        if type_name.startswith("Collection(") and step != path[-1]:
            raise KeyError(f"{step} is a collection; cannot flatten below it")
    return type_name


def test_required_tables_present() -> None:
    assert REQUIRED_TABLES <= set(CATALOG.names())


def test_every_file_is_a_table() -> None:
    files = sorted(p.stem for p in (ROOT / "schema").glob("*.toml"))
    assert len(files) == len(TABLES)
    assert all(t.source.startswith("o365sql.schema/") for t in TABLES)


@pytest.mark.parametrize(("table", "col"), COLUMNS, ids=[f"{t.name}.{c.name}" for t, c in COLUMNS])
def test_column_exists_in_csdl(table: Table, col: Column) -> None:
    if col.pseudo:
        assert not col.path and col.select is None
        return
    if col.path[0].startswith("@odata."):
        assert col.select is None and col.sql_type == "VARCHAR"
        return
    owner = col.entity_subtype or table.entity
    if col.entity_subtype:  # a derived type of the table's entity, or the entity itself
        chain, current = [], short(col.entity_subtype)
        while current:
            chain.append(current)
            current = SUBSET[current].get("base")
        assert short(table.entity) in chain or table.entity.endswith("directoryObject")
        assert not col.selectable
    csdl_type = resolve(owner, col.path)
    assert col.select == col.path[0]
    # Naming rule: PascalCase of each path step joined with "_".
    assert col.name == "_".join(p[:1].upper() + p[1:] for p in col.path)
    if csdl_type.startswith("Collection("):
        inner = short(csdl_type[len("Collection("):-1])
        expected = inner if inner.startswith("Edm.") else f"microsoft.graph.{inner}"
        assert col.edm_type == f"Collection({expected})"
        assert col.sql_type == "JSON"
    elif csdl_type in PRIMITIVE_SQL:
        assert col.edm_type == csdl_type
        if col.path[-1] == "dateTime" and short(resolve(owner, col.path[:-1])) == "dateTimeTimeZone":
            assert (col.sql_type, col.literal_form) == ("DATETIME", "datetime-string")
        else:
            assert col.sql_type == PRIMITIVE_SQL[csdl_type]
    else:
        entry = SUBSET[short(csdl_type)]
        if entry["kind"] == "EnumType":
            assert col.sql_type == "ENUM"
            assert list(col.enum_values) == entry["members"]
        else:  # complex value kept whole
            assert col.sql_type == "JSON"


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_every_property_is_a_column(table: Table) -> None:
    """Every structural property of the entity appears (flattened), except documented exclusions."""
    selects = {c.select for c in table.columns if c.select}
    missing = set(props_of(table.entity)) - selects
    excluded = {
        "Users": {"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects",
                  "preferredName", "responsibilities", "schools", "skills", "mailboxSettings"},
        "Groups": {"allowExternalSenders", "autoSubscribeNewMembers", "hideFromAddressLists",
                   "hideFromOutlookClients", "isSubscribedByMail", "unseenCount",
                   "hasMembersWithLicenseErrors", "isArchived"},
    }.get(table.name, set())
    assert missing == excluded


@pytest.mark.parametrize(("table", "col"), COLUMNS, ids=[f"{t.name}.{c.name}" for t, c in COLUMNS])
def test_capabilities_are_sane(table: Table, col: Column) -> None:
    assert col.sql_type in SQL_TYPES
    assert col.filter_ops <= FILTER_OPS and col.any_ops <= FILTER_OPS
    assert col.advanced_ops <= col.filter_ops | col.any_ops
    if col.sql_type == "JSON":
        assert not col.orderable
        assert col.filter_ops <= {"any"}
    if "any" in col.filter_ops:
        assert col.is_collection and col.any_ops
    if not col.filter_exact:
        # A loose pre-filter must return a superset of SQL's rows.
        unsafe = col.filter_ops & {"ne", "gt", "ge", "lt", "le"}
        assert not unsafe or col.literal_form == "datetime-string"
    if col.sql_type in ("VARCHAR", "ENUM") and col.filter_ops:
        assert not col.filter_exact, "Graph compares strings case-insensitively"
    if col.pseudo:
        assert not (col.filter_ops or col.orderable)
        # Only SearchTerms stays out of SELECT * (it asks for $search; rows carry the terms).
        assert not col.heavy or col.name == "SearchTerms"
    if table.entity.endswith(".attachment"):
        assert not col.filter_ops, "attachments ignore $filter (graph-semantics §3.8)"
    if table.name in ("CalendarView", "EventInstances", "GroupMembers", "Calendars",
                      "MailFolders", "ContactFolders"):
        assert not (col.filter_ops or col.orderable), "reference silent: nothing pushed"
    if table.search != "directory":
        assert not (col.advanced_ops or col.searchable)


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_endpoints_are_consistent(table: Table) -> None:
    for ep in table.endpoints + table.item_endpoints:
        assert ep.template.startswith("/") and len(set(ep.requires)) == len(ep.requires)
        for name in ep.placeholders:
            col = table.column_or_error(name)
            assert col.name == name and name in ep.requires
            assert col.addresses_endpoint or col.key
        for param, name in ep.params:
            assert re.fullmatch(r"[a-z][A-Za-z]*", param)
            assert table.column_or_error(name).pseudo
    for ep in table.item_endpoints:
        assert "{Id}" in ep.template
    if table.window:
        for ep in table.endpoints:
            assert set(table.window) <= set(ep.requires)
            assert dict(ep.params) == {"startDateTime": table.window[0], "endDateTime": table.window[1]}


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_heavy_and_defaults(table: Table) -> None:
    defaults = table.default_columns()
    assert defaults and all(not c.heavy for c in defaults)
    assert table.column_or_error(table.key) in defaults
    for c in table.columns:  # heaviness is per $select unit
        if c.heavy and c.select:
            assert all(o.heavy for o in table.columns if o.select == c.select)


def test_messages_details() -> None:
    t = CATALOG.table("messages")
    assert [e.template for e in t.endpoints] == [
        "/users/{UserId}/mailFolders/{ParentFolderId}/messages", "/users/{UserId}/messages",
        "/me/mailFolders/{ParentFolderId}/messages", "/me/messages"]
    assert [e.requires for e in t.endpoints] == [("UserId", "ParentFolderId"), ("UserId",),
                                                  ("ParentFolderId",), ()]
    assert (t.search, t.orderby_must_lead_filter, t.max_page_size, t.supports_skip) == ("kql", True, 1000, True)
    parent = t.column_or_error("parentfolderid")
    assert parent.endpoint_param and not parent.pseudo and parent.path == ("parentFolderId",)
    user = t.column_or_error("UserId")
    assert user.pseudo and user.default_value == "me"
    assert {c.name for c in t.columns if c.heavy and not c.pseudo} == {
        "Body_Content", "Body_ContentType", "UniqueBody_Content", "UniqueBody_ContentType",
        "InternetMessageHeaders"}
    for name in ("From_EmailAddress_Name", "From_EmailAddress_Address", "Subject", "ToRecipients",
                 "Flag_FlagStatus", "ReceivedDateTime", "IsRead", "Categories"):
        assert t.column(name) is not None, name
    assert t.column("ToRecipients").filter_ops == frozenset()  # toRecipients/any fails (§2.4)
    assert "endswith" not in t.column("Subject").filter_ops
    assert t.column("Categories").any_ops == {"eq"} and t.column("Categories").any_path == ()


def test_event_times_and_windows() -> None:
    ev = CATALOG.table("Events")
    start = ev.column_or_error("Start_DateTime")
    assert (start.sql_type, start.edm_type, start.path) == ("DATETIME", "Edm.String", ("start", "dateTime"))
    assert ev.column_or_error("Start_TimeZone").sql_type == "VARCHAR"
    cv = CATALOG.table("CalendarView")
    assert cv.kind == "view" and cv.window == ("StartDateTime", "EndDateTime")
    assert not cv.column_or_error("CreatedDateTime").selectable
    inst = CATALOG.table("EventInstances")
    assert all({"EventId", "StartDateTime", "EndDateTime"} <= set(e.requires) for e in inst.endpoints)
    assert CATALOG.table("Contacts").column_or_error("EmailAddresses").any_path == ("address",)


def test_directory_tables() -> None:
    users = CATALOG.table("Users")
    assert (users.search, users.supports_skip, users.max_page_size, users.default_page_size) == (
        "directory", False, 999, 100)
    assert users.count_needs_eventual and users.filter_orderby_needs_eventual
    mail = users.column_or_error("Mail")
    assert {"eq", "startswith", "endswith"} <= mail.filter_ops and mail.advanced_ops == {"endswith"}
    assert not mail.filter_exact and "ne" not in mail.filter_ops
    assert {c.name for c in users.columns if c.orderable} == {"DisplayName", "UserPrincipalName"}
    assert users.column_or_error("SignInActivity_LastSignInDateTime").heavy
    assert "contains" not in set().union(*(c.filter_ops for c in users.columns))
    groups = CATALOG.table("Groups")
    assert groups.column_or_error("GroupTypes").any_ops == {"eq"}
    members = CATALOG.table("GroupMembers")
    assert members.endpoints[0].requires == ("GroupId",)
    att = CATALOG.table("MessageAttachments")
    assert not att.supports_top
    content = att.column_or_error("ContentBytes")
    assert content.heavy and content.sql_type == "VARBINARY" and not content.selectable


@pytest.mark.skipif(not (REFERENCE / "graph-v1.0-metadata.xml").exists(),
                    reason="needs the shared reference CSDL")
def test_generated_files_are_current() -> None:
    """The TOML files and the CSDL subset are exactly what tools/gen_schema.py produces."""
    spec = importlib.util.spec_from_file_location("gen_schema", ROOT / "tools" / "gen_schema.py")
    assert spec and spec.loader
    module: Any = importlib.util.module_from_spec(spec)
    sys.modules["gen_schema"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    files = module.generate(REFERENCE)
    stale = [str(p) for p, text in files.items() if p.read_text(encoding="utf-8") != text]
    assert stale == []


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_search_tables_declare_search_terms(table: Table) -> None:
    """The catalog is the one definition of SearchTerms: present exactly where Graph searches."""
    terms = table.column("SearchTerms")
    if table.search:
        assert terms is not None and terms.pseudo and terms.heavy
        assert terms not in table.default_columns()
    else:
        assert terms is None


def test_outlook_stamps_are_not_nullable() -> None:
    for name, columns in (("Messages", ("ReceivedDateTime", "CreatedDateTime",
                                         "LastModifiedDateTime")),
                          ("Events", ("CreatedDateTime", "LastModifiedDateTime")),
                          ("Contacts", ("CreatedDateTime", "LastModifiedDateTime"))):
        for column in columns:
            assert not CATALOG.table(name).column_or_error(column).nullable, (name, column)
    # Drafts have no sentDateTime: it stays nullable.
    assert CATALOG.table("Messages").column_or_error("SentDateTime").nullable
