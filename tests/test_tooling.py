"""Lint, formatting and strict typing are part of the test suite, so CI enforces them.

Ruff's DTZ rules are what make a naive ``datetime.now()`` impossible to land; the last test proves
the configuration really catches one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_ruff_lint_passes() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # strict typing of the whole tree: about a minute without a cache
def test_mypy_strict_passes_on_host_and_plugins() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_naive_datetime_fails_lint(tmp_path: Path) -> None:
    offender = tmp_path / "host" / "naive.py"
    offender.parent.mkdir()
    offender.write_text('"""Naive."""\n\nimport datetime\n\nSTAMP = datetime.datetime.now()\n')
    result = run(
        "ruff", "check", "--config", str(ROOT / "pyproject.toml"), str(offender), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "DTZ005" in result.stdout
