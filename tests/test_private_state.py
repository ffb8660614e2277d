"""No module of the host or the plugins touches another object's private state.

The engine is built of parts that each own their state (issue 14): the order tracker, the fill
ledger, the instrument gate and the rest keep it in underscored attributes and offer methods.
What keeps it so is ruff's SLF001, selected in pyproject.toml for everything but the tests and
the benchmarks: an underscored name is reached only through ``self``, ``cls`` or ``super()``.
The few places that legitimately touch another instance of their *own* class carry a ``noqa``
with the reason. The first test proves the project's configuration catches a part reaching into
another's state, as a new module under host/ would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SNEAK = '''"""A module reaching into a part's private state."""


def take_a_slot(engine: object) -> None:
    """Mark an entry in flight behind the gate's back."""
    engine.gate._entering.add("BTC-USDT-SWAP")  # type: ignore[attr-defined]
'''

OWN = '''"""A part touching only its own private state."""


class Part:
    """Owns one set."""

    def __init__(self) -> None:
        self._entering: set[str] = set()

    def begin(self, inst_id: str) -> None:
        """Take the slot."""
        self._entering.add(inst_id)
'''


def lint(source: str, as_file: str) -> subprocess.CompletedProcess[str]:
    """Ruff with the project's configuration on ``source``, as if it were the file ``as_file``."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--stdin-filename", as_file, "-"],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_reaching_into_a_parts_private_state_fails_lint() -> None:
    result = lint(SNEAK, "host/engine/sneak.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SLF001" in result.stdout
    assert "_entering" in result.stdout


def test_a_part_touching_its_own_state_passes_lint() -> None:
    result = lint(OWN, "host/engine/part.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_of_host_or_plugins_touches_private_state() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "SLF001",
            "host",
            "plugins",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
