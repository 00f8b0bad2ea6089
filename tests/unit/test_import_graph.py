"""The house keeps its shape: no import loop between modules, the composition root imported
by the entry points alone, edxml standalone, adapters behind hub's contracts."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edxml", "hub", "adapters", "simulators")


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_of(path): path for top in PACKAGES for path in (ROOT / top).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_inits(graph: dict[str, set[str]]) -> set[str]:
    return {name for name in graph if (ROOT / name.replace(".", "/") / "__init__.py").exists()}


def test_no_module_imports_itself_through_others() -> None:
    graph = _graph()
    inits = _package_inits(graph)
    # A package's __init__ is imported by every submodule's import; only module files count.
    modules = {name: {t for t in targets if t not in inits} for name, targets in graph.items()}
    assert _loops(modules) == []


def test_only_the_entry_points_import_the_composition_root() -> None:
    importers = {name for name, targets in _graph().items() if "hub.bootstrap" in targets}
    assert {name for name in importers if not name.startswith("hub.cli")} == set()


def test_edxml_imports_nothing_of_the_hub_or_the_adapters() -> None:
    graph = _graph()
    assert {
        (name, target)
        for name, targets in graph.items()
        if name.startswith("edxml")
        for target in targets
        if target.startswith(("hub", "adapters"))
    } == set()


def test_the_hub_reaches_the_adapters_only_through_the_composition_root() -> None:
    graph = _graph()
    assert {
        name
        for name, targets in graph.items()
        if name.startswith("hub") and any(target.startswith("adapters") for target in targets)
    } == {"hub.bootstrap"}


def test_the_hub_has_at_most_twelve_modules_at_its_top_level() -> None:
    assert len(list((ROOT / "hub").glob("*.py"))) <= 12
