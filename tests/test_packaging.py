"""What a non-editable install ships: every package of the source tree is named in setup.cfg
(setuptools installs only the packages listed there, so a package left out is missing from
the wheel while an editable checkout still imports it), and the schema and procedures folders
are mapped to their package names with the table files as package data."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _options() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser["options"]


def _listed(value: str) -> set[str]:
    return {line.strip() for line in value.splitlines() if line.strip()}


def test_every_package_of_the_tree_is_shipped() -> None:
    tree = {".".join(p.parent.relative_to(ROOT).parts)
            for p in (ROOT / "o365sql").rglob("__init__.py")}
    listed = _listed(_options()["packages"])
    assert len(tree) >= 15
    assert tree - listed == set(), "packages a wheel would leave out"
    assert listed - tree == {"o365sql.schema", "o365sql.procedures"}  # mapped folders


def test_mapped_folders_exist_with_their_files() -> None:
    mapped = dict(line.split("=") for line in _listed(_options()["package_dir"]))
    mapped = {k.strip(): v.strip() for k, v in mapped.items()}
    assert mapped == {"o365sql.schema": "schema", "o365sql.procedures": "procedures"}
    assert (ROOT / "procedures" / "__init__.py").exists()
    assert len(list((ROOT / "schema").glob("*.toml"))) >= 13
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    assert "*.toml" in parser["options.package_data"]["o365sql.schema"]
