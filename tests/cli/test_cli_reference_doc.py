"""``docs/reference.md`` is exactly what ``tools/gen_reference.py`` generates now, and it
names every table, column, procedure, parameter and connection property."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from o365sql import procedures
from o365sql.catalog import load_catalog
from o365sql.properties import SPECS

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "tools" / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_reference_is_current():
    fresh = _tool().render()
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == fresh, "docs/reference.md is stale: run python tools/gen_reference.py"


def test_reference_names_everything():
    text = _tool().render()
    for table in load_catalog():
        assert f"\n### {table.name}\n" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text
    for proc in procedures.all_procedures():
        assert f"\n### {proc.name}\n" in text
        for parameter in proc.parameters:
            assert f"`@{parameter.name}`" in text
    for spec in SPECS:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{spec.name}` |"))
        assert row.rstrip(" |").split(" | ")[-1].strip(), f"{spec.name} has no description"


def test_check_mode_detects_drift(tmp_path):
    tool = _tool()
    stale = tmp_path / "reference.md"
    stale.write_text("old\n", encoding="utf-8")
    assert tool.main(["--check", "--output", str(stale)]) == 1
    assert tool.main(["--output", str(stale)]) == 0
    assert tool.main(["--check", "--output", str(stale)]) == 0
