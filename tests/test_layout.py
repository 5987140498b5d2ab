"""The package layout by role: imports point down only (engine <- analyses, MPI helpers <- front-ends)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "quests_lmp"

# What each role may import from the package, itself included. The engine imports no front-end,
# analysis or command line; analyses import only the engine; the front-ends import downwards.
ALLOWED = {
    "engine": {"engine"},
    "analysis": {"engine", "analysis"},
    "parallel": {"engine", "parallel"},
    "lammps": {"engine", "parallel", "lammps"},
    "ase": {"engine", "parallel"},  # the monitor for ASE dynamics
    "cli": {"engine", "analysis", "parallel", "lammps", "cli"},
    "__init__": {"engine"},  # the public Python API
    "python_invoke": {"lammps"},  # the stable deck path of the fix python/invoke hook
}


def role(module: str) -> str:
    """'engine' for quests_lmp.engine.kernel, 'parallel' for quests_lmp.parallel, ..."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(root: Path, path: Path) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(root: Path, path: Path) -> set[str]:
    """quests_lmp modules imported anywhere in a file (function-level imports included)."""
    name = module_name(root, path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:  # `from package import module`, or a name of module `target`
                found.add(f"{target}.{alias.name}" if _is_module(root, f"{target}.{alias.name}") else target)
    return {module for module in found if module.split(".")[0] == root.name and module != root.name}


def forbidden_imports(root: Path) -> list[str]:
    """'importer -> imported' for every import that points up or sideways across roles."""
    violations = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(root, path)
        for imported in sorted(package_imports(root, path)):
            if role(imported) not in ALLOWED[role(importer)]:
                violations.append(f"{importer} -> {imported}")
    return violations


def import_cycles(root: Path) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (function-level
    imports included), each sorted: a module that imports another that imports it back."""
    graph = {module_name(root, path): package_imports(root, path) for path in root.rglob("*.py")}

    def reachable(start: str) -> set[str]:
        seen, stack = set(), list(graph.get(start, ()))
        while stack:
            module = stack.pop()
            if module not in seen:
                seen.add(module)
                stack.extend(graph.get(module, ()))
        return seen

    reach = {module: reachable(module) for module in graph}
    groups = {
        tuple(sorted(m for m in reach[module] if module in reach[m])) for module in graph if module in reach[module]
    }
    return sorted(list(group) for group in groups)


def _is_module(root: Path, module: str) -> bool:
    path = root.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_imports_point_down_only():
    assert forbidden_imports(PACKAGE) == []


def test_no_module_imports_another_that_imports_it_back():
    assert import_cycles(PACKAGE) == []


def test_an_import_cycle_is_caught(tmp_path):
    root = tmp_path / "quests_lmp"
    (root / "cli").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "cli" / "__init__.py").write_text("")
    (root / "cli" / "datasets.py").write_text("def f():\n    from .distributed import g\n")
    (root / "cli" / "distributed.py").write_text("from .outputs import h\n")
    (root / "cli" / "outputs.py").write_text("from .datasets import f\n")
    (root / "cli" / "options.py").write_text("from .datasets import f\n")
    assert import_cycles(root) == [["quests_lmp.cli.datasets", "quests_lmp.cli.distributed", "quests_lmp.cli.outputs"]]


def test_every_module_has_a_role():
    roles = {role(module_name(PACKAGE, path)) for path in PACKAGE.rglob("*.py")}
    assert roles <= ALLOWED.keys(), roles - ALLOWED.keys()
    assert {"engine", "analysis", "lammps", "cli"} <= roles


def test_an_engine_module_importing_a_front_end_is_caught(tmp_path):
    root = tmp_path / "quests_lmp"
    for folder in ("engine", "cli", "lammps"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from .engine import kernel\n")
    (root / "engine" / "kernel.py").write_text("def f():\n    from ..cli import report\n")
    (root / "engine" / "reference.py").write_text("import quests_lmp.lammps.fix\n")
    (root / "cli" / "report.py").write_text("from ..engine.kernel import f\n")
    (root / "lammps" / "fix.py").write_text("")
    assert forbidden_imports(root) == [
        "quests_lmp.engine.kernel -> quests_lmp.cli.report",
        "quests_lmp.engine.reference -> quests_lmp.lammps.fix",
    ]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_only_re_exports_another(path):
    """Each module defines something, except the public API and the deck path that exist to re-export."""
    if path.relative_to(PACKAGE).as_posix() in ("__init__.py", "python_invoke.py") or path.name == "__main__.py":
        return
    body = [
        node
        for node in ast.parse(path.read_text()).body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]  # docstrings
    if path.name == "__init__.py":
        assert body == [], f"{path}: a subpackage's __init__ holds its docstring only"
        return
    assert any(not isinstance(node, (ast.Import, ast.ImportFrom)) for node in body), f"{path} only imports"
