"""The package's import structure: no cycles, scripts above the package, and the modules the Snakefile reads at
parse time free of torch (their imports, followed through the package, never reach a module that imports it)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "mnistrepro"
# What workflow/rules/common.smk and the report read at parse time, and what the tests call torch-free.
TORCH_FREE = {"choices", "config", "findings", "io", "logs", "records", "seeds", "studies", "config_docs",
              "run_summary", "compare_studies", "estimate", "progress"}


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(package modules, other top-level modules) that ``path`` imports at module level or in functions."""
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "mnistrepro" and len(parts) > 1:
                ours.add(parts[1])
            else:
                others.add(parts[0])
    return ours, others


def package_graph() -> dict[str, tuple[set[str], set[str]]]:
    return {p.stem: imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_the_package_has_no_import_cycles():
    graph = {name: ours for name, (ours, _) in package_graph().items()}
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for dep in graph.get(node, ()):
            assert state.get(dep) != "open", f"import cycle: {' -> '.join(path + [node, dep])}"
            if dep not in state:
                visit(dep, path + [node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])


def test_torch_free_modules_never_reach_torch():
    graph = package_graph()
    for start in TORCH_FREE & set(graph):
        seen, stack = set(), [start]
        while stack:
            module = stack.pop()
            if module in seen:
                continue
            seen.add(module)
            ours, others = graph[module]
            # A function-level `import torch` (io.save_torch) runs only when called; module level is what counts.
            top_level = {n.names[0].name.split(".")[0] for n in ast.parse((PACKAGE / f"{module}.py").read_text()).body
                         if isinstance(n, ast.Import)}
            top_level |= {n.module.split(".")[0] for n in ast.parse((PACKAGE / f"{module}.py").read_text()).body
                          if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
            assert "torch" not in top_level and "torchvision" not in top_level, f"{start} reaches torch via {module}"
            stack += [dep for dep in ours if dep in graph]


def test_scripts_import_the_package_and_not_each_other():
    scripts = {p.stem for p in (REPO / "scripts").glob("*.py")}
    for path in (REPO / "scripts").glob("*.py"):
        ours, others = imports(path)
        assert not (others & scripts), f"{path.name} imports another script: {others & scripts}"
    for path in PACKAGE.glob("*.py"):
        _, others = imports(path)
        assert "scripts" not in others and not (others & scripts), f"{path.name} imports a script"
