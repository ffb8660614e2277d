"""Plugins installed the way pip installs a third-party package, for a ``scalphost`` subprocess.

A real ``<name>.dist-info`` directory (``METADATA`` and ``entry_points.txt`` in the group
``scalphost.plugins``) is what :mod:`importlib.metadata` finds on ``sys.path``, so a process
started with that directory on its ``PYTHONPATH`` discovers the plugins exactly as it would
discover an installed package's. The entry points name classes of the test helper modules
(``broken_exits:LoosensBigPositions``), so this directory of tests goes on the path too; nothing
is installed into the running environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

TESTS = Path(__file__).resolve().parent

ENTRY_POINT_GROUP = "scalphost.plugins"


def install_plugins(
    root: Path,
    plugins: Mapping[str, str],
    distribution: str = "scalphost-broken-plugins",
    version: str = "0.1",
) -> None:
    """Write, under ``root``, a distribution whose entry points are ``plugins`` (name -> target).

    A target is ``module:Class``, as in a package's ``pyproject.toml``.
    """
    info = root / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n", encoding="utf-8"
    )
    points = "".join(f"{name} = {target}\n" for name, target in plugins.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{points}", encoding="utf-8")


def environment_with(root: Path, **variables: str) -> dict[str, str]:
    """This process's environment, with ``root``'s distributions and the test helpers importable.

    ``PYTHONUNBUFFERED`` so a checklist's lines arrive as they are printed, even into a pipe.
    """
    path = os.pathsep.join([str(root), str(TESTS)])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **variables}
