"""The packages depend on each other one way: no import cycles, and no import inside a function that would
hide one (every import statement counts, wherever it is written; only `if TYPE_CHECKING:` blocks, which never
run, are left out)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# Every top-level package of the product (apps, core, the project package), found rather than listed.
APPS = tuple(sorted(p.parent.name for p in ROOT.glob("*/__init__.py")))


def _modules():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield ".".join(p for p in parts if p != "__init__"), path, path.name == "__init__.py"


def _imports(name: str, path: Path, is_package: bool):
    """Every module this one imports, absolute, wherever the statement is (TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            yield module
            yield from (f"{module}.{a.name}" for a in node.names)  # "from . import tasks" names a module


def _graph(node_of) -> dict[str, set[str]]:
    modules = {name: (path, is_package) for name, path, is_package in _modules()}
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        source = node_of(name)
        for target in _imports(name, path, is_package):
            if target in modules or target.split(".")[0] in APPS:
                node = node_of(target)
                if node and source and node != source:
                    graph.setdefault(source, set()).add(node)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def _imports_package(module: str) -> str | None:
    """imports.<package or module>: types, pipeline, services, targets, tasks, views..."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "imports" and len(parts) > 1 else None


def _service_module(module: str) -> str | None:
    """imports.services.<module>, the validation package as one."""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["imports", "services"] and len(parts) > 2 else None


def _layer(module: str) -> str | None:
    """A top-level package, except that imports counts as its packages (types, pipeline, models, services...).

    The users and imports apps need each other as a whole (each one's models point at the other's), so
    what must run one way is finer: the declarations, the pipeline and the models sit below users, and the
    services, targets and views that write users sit above it.
    """
    return _imports_package(module) or (module.split(".")[0] if module.split(".")[0] in APPS else None)


def test_the_packages_of_the_product_import_one_way():
    graph = _graph(_layer)
    assert {"users", "schools", "classes", "sync", "ops", "core", "classworks_import", "imports"} <= set(APPS)
    assert _cycles(graph) == [], "import cycles between the top-level packages (imports by its packages)"


def test_core_imports_no_app_and_no_app_imports_the_project_package():
    graph = _graph(_layer)
    assert graph.get("core", set()) == set()
    importers = {source for source, targets in graph.items() if "classworks_import" in targets}
    assert importers == set(), "the project package (settings, urls, celery) is the top: apps use core instead"


@pytest.mark.parametrize("level, node_of", [
    ("the packages of imports (types, pipeline, services, targets, tasks, views...)", _imports_package),
    ("the modules of imports.services (validation, apply, jobs, runs...)", _service_module),
])
def test_no_import_cycle(level, node_of):
    assert _cycles(_graph(node_of)) == [], f"import cycles between {level}"


def test_the_pipeline_and_the_declarations_depend_one_way():
    graph = _graph(_imports_package)
    assert "imports.types" not in graph.get("imports.pipeline", set())
    assert "imports.tasks" not in graph.get("imports.services", set())
    assert "imports.models" not in graph.get("imports.pipeline", set())
