"""``python -m bench.import_graph``: the shipped package's import structure, counted.

Prints the cycles between nudge's packages (pairs that import each other, directly), the cycles inside
a package (its modules that import each other round a loop) and the imports written inside functions.
Issue #18 asks for all three to reach zero (an in-function import stays only where the cold-start
benchmark shows it pays, with a comment saying so). The whole package is shipped: the dev-only CLI and
local runtime live apart, in ``devtools/nudge_tools``, and may import anything.

grimp (the engine behind import-linter, which ``make lint`` runs) builds the graph, in-function imports
included; the in-function count comes from the syntax tree, which grimp does not report.
"""

from __future__ import annotations

import argparse
import ast
import itertools
from dataclasses import dataclass
from pathlib import Path

import grimp

PACKAGE = "nudge"
ROOT = Path(__file__).resolve().parents[1] / "layers" / PACKAGE / PACKAGE


@dataclass(frozen=True)
class Structure:
    package_cycles: list[tuple[str, str]]
    module_cycles: list[list[str]]
    in_function_imports: list[str]


def _unit(module: str) -> str:
    """nudge.delivery.send -> nudge.delivery: the package (or top-level module) a module belongs to."""
    return ".".join(module.split(".")[:2])


def _edges(graph: grimp.ImportGraph) -> set[tuple[str, str]]:
    edges = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(PACKAGE + "."):
                edges.add((module, imported))
    return edges


def _package_cycles(edges: set[tuple[str, str]]) -> list[tuple[str, str]]:
    between = {(_unit(a), _unit(b)) for a, b in edges if _unit(a) != _unit(b)}
    return sorted((a, b) for a, b in between if a < b and (b, a) in between)


def _strongly_connected(nodes: set[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of more than one module only."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for a, b in edges:
        if a in successors and b in successors:
            successors[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = itertools.count()
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = next(counter)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = next(counter)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(components)


def _module_cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Loops among the modules of one package (the package's own imports only)."""
    inside = {(a, b) for a, b in edges if _unit(a) == _unit(b) and a != b}
    cycles = []
    for unit in sorted({_unit(a) for a, _ in inside}):
        nodes = {m for edge in inside for m in edge if _unit(m) == unit}
        cycles.extend(_strongly_connected(nodes, inside))
    return cycles


def _in_function_imports() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        module = ".".join((PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(f"{module}:{node.lineno}")
    return sorted(set(found))


def measure() -> Structure:
    edges = _edges(grimp.build_graph(PACKAGE, cache_dir=None))
    return Structure(_package_cycles(edges), _module_cycles(edges), _in_function_imports())


def _top(module: str) -> str:
    """functions.track.handler -> functions; nudge.delivery.send -> nudge.delivery."""
    return module.split(".")[0] if not module.startswith(PACKAGE + ".") else _unit(module)


def package_arrows() -> list[tuple[str, str]]:
    """Who imports whom among the handlers, nudge's packages and the dev tools, without the arrows
    implied by others (the transitive reduction): the README's diagram."""
    graph = grimp.build_graph("functions", PACKAGE, "nudge_tools", cache_dir=None)
    arrows = {
        (_top(module), _top(imported))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if _top(module) != _top(imported)
    }
    below = {a: {b for x, b in arrows if x == a} for a, _ in arrows}

    def reaches(start: str, goal: str, without: tuple[str, str]) -> bool:
        seen, todo = set(), [b for b in below.get(start, ()) if (start, b) != without]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(below.get(node, ()))
        return False

    return sorted((a, b) for a, b in arrows if not reaches(a, b, (a, b)))


def mermaid(arrows: list[tuple[str, str]]) -> str:
    def name(unit: str) -> str:
        return unit.removeprefix(PACKAGE + ".")

    lines = ["flowchart TD"] + [f"    {name(a)} --> {name(b)}" for a, b in arrows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the in-function imports too")
    parser.add_argument(
        "--mermaid", action="store_true", help="print the packages' one-way arrows as a Mermaid diagram"
    )
    args = parser.parse_args()
    if args.mermaid:
        print(mermaid(package_arrows()))
        return 0
    verbose = args.verbose
    structure = measure()
    print(f"cycles between packages: {len(structure.package_cycles)}")
    for a, b in structure.package_cycles:
        print(f"  {a} <-> {b}")
    print(f"cycles inside packages: {len(structure.module_cycles)}")
    for cycle in structure.module_cycles:
        print(f"  {' / '.join(cycle)}")
    print(f"imports inside functions: {len(structure.in_function_imports)}")
    if verbose:
        for site in structure.in_function_imports:
            print(f"  {site}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
