"""The shape of the code: the stage packages import each other without cycles.

A cycle, even through an import inside a function, means two modules own one concern between
them; it is how trainer, restore, average and distill once grew into each other. Every import
statement is counted, wherever it sits.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Source folder of each installed package (pyproject.toml's package-dir).
PACKAGES = {"fer_edge": ROOT / "fer_edge", "fer_edge.train": ROOT / "train", "fer_edge.convert": ROOT / "convert", "fer_edge.device": ROOT / "device"}


def module_files() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.glob("*.py")):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def imported(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in it (``from package import module`` included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    known = set(modules)
    return {name: imported(path, known) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "fer_edge.train.trainer" in graph["fer_edge.cli"], "cli imports the trainer inside its train command"
    assert "fer_edge.train.config" in graph["fer_edge.cli"], "from fer_edge.train import config counts as importing the module"
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles_among_the_stage_packages():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_device_stage_imports_nothing_from_training_or_conversion():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("fer_edge.device"):
            heavy = sorted(t for t in targets if t.startswith(("fer_edge.train", "fer_edge.convert")))
            assert not heavy, f"{module} imports {heavy}"
