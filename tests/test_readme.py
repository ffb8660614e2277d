"""The README and docs/ are kept honest: every command shown parses, every link resolves."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.cli import app

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCED = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?:^|\s)(?:\.venv/bin/)?scalphost ([^\n]*)", re.MULTILINE)
SUBCOMMANDS = {("config", "show")}
"""Commands of a group; every other command is one word."""


def shown_commands() -> list[tuple[str, ...]]:
    """Each ``scalphost ...`` command of the README's code (blocks and inline), as its words."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    code = FENCED.findall(text) + INLINE.findall(FENCED.sub("", text))
    commands = []
    for snippet in code:
        for match in COMMAND.finditer(snippet):
            line = match.group(1).replace("\\|", "|").split("#")[0].rstrip(" \\")
            words = tuple(shlex.split(line))
            if words:
                commands.append(words)
    return commands


def command_and_options(words: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The (sub)command's name and the long options the line uses."""
    name = list(words[:2]) if tuple(words[:2]) in SUBCOMMANDS else [words[0]]
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    return name, options


def test_the_readme_shows_every_command() -> None:
    names = {tuple(command_and_options(words)[0]) for words in shown_commands()}
    assert {("run",), ("golive",), ("sim",), ("plugins",), ("check",), ("config", "show")} <= names


@pytest.mark.parametrize("words", shown_commands(), ids=" ".join)
def test_every_command_shown_parses(words: tuple[str, ...]) -> None:
    name, options = command_and_options(words)
    result = CliRunner().invoke(app, [*name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    unknown = [option for option in options if option not in result.output]
    assert not unknown, f"scalphost {' '.join(name)} has no {unknown}"


def headings(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    anchors = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
            continue
        if anchor and linked.suffix == ".md" and anchor not in headings(linked):
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_page_points_where_a_user_cannot_follow(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "../shared/" not in text
    assert not re.search(r"\(issue \d+\)", text)
