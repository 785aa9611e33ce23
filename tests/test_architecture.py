"""The tree keeps its design: parts import one way, and no module imports itself back.

Reads the source with ``ast`` (nothing is imported). Imports under ``if TYPE_CHECKING:`` count
as knowledge for the layering rules (a part that names another's types knows it) but not for the
cycle check (they do not run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "o365sql"


def _module_name(path: Path) -> str:
    """``o365sql/cli/main.py`` -> ``o365sql.cli.main``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {}


def _imports(path: Path, *, runtime_only: bool) -> set[str]:
    """Absolute names of the modules (or packages) that ``path`` imports."""
    name = next(m for m, p in MODULES.items() if p == path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (runtime_only and isinstance(child, ast.If)
                    and "TYPE_CHECKING" in ast.unparse(child.test)):
                for stmt in child.orelse:
                    visit(stmt)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                subs = {f"{target}.{alias.name}" for alias in child.names}
                found.update(subs)
                if not subs <= MODULES.keys():  # a name from the module itself, not a submodule
                    found.add(target)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


MODULES.update({_module_name(p): p for p in PACKAGE.rglob("*.py")})
# procedures/ is installed as o365sql.procedures (setup.cfg package_dir).
MODULES.update({"o365sql." + _module_name(p): p for p in (ROOT / "procedures").rglob("*.py")})


def _known(names: set[str]) -> set[str]:
    return {n for n in names if n in MODULES}


def _part_of(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


EMULATOR = "o365sql.emulator"
# part -> the emulator parts (besides itself) it may import; "errors" is the shared vocabulary.
EMULATOR_RULES = {
    "tenant": set(),
    "server": {"errors"},
    "odata": {"errors", "tenant.record_view"},
    "identity": {"errors", "server"},
    "graph": {"errors", "odata", "tenant", "server.wire"},
}


@pytest.mark.parametrize("part", sorted(EMULATOR_RULES))
def test_emulator_parts_depend_one_way(part: str) -> None:
    prefix = f"{EMULATOR}.{part}"
    allowed = [f"{EMULATOR}.{a}" for a in EMULATOR_RULES[part]] + [prefix]
    modules = [m for m in MODULES if _part_of(m, prefix)]
    assert len(modules) >= 3, f"{prefix} should be a package with several modules"
    wrong = []
    for module in modules:
        for target in _known(_imports(MODULES[module], runtime_only=False)):
            if target == EMULATOR or not target.startswith("o365sql"):
                continue
            if not any(_part_of(target, a) for a in allowed):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_emulator_imports_nothing_of_the_driver() -> None:
    wrong = [f"{m} imports {t}" for m in MODULES if _part_of(m, EMULATOR)
             for t in _known(_imports(MODULES[m], runtime_only=False))
             if not _part_of(t, EMULATOR)]
    assert not wrong, "\n".join(wrong)


def test_no_cli_command_imports_the_entry_point() -> None:
    wrong = [m for m in MODULES if _part_of(m, "o365sql.cli") and m not in ("o365sql.cli",
                                                                          "o365sql.cli.main")
             and "o365sql.cli.main" in _imports(MODULES[m], runtime_only=False)]
    assert not wrong


SPARK = "o365sql.spark"


def _imports_spark(module: str) -> set[str]:
    """What ``module`` imports of Spark (``pyspark``) or of ``o365sql.spark``."""
    return {t for t in _imports(MODULES[module], runtime_only=False)
            if _part_of(t, "pyspark") or _part_of(t, SPARK)}


def test_nothing_outside_the_spark_package_imports_spark() -> None:
    # DESIGN §5.4: Spark calls the driver, never the other way round.
    wrong = [f"{m} imports {t}" for m in MODULES if not _part_of(m, SPARK)
             for t in _imports_spark(m)]
    assert not wrong, "\n".join(wrong)


def test_only_the_spark_surface_imports_pyspark() -> None:
    # The rest of o365sql.spark is pure planning or the driver's own calls, testable without
    # a Spark session; only source.py (and the package, re-exporting it) names pyspark.
    modules = [m for m in MODULES if _part_of(m, SPARK)]
    assert len(modules) >= 5
    wrong = [f"{m} imports {t}" for m in modules if m not in (SPARK, f"{SPARK}.source")
             for t in _imports_spark(m) if _part_of(t, "pyspark")]
    assert not wrong, "\n".join(wrong)


def test_every_package_says_what_it_is() -> None:
    missing = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("__init__.py")
               if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not missing


def test_no_import_cycles() -> None:
    graph = {m: {t for t in _known(_imports(p, runtime_only=True)) if t != m}
             for m, p in MODULES.items()}
    # A package's __init__ is imported before its modules; an edge to a package is an edge to
    # its __init__ only, which is how Python runs it.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    assert len(graph) > 100
    assert not cycles, cycles
