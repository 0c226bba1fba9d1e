"""The package's import structure: subpackages by layer, each importing only the layers below it
(mnistrepro.LAYERS), no cycles, scripts above the package, and the modules the Snakefile reads at parse time free
of torch (their imports, followed through the package, never reach a module that imports it)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "mnistrepro"
# What workflow/rules/common.smk and the report read at parse time, and what the tests call torch-free.
TORCH_FREE = {"study.choices", "study.config", "study.config_docs", "study.estimate", "study.io", "study.logs",
              "study.records", "study.seeds", "study.studies", "report.estimate", "report.findings", "report.progress",
              "outputs.compare_studies", "outputs.findings", "outputs.progress", "outputs.run_summary"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``mnistrepro/study/io.py`` -> ``study.io``; a subpackage's ``__init__.py`` -> the subpackage (``study``)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(module: str, root: Path = PACKAGE) -> Path:
    path = root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def package_module(dotted: str, root: Path = PACKAGE) -> str | None:
    """The module or subpackage of the package that ``dotted`` names or lies in (``mnistrepro.study.io.atomic_path``
    -> ``study.io``); ``None`` outside the package, and for the package itself."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return None
    parts = parts[1:]
    while parts and not (root.joinpath(*parts).with_suffix(".py").is_file()
                         or (root.joinpath(*parts) / "__init__.py").is_file()):
        parts.pop()
    return ".".join(parts) or None


def imports(path: Path, root: Path = PACKAGE) -> tuple[dict[str, int], set[str]]:
    """({package module: the first line that imports it}, other top-level modules) that ``path`` imports at module
    level or in functions: ``from mnistrepro.study import io`` and ``from mnistrepro.study.io import atomic_path``
    both import ``study.io``."""
    ours, others = {}, set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level and root in path.parents:
            package = module_name(path, root).split(".")
            package = package if path.name == "__init__.py" else package[:-1]
            base = [root.name, *package[:len(package) - (node.level - 1)], *(node.module or "").split(".")]
            names = [".".join(filter(None, [*base, alias.name])) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            module = package_module(name, root)
            if module:
                ours.setdefault(module, node.lineno)
            elif name.split(".")[0] != root.name:
                others.add(name.split(".")[0])
    return ours, others


def package_graph() -> dict[str, tuple[dict[str, int], set[str]]]:
    return {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py")) if p != PACKAGE / "__init__.py"}


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
            body = ast.parse(module_path(module).read_text()).body
            top_level = {n.names[0].name.split(".")[0] for n in body if isinstance(n, ast.Import)}
            top_level |= {n.module.split(".")[0] for n in body
                          if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
            assert "torch" not in top_level and "torchvision" not in top_level, f"{start} reaches torch via {module}"
            stack += [dep for dep in ours if dep in graph]


def test_scripts_import_the_package_and_not_each_other():
    scripts = {p.stem for p in (REPO / "scripts").glob("*.py")}
    for path in (REPO / "scripts").glob("*.py"):
        ours, others = imports(path)
        assert not (others & scripts), f"{path.name} imports another script: {others & scripts}"
    for path in PACKAGE.rglob("*.py"):
        _, others = imports(path)
        assert "scripts" not in others and not (others & scripts), f"{path.name} imports a script"


# The layers, lowest first, as mnistrepro/__init__.py declares them (read from the checkout, not imported).
LAYERS = next(ast.literal_eval(node.value) for node in ast.parse((PACKAGE / "__init__.py").read_text()).body
              if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["LAYERS"])


def upward_imports(root: Path = PACKAGE, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """``file:line: ...`` for each import of a layer above the importing module's own, at module level or in a
    function, and for each module that sits in no layer."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "__init__.py":
            continue
        where, own = path.relative_to(root.parent).as_posix(), module_name(path, root).split(".")[0]
        if own not in layers:
            found.append(f"{where}:1: sits in no layer (the subpackages, lowest first: {', '.join(layers)})")
            continue
        for module, line in imports(path, root)[0].items():
            target = module.split(".")[0]
            if target in layers and layers.index(target) > layers.index(own):
                found.append(f"{where}:{line}: {own} imports {root.name}.{module}, from {target}, a layer above it")
    return found


def test_each_layer_imports_only_itself_and_the_layers_below_it():
    assert upward_imports() == []


def test_the_layer_scan_catches_an_upward_import_and_a_module_outside_the_layers(tmp_path):
    root = tmp_path / "mnistrepro"
    for path, text in {"__init__.py": "", "stray.py": "", "study/__init__.py": '"""Below."""\n',
                       "study/low.py": "import os\n\n\ndef f():\n    from mnistrepro.report.words import x\n",
                       "report/__init__.py": '"""Above."""\n', "report/words.py": "from mnistrepro.study import low\n",
                       "report/more.py": "from .words import x\nfrom ..study.low import f\n"}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    assert upward_imports(root, ("study", "report")) == [
        "mnistrepro/stray.py:1: sits in no layer (the subpackages, lowest first: study, report)",
        "mnistrepro/study/low.py:5: study imports mnistrepro.report.words, from report, a layer above it",
    ]
    assert imports(root / "report" / "more.py", root)[0] == {"report.words": 1, "study.low": 2}


def test_every_layer_is_a_subpackage_that_says_what_it_holds_and_may_import():
    folders = {p.parent for p in PACKAGE.rglob("*.py")} - {PACKAGE}
    assert {f.relative_to(PACKAGE).parts[0] for f in folders} == set(LAYERS)
    for folder in sorted(folders):
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder.relative_to(REPO)} has no __init__.py (setuptools would leave it out)"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init.relative_to(REPO)} has no docstring"
