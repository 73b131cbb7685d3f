"""The import graph keeps the layering the README promises.

Imports are read from the source (ast), every one of them: module level, inside functions and
under `if TYPE_CHECKING:`. A deferred import hides a dependency from Python's import machinery,
not from a reader, so it counts here the same as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "tools", "evals", "find_functions", "prompts")

#: The composition root: it wires the commands, imports from every package, and nothing imports it.
CLI_MODULE = "evals.cli"

#: Shared plumbing below every layer that uses it: importing it does not wire its package in
#: (the run directory is the file format of bench, label, checks and chat alike).
PLUMBING = {"tools.run_dir"}

#: Packages that must not import the named ones. The layers, bottom up: tools and find_functions
#: (the model toolkit and the ground truth), agent (the investigators), evals (scoring, the
#: runners, reports, and the CLI on top). prompts holds templates and imports none of them.
FORBIDDEN = {
    "find_functions": ("agent", "evals"),
    "tools": ("agent", "evals"),
    "agent": ("evals",),
    "prompts": ("agent", "evals", "tools", "find_functions"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to: itself, or the nearest enclosing package module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules `module` imports; `from pkg import sub` counts as importing `pkg.sub`."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        found |= {t for t in (_resolve(name, modules) for name in targets) if t and t != module}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
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
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def _package(module: str) -> str:
    return module.split(".")[0]


def test_the_analysis_sees_deferred_and_relative_imports(tmp_path):
    """The checks below are only as good as the parser: it must see what a quick grep would miss."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from agent.task import Task\n"
        "def f():\n    from . import ledger\n    import tools.units\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source)
    modules = _modules()
    assert _imports("agent.probe", path, modules) == {"agent.task", "agent.ledger", "tools.units"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_file_level_import_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "modules that import each other (directly or around a loop): " + "; ".join(
        " <-> ".join(c) for c in cycles)


def test_each_layer_imports_only_those_below_it():
    bad = [f"{m} imports {t}" for m, targets in _graph().items() for t in sorted(targets)
           if _package(t) in FORBIDDEN.get(_package(m), ())]
    assert not bad, "; ".join(bad)


def test_the_package_graph_has_no_cycle():
    packages: dict[str, set[str]] = {}
    for m, targets in _graph().items():
        packages.setdefault(_package(m), set()).update(_package(t) for t in targets if _package(t) != _package(m))
    assert not _cycles(packages), f"packages that import each other: {_cycles(packages)}"


def test_only_the_cli_imports_across_all_four_packages_and_nothing_imports_it():
    graph = _graph()
    wide = [m for m, targets in graph.items()
            if {"agent", "tools", "evals", "find_functions"}
            <= {_package(t) for t in targets - PLUMBING} | {_package(m)}]
    assert wide == [CLI_MODULE], wide
    assert not [m for m, targets in graph.items() if CLI_MODULE in targets]
