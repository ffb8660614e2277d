"""How a checklist item reads in a terminal: a coloured mark, the item, the summary, evidence."""

from __future__ import annotations

import typer

from host.golive.checklist import ItemResult, Status

MARKS = {
    Status.PASSED: ("PASS", typer.colors.GREEN),
    Status.FAILED: ("FAIL", typer.colors.RED),
    Status.SKIPPED: ("skip", typer.colors.YELLOW),
}


def render_item(result: ItemResult) -> str:
    """``PASS  item: summary`` and, indented below, each line of evidence."""
    mark, colour = MARKS[result.status]
    head = f"{typer.style(mark, fg=colour, bold=True)}  {result.item}: {result.summary}"
    evidence = ["      " + line.replace("\n", "\n      ") for line in result.details]
    return "\n".join([head, *evidence])
