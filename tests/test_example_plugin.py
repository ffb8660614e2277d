"""The example plugin package installs for real, is discovered, and passes its own tests.

``examples/scalphost-chandelier`` is what a plugin author copies, so it is checked the way they
use it: copied out of the repository, ``pip install``-ed into a fresh virtual environment, found
by ``scalphost plugins`` through its entry point, tested there with plain ``pytest``, and
passed by ``scalphost golive`` once a config enables it.

The environment is built on top of the running interpreter's, so scalphost and its dependencies
are there without a download: a ``.pth`` file calls ``site.addsitedir`` on this interpreter's
site directories. (``venv --system-site-packages`` would not do: from inside a virtual environment
it exposes the base Python's packages, not the environment's.) The package is built offline with
this environment's setuptools (``--no-build-isolation --no-index``), and nothing is installed
into the running environment, which the last test checks.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sysconfig
import venv
from dataclasses import dataclass
from importlib.metadata import distributions
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "scalphost-chandelier"
CHANDELIER_HOOKS = "on_fill, on_position_closed, on_position_drift, on_tick_exit"


def installed_here() -> set[tuple[str, str]]:
    """Every distribution the running interpreter sees, with its version."""
    return {(dist.metadata["Name"], dist.version) for dist in distributions()}


@dataclass(frozen=True)
class PluginEnv:
    """The fresh environment with the example installed, and what was installed here before."""

    python: Path
    package: Path
    before: frozenset[tuple[str, str]]

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run this environment's Python, isolated from the caller's PYTHONPATH and pip config."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["PIP_CONFIG_FILE"] = os.devnull
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd or self.package,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    def scalphost(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The ``scalphost`` command as that environment runs it."""
        return self.run("-m", "host.cli", *args)


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> PluginEnv:
    before = frozenset(installed_here())
    root = tmp_path_factory.mktemp("plugin-env")
    package = root / "scalphost-chandelier"
    junk = shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache"
    )
    shutil.copytree(EXAMPLE, package, ignore=junk)
    home = root / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    lines = [f"import site; site.addsitedir({path!r})\n" for path in dict.fromkeys(ours)]
    (Path(purelib) / "scalphost_parent_env.pth").write_text("".join(lines))
    env = PluginEnv(python, package, before)
    pip = env.run(
        *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
        *("--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed", str(package)),
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return env


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scalphost.yaml"
    path.write_text(text)
    return path


def row(table: str, name: str) -> list[str]:
    """The cells of ``name``'s row in ``scalphost plugins``' table."""
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == name:
            return cells
    raise AssertionError(f"no row for {name} in:\n{table}")


def test_the_installed_plugin_is_listed_off_until_the_config_enables_it(
    plugin_env: PluginEnv, tmp_path: Path
) -> None:
    silent = plugin_env.scalphost("plugins", "--config", str(config(tmp_path, "plugins: {}\n")))
    assert silent.returncode == 0, silent.stderr
    assert row(silent.stdout, "chandelier")[1:3] == ["scalphost-chandelier 0.1.0", "disabled"]

    enabling = config(tmp_path, "plugins:\n  chandelier:\n    enabled: true\n    window: 20\n")
    listed = plugin_env.scalphost("plugins", "--config", str(enabling), "--settings")
    assert listed.returncode == 0, listed.stderr
    assert row(listed.stdout, "chandelier") == [
        "chandelier",
        "scalphost-chandelier 0.1.0",
        "enabled",
        CHANDELIER_HOOKS,
    ]
    assert "chandelier:\n  multiplier: '3'\n  window: 20\n" in listed.stdout


def test_a_bad_setting_of_the_installed_plugin_exits_2_naming_the_field(
    plugin_env: PluginEnv, tmp_path: Path
) -> None:
    bad = config(tmp_path, "plugins:\n  chandelier:\n    enabled: true\n    window: 1\n")
    refused = plugin_env.scalphost("plugins", "--config", str(bad))
    assert refused.returncode == 2
    assert "plugins.chandelier.window" in refused.stderr


def test_the_package_own_tests_pass_where_it_is_installed(plugin_env: PluginEnv) -> None:
    tests = plugin_env.run("-m", "pytest", "-q", str(plugin_env.package / "tests"))
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert re.search(r"\b\d+ passed\b", tests.stdout), tests.stdout
    imported = plugin_env.run("-c", "import scalphost_chandelier as p; print(p.__file__)")
    assert imported.stdout.startswith(str(plugin_env.python.parent.parent)), imported.stdout


def test_golive_passes_for_a_config_enabling_the_installed_plugin(
    plugin_env: PluginEnv, tmp_path: Path
) -> None:
    """What the README promises a plugin author: copy, install, enable, ``scalphost golive``."""
    enabling = config(
        tmp_path,
        "instruments: [BTC-USDT-SWAP]\n"
        "golive:\n  session_minutes: 1\n"
        "plugins:\n  chandelier:\n    enabled: true\n",
    )
    command = ("golive", "--config", str(enabling), "--profile", "dev", "--plugin", "chandelier")
    checked = plugin_env.run("-m", "host.cli", *command, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^PASS  chandelier: coverage: answered in [1-9]", checked.stdout, re.M)
    assert "PASS  go-live stamp: written to " in checked.stdout


def test_nothing_was_installed_into_the_running_environment(plugin_env: PluginEnv) -> None:
    assert installed_here() == plugin_env.before
