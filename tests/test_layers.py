"""rlpkd's sub-packages import each other one way: no package-level import cycle.

Read from the source (AST), every ``import`` / ``from ... import`` counts, wherever it
stands (module level, inside a function, under ``TYPE_CHECKING``): a layer that needs
another only lazily still depends on it.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import rlpkd

PACKAGE = Path(rlpkd.__file__).resolve().parent

#: the intended order, bottom first; a package may import only packages before it
LAYERS = ('registry', 'utils', 'pyramid', 'rl', 'nas', 'learners', 'evaluation', 'datasets',
          'models', 'apis', 'engine', 'visualization', 'compat', 'benchmarking', 'testing')


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the rlpkd modules ``path`` imports (relative imports resolved)."""
    module = path.relative_to(PACKAGE.parent).with_suffix('').parts
    package = module[:-1]  # a module's package; an __init__'s own package
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            name = '.'.join((*base, node.module or '')).strip('.')
            found.add(name)
            found.update(f'{name}.{alias.name}' for alias in node.names)
    return {name for name in found if name.split('.')[0] == 'rlpkd'}


def layer_of(module: str) -> str | None:
    """``'rlpkd.rl.ppo'`` -> ``'rl'``; ``'rlpkd'`` itself -> ``None``."""
    parts = [p for p in module.split('.') if p != '__init__']
    return parts[1] if len(parts) > 1 else None


def package_graph() -> dict[str, dict[str, set[str]]]:
    """``graph[a][b]``: the files of layer ``a`` that import layer ``b`` (a != b)."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob('*.py'):
        rel = path.relative_to(PACKAGE.parent).with_suffix('')
        source = layer_of('.'.join(rel.parts))
        if source is None:
            continue
        for target in {layer_of(name) for name in imported_modules(path)} - {source, None}:
            if (PACKAGE / target).is_dir() or (PACKAGE / f'{target}.py').is_file():
                graph[source][target].add(str(path.relative_to(PACKAGE.parent)))
    return graph


def test_every_layer_is_named():
    present = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
               if (p.suffix == '.py' and p.stem != '__init__') or (p / '__init__.py').exists()}
    assert present == set(LAYERS)


def test_layers_import_downwards_only():
    graph = package_graph()
    upward = [f'{a} -> {b} ({", ".join(sorted(graph[a][b]))})'
              for a in graph for b in graph[a] if LAYERS.index(b) > LAYERS.index(a)]
    assert not upward, 'imports against the layer order:\n' + '\n'.join(upward)


def test_no_package_level_cycle():
    graph = package_graph()
    cycles = [f'{a} <-> {b}' for a in graph for b in graph[a] if a in graph.get(b, {})]
    assert not cycles, cycles
