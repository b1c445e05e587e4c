"""The package imports one way: every import (module-level or inside a function; under TYPE_CHECKING aside) goes to
the same layer or a lower one, the three engines (train, export, runtime) never import one another, and no module
imports itself back through others."""
import ast
from pathlib import Path

import cgan

ROOT = Path(cgan.__file__).parent
# From the bottom up. A module not named here, nor in a package of layers 2 to 4, fails the test: place it.
BASE = {"errors", "fileio", "formats", "images", "pixels", "shapes", "presets", "extras", "log", "interrupt", "cache",
        "devices",
        "precision", "edges", "threads", "sampledata", "tensorrt_engine", "ir_file", "ncnn_file",
        "coreml_file", "tflite_file", "task_families", "option_fields", "ort_web"}
NETWORKS = {"blocks", "nets", "student_net", "filter_net", "modelfile", "convert"}
ENGINES = ("train", "export", "runtime")  # siblings: none imports another
APPS = ("apps", "bench")
CLI = {"cli", "cli_runtime", "cli_train", "cli_options", "__main__"}


def layer(module: str) -> tuple[int, str]:
    """(layer, the engine a module of layer 2 belongs to) of ``cgan.<...>``."""
    parts = module.split(".")[1:]
    top = parts[0] if parts else ""
    if top in BASE:
        return 0, ""
    if top in NETWORKS:
        return 1, ""
    if top in ENGINES:
        return 2, top
    if top in APPS:
        return 3, ""
    if top in CLI:
        return 4, ""
    raise AssertionError(f"{module} has no layer: add it to tests/test_architecture.py")


def import_graph() -> dict[str, set[str]]:
    modules = {".".join(("cgan", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__"): p
               for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                targets.update(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def test_every_import_goes_down_or_across_its_own_layer():
    graph = import_graph()
    wrong = []
    for module, targets in graph.items():
        if module == "cgan":  # the public API: names imported on first use from every layer
            continue
        for target in targets:
            if target == "cgan":
                continue
            (mine, my_engine), (theirs, their_engine) = layer(module), layer(target)
            if theirs > mine or (mine == theirs == 2 and my_engine != their_engine):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports that run up a layer or between engines:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = import_graph()
    cycles = []

    def visit(module: str, stack: list[str], done: set[str]) -> None:
        if module in stack:
            cycles.append(" -> ".join(stack[stack.index(module):] + [module]))
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, stack + [module], done)
        done.add(module)

    finished: set[str] = set()
    for module in sorted(graph):
        visit(module, [], finished)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)

