"""Start-up errors that name what is wrong, so the CLI can exit 2 with one line per problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the configuration, at a dotted field path such as ``plugins.x.y``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(Exception):
    """The configuration cannot be used. The CLI prints each problem on its own line, exit 2."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def single(cls, path: str, message: str) -> ConfigError:
        """Build an error with one problem."""
        return cls([ConfigProblem(path, message)])
