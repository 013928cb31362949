"""The package's shape: layers without import cycles, an engine without workbook libraries, and
no indicator named in code (indicators are data)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from evalbook.department.framework import seed_framework

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "evalbook"
PURE = ("evalbook.core", "evalbook.department", "evalbook.funds")
LAYERS = {  # a module may import only from its own layer or the ones listed
    "evalbook.core": (),
    "evalbook.department": ("evalbook.core",),
    "evalbook.funds": ("evalbook.core",),
    "evalbook.workbook": ("evalbook.core", "evalbook.department", "evalbook.funds"),
    "evalbook.adapters": ("evalbook.core", "evalbook.department", "evalbook.funds", "evalbook.workbook"),
    "evalbook.bureau": ("evalbook.core", "evalbook.department", "evalbook.funds", "evalbook.workbook",
                        "evalbook.adapters"),
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """Every evalbook module `module` imports, at module level or inside a function."""
    known = modules()
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".") if is_package else module.split(".")[:-1]
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):
                found.add(target)
    return found


def test_no_import_cycle():
    graph = {m: imports(m, p) for m, p in modules().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    sys.setrecursionlimit(10_000)
    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_layers_import_only_downwards():
    wrong = []
    for module, path in modules().items():
        layer = next((l for l in LAYERS if module == l or module.startswith(l + ".")), None)
        if layer is None:
            continue
        for target in imports(module, path):
            target_layer = next((l for l in LAYERS if target == l or target.startswith(l + ".")), "evalbook")
            if target_layer != layer and target_layer not in LAYERS[layer]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, wrong


def test_exit_codes_are_defined_once():
    for module, path in modules().items():
        if module == "evalbook.core.errors":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                targets += [e.id for t in node.targets if isinstance(t, ast.Tuple) for e in t.elts
                            if isinstance(e, ast.Name)]
                assert not any(t.startswith("EXIT_") for t in targets), f"{module} defines {targets}"


def test_engine_imports_no_workbook_library():
    for module, path in modules().items():
        if not module.startswith(PURE):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(("xlwings", "openpyxl", "pandas")), f"{module} imports {name}"


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def test_no_indicator_key_in_the_package_code():
    """Indicators are data: only the example-building data under build/ may name one."""
    keys = set(seed_framework().keys)
    named = []
    for module, path in modules().items():
        if module.startswith("evalbook.build"):
            continue
        for text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if text in keys:
                named.append(f"{path.relative_to(ROOT)}: {text}")
    assert not named, named
