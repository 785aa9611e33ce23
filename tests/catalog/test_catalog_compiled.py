"""The shipped tables are compiled once (issue 12 point 3: a process's first query): later
processes load a compiled form (``marshal``: plain data, the fields that differ from their
defaults) from the schema package's ``__pycache__`` instead of parsing the TOML files. The
compiled tables equal the parsed ones; a damaged or foreign file is ignored and replaced; the
file's name changes with any schema file's content."""

from __future__ import annotations

import dataclasses
import marshal
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from o365sql import catalog


def _texts() -> list[tuple[str, bytes]]:
    root = resources.files("o365sql.schema")
    return [(e.name, e.read_bytes()) for e in sorted(root.iterdir(), key=lambda e: e.name)
            if e.name.endswith(".toml")]


@pytest.fixture
def compiled() -> Path:
    root = resources.files("o365sql.schema")
    path = catalog._compiled_path(root, _texts())
    if path is None:
        pytest.skip("the schema package is not a folder (installed as a zip)")
    return path


def _load_shipped() -> dict[str, catalog.Table]:
    """What a new process loads (the cached catalog of this one is left alone)."""
    return catalog._shipped_tables.__wrapped__()


def _parsed() -> dict[str, catalog.Table]:
    tables: dict[str, catalog.Table] = {}
    for name, data in _texts():
        catalog._add(tables, catalog._read(data.decode("utf-8"), f"o365sql.schema/{name}"),
                     replace=False)
    return tables


def test_compiled_tables_equal_the_parsed_ones(compiled: Path) -> None:
    compiled.unlink(missing_ok=True)
    first = _load_shipped()  # parsed, then compiled
    assert compiled.is_file()
    loaded = _load_shipped()  # from the pickle
    assert loaded is not first and loaded == first == _parsed()
    assert [t.name for t in loaded.values()] == [t.name for t in _parsed().values()]
    # Stored as the fields that differ from the defaults, each object is rebuilt whole: every
    # field, in field order, of the same type (dataclass equality would take 1 for True).
    objects = 0
    for table, parsed in zip(loaded.values(), _parsed().values(), strict=True):
        pairs: list[tuple[Any, Any]] = [(table, parsed), *zip(table.columns, parsed.columns, strict=True),
                 *zip(table.endpoints + table.item_endpoints + table.folder_endpoints,
                      parsed.endpoints + parsed.item_endpoints + parsed.folder_endpoints,
                      strict=True)]
        for got, want in pairs:
            assert type(got) is type(want)
            names = [f.name for f in dataclasses.fields(got)]
            assert list(vars(got)) == names  # nothing cached besides (Table._by_name) is stored
            assert [(k, type(v), v) for k, v in vars(got).items()] == \
                [(k, type(vars(want)[k]), vars(want)[k]) for k in names]
            objects += 1
    assert objects > 500, objects
    # ... and the file holds no field left at its default (what makes it quick to load).
    states = 0
    for fields, *groups in marshal.loads(compiled.read_bytes()).values():
        for cls, items in ((catalog.Table, [fields]), (catalog.Column, groups[0]),
                           (catalog.Endpoint, [e for group in groups[1:] for e in group])):
            defaults = {f.name: f.default for f in dataclasses.fields(cls)}
            for changed in items:
                kept = [k for k, v in changed.items()
                        if type(v) is type(defaults[k]) and v == defaults[k]]
                assert kept == [], (cls.__name__, kept)
                states += 1
    assert states == objects


@pytest.mark.parametrize("content", [b"", b"not compiled", pickle.dumps({"messages": 42}),
                                     marshal.dumps({"messages": 42}), marshal.dumps({}),
                                     marshal.dumps({"messages": ({}, (), (), (), ())})[:-9],
                                     marshal.dumps(["a list"])])
def test_a_damaged_or_foreign_compiled_file_is_ignored_and_replaced(
        compiled: Path, content: bytes) -> None:
    compiled.parent.mkdir(exist_ok=True)
    compiled.write_bytes(content)
    assert _load_shipped() == _parsed()
    assert compiled.read_bytes() != content  # written again, whole


def test_the_compiled_name_follows_every_schema_file() -> None:
    root = resources.files("o365sql.schema")
    texts = _texts()
    names = {catalog._compiled_path(root, texts)}
    for index in range(len(texts)):
        changed = list(texts)
        changed[index] = (texts[index][0], texts[index][1] + b"\n")
        names.add(catalog._compiled_path(root, changed))
    assert len(names) == len(texts) + 1


def test_compiling_removes_files_compiled_from_other_sources(compiled: Path) -> None:
    stale = compiled.with_name("catalog-" + "0" * 32 + ".pickle")
    stale.write_bytes(b"old")
    compiled.unlink(missing_ok=True)
    assert _load_shipped() == _parsed()
    assert compiled.is_file() and not stale.exists()
