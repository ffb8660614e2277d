"""The README's layer table is the code's: no module imports a layer above its own.

The table is read from the README ("How it is built"), so the picture a newcomer sees and the
rule the code keeps cannot drift apart. Imports made inside functions count too: a lazy import
is still a dependency.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYER_ROW = re.compile(r"^\s+(\d+)\s{2,}.+?\s{2,}(host\b.*)$")


def readme_layers(text: str) -> dict[str, int]:
    """Package → layer, from the README's layer table."""
    layers = {}
    for line in text.splitlines():
        row = LAYER_ROW.match(line)
        if row:
            for package in row.group(2).split():
                layers[package] = int(row.group(1))
    return layers


def unit_of(module: str) -> str:
    """The package (or top-level module) of ``host`` a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2])


def module_name(path: Path, repo: Path = REPO) -> str:
    name = ".".join(path.relative_to(repo).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    """Every ``host...`` module a file imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "host" or name.startswith("host.")}


def upward_imports(repo: Path, layers: dict[str, int]) -> list[str]:
    """Each import of a higher layer (or of a package the table does not place), as a line."""
    problems = []
    for path in sorted((repo / "host").rglob("*.py")):
        name = module_name(path, repo)
        source = unit_of(name)
        if source not in layers:
            problems.append(f"{source} is in no layer of the README's table")
            continue
        for imported in sorted(imports_of(path)):
            target = unit_of(imported)
            if layers.get(target, 99) > layers[source]:
                problems.append(f"{name} ({source}) imports {imported} from above")
    return problems


LAYERS = readme_layers((REPO / "README.md").read_text(encoding="utf-8"))


def test_the_readme_places_every_package_of_host() -> None:
    assert LAYERS["host.domain"] == 0
    assert LAYERS["host.cli"] == max(LAYERS.values())
    assert not [p for p in upward_imports(REPO, LAYERS) if "in no layer" in p]


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports(REPO, LAYERS) == []


def test_plugins_import_only_the_plugin_contract() -> None:
    reached = {
        f"{module_name(path)} imports {imported}"
        for path in sorted((REPO / "plugins").rglob("*.py"))
        for imported in imports_of(path)
        if imported != "host"
    }
    assert reached == set()


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("host/engine/sneak.py", "from host.sessions.paper import run_paper\n"),
        ("host/domain/sneak.py", "def late():\n    import host.settings\n"),
        ("host/newpackage/mod.py", "import host.clock\n"),
    ],
)
def test_the_check_catches_an_upward_or_unplaced_import(
    tmp_path: Path, module: str, source: str
) -> None:
    fake = tmp_path / "repo"
    path = fake / module
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert upward_imports(fake, LAYERS)
