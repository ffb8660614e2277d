"""The go-live stamp: proof that this exact configuration and code passed ``scalphost golive``.

A stamp is bound to an :class:`Identity`: a digest of the effective configuration and digests of
the code that would trade — the host package and the module of every enabled plugin — with their
installed versions. Change a threshold, enable another plugin, upgrade or edit a plugin, and the
stamp no longer applies: ``scalphost run --mode live`` refuses until golive passes again.

What the digest leaves out, and why: the mode (golive is run before switching to live), the
credentials (secrets; a new key changes no trading opinion) and the log level.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from host.clock import Clock, ensure_utc
from host.pluginmanager import PluginHost
from host.settings import Settings, redacted_dump

NOT_IN_DIGEST = ("mode", "credentials", "log_level")
"""Top-level settings that do not change what the host would do with money."""

PACKAGE = "scalphost"


@dataclass(frozen=True, slots=True)
class Identity:
    """What a stamp is bound to."""

    config: str
    """SHA-256 of the effective settings, less :data:`NOT_IN_DIGEST`."""
    host: str
    """The installed scalphost version and a digest of its code."""
    plugins: Mapping[str, str]
    """Each enabled plugin: where it comes from (built-in or its distribution and version) and a
    digest of its module's code."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """A passed golive run: the identity it passed for, the profile, and when."""

    identity: Identity
    profile: str
    passed_at: datetime
    only: tuple[str, ...] = ()
    """The plugins whose suites alone ran (``golive --plugin``); empty: every plugin's did."""


def config_digest(settings: Settings) -> str:
    """SHA-256 over the canonical JSON of the settings that matter to trading."""
    effective = {k: v for k, v in redacted_dump(settings).items() if k not in NOT_IN_DIGEST}
    return _sha256(json.dumps(effective, sort_keys=True, separators=(",", ":")))


def identity_of(settings: Settings, plugins: Mapping[str, tuple[str, type]]) -> Identity:
    """The identity of ``settings`` run with ``plugins`` (``name -> (source, class)``)."""
    return Identity(
        config=config_digest(settings),
        host=f"{_version()} {_host_code_digest()}",
        plugins={
            name: f"{source} {_package_digest(plugin_class)}"
            for name, (source, plugin_class) in sorted(plugins.items())
        },
    )


def stamp_path(settings: Settings, identity: Identity) -> Path:
    """Where the stamp for ``identity`` lives: next to the journals, one file per config."""
    return settings.journal.directory / "golive" / f"{identity.config[:16]}.json"


def write_stamp(
    settings: Settings,
    identity: Identity,
    profile: str,
    clock: Clock,
    only: Sequence[str] = (),
) -> Path:
    """Record that golive passed for ``identity`` under ``profile``; return the file.

    ``only``: the plugins whose suites alone ran. Such a stamp is written (it says what was
    checked) but does not let live trading start.
    """
    path = stamp_path(settings, identity)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "identity": asdict(identity),
        "profile": profile,
        "passed_at": clock.now().isoformat(),
        "only": list(only),
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_stamp(settings: Settings, identity: Identity) -> Stamp | None:
    """The stamp written for this configuration, if any (it may be for other code)."""
    path = stamp_path(settings, identity)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        recorded = document["identity"]
        return Stamp(
            Identity(recorded["config"], recorded["host"], dict(recorded["plugins"])),
            str(document["profile"]),
            ensure_utc(datetime.fromisoformat(document["passed_at"])),
            tuple(map(str, document.get("only", ()))),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _host_code_digest() -> str:
    """Digest of every module of the host package: an edited host is another host."""
    return _tree_digest(Path(__file__).resolve().parents[1])


def _package_digest(plugin_class: type) -> str:
    """Digest of the top-level package (or lone module) that defines ``plugin_class``.

    The whole package, not just the class's module: a plugin's helpers live beside it. An
    editable install changes without a version bump, so the version alone is not enough.
    """
    top = sys.modules.get(plugin_class.__module__.partition(".")[0])
    where = getattr(top, "__file__", None)
    if where is None:
        return "source-unavailable"
    path = Path(where).resolve()
    return _tree_digest(path.parent) if path.name == "__init__.py" else _file_digest(path)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def identity_for(settings: Settings, plugin_host: PluginHost) -> Identity:
    """The identity of ``settings`` with the plugins ``plugin_host`` built for it."""
    sources = {info.name: info.source for info in plugin_host.plugins}
    return identity_of(
        settings,
        {name: (sources[name], type(plugin)) for name, plugin in plugin_host.instances.items()},
    )
