"""The hostile-input corpus finds its OKX samples in a plain ``pip install``, not only here.

The samples are package data of ``host.faults`` (``host/faults/samples``) read through
:mod:`importlib.resources`. A path built from the repository's layout (``tests/okx_samples``
beside ``host/``) finds them in an editable install and finds nothing in an installed wheel, and
the corpus then mutates generated frames alone without a word. So the wheel is built for real
(offline, with this environment's setuptools), unpacked into an empty directory, and a fresh
interpreter with only that directory in front of its path lists the samples the corpus finds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from host.faults.corpus import ws_samples

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

WHAT_THE_CORPUS_FINDS = """
import json, host.faults.corpus as corpus
print(json.dumps({"module": corpus.__file__, "samples": sorted(corpus.ws_samples())}))
"""


def built_wheel(root: Path) -> Path:
    """The project's wheel, built from a copy of what a source distribution holds."""
    source = root / "source"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for part in ("host", "plugins"):
        shutil.copytree(REPO / part, source / part, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-build-isolation", "--no-index", "-w", str(root / "dist")),
            str(source),
        ],
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (root / "dist").glob("scalphost-*.whl")
    return wheel


def test_the_installed_corpus_finds_every_sample_through_importlib_resources(
    tmp_path: Path,
) -> None:
    installed = tmp_path / "site"
    with zipfile.ZipFile(built_wheel(tmp_path)) as wheel:
        wheel.extractall(installed)
    found = subprocess.run(
        [sys.executable, "-c", WHAT_THE_CORPUS_FINDS],
        cwd=tmp_path,  # not the repository: nothing of it is importable from here
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer = json.loads(found.stdout)

    assert Path(answer["module"]).is_relative_to(installed)  # the wheel's, not the repository's
    assert answer["samples"] == sorted(ws_samples())
    assert len(answer["samples"]) >= 30  # the real WebSocket samples, every one
