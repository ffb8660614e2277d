"""The simulator's classes never share a name with the host's.

The simulator plays OKX for the host, so both sides have an order request, a fill, a position,
a rate limiter and an OKX error. Sharing the names made a traceback, a search or an import
ambiguous (``OkxError`` from which side?); the simulator's carry a ``Sim`` prefix instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

HOST = Path(__file__).resolve().parent.parent / "host"
SIMULATOR = HOST / "sim"


def top_level_classes(paths: list[Path]) -> dict[str, Path]:
    """Every class defined at a module's top level, by name, with the file defining it."""
    found: dict[str, Path] = {}
    for path in paths:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                found[node.name] = path
    return found


def test_no_simulator_class_shadows_a_host_class() -> None:
    files = sorted(HOST.rglob("*.py"))
    simulator = top_level_classes([p for p in files if SIMULATOR in p.parents])
    host = top_level_classes([p for p in files if SIMULATOR not in p.parents])
    assert len(simulator) > 20  # both sides really were read
    assert len(host) > 50
    shared = {
        name: (str(simulator[name].relative_to(HOST)), str(host[name].relative_to(HOST)))
        for name in simulator.keys() & host.keys()
    }
    assert shared == {}
