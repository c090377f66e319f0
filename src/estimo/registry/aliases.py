"""Aliases (``champion``, ``challenger``, any custom name) pointing at registry versions.

Each alias is one small JSON file, ``aliases/<name>.json``, replaced atomically (written to a
hidden temporary file, then renamed over the old one; one ``PUT`` on object stores). Every
change also writes one new, never modified event file under ``aliases/_history/`` (who, when,
from which version to which, why), so the history is append-only even on object stores,
where appending to a file is not possible.

Rollback replays an alias's history as a stack: setting pushes a version, rolling back pops
the current one, so successive rollbacks walk back through the versions that held the alias.

Examples
--------
>>> import fsspec
>>> fs = fsspec.filesystem("memory")
>>> store = AliasStore(fs, "/alias-doc", version_exists=lambda v: v in {"v1", "v2"})
>>> _ = store.set("champion", "v1", reason="first model")
>>> _ = store.set("champion", "v2", reason="better PE10")
>>> store.get("champion")
'v2'
>>> store.rollback("champion", reason="complaints").to_version
'v1'
>>> [e.action for e in store.history("champion")]
['set', 'set', 'rollback']
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import fsspec
from pydantic import BaseModel, ConfigDict

from estimo.registry._fs import RegistryError, dumps, read_json, write_atomic
from estimo.registry.manifest import current_user, utc_now

log = logging.getLogger(__name__)

__all__ = ["AliasEvent", "AliasStore", "check_alias_name"]

ALIAS_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")
RESERVED = frozenset({"latest"})
_VERSION_LIKE = re.compile(r"v?\d+")


class AliasEvent(BaseModel):
    """One change of one alias (a line of its history)."""

    model_config = ConfigDict(extra="forbid")

    alias: str
    action: Literal["set", "rollback", "delete"]
    from_version: str | None
    to_version: str | None
    at: datetime
    by: str
    reason: str = ""
    decision: str | None = None


def check_alias_name(name: str) -> str:
    """Return ``name`` if it is a valid alias name, else raise a clear error.

    Examples
    --------
    >>> check_alias_name("champion")
    'champion'
    """
    if (
        not isinstance(name, str)
        or not ALIAS_PATTERN.fullmatch(name)
        or name in RESERVED
        or _VERSION_LIKE.fullmatch(name)
    ):
        raise RegistryError(
            f"alias {name!r} is not a valid name; expected lower-case letters, digits, '-' or "
            "'_', starting with a letter, at most 64 characters, and neither 'latest' nor a "
            "version id such as 'v3'"
        )
    return name


class AliasStore:
    """Aliases of one registry.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        Filesystem of the registry.
    root : str
        Registry root path on ``fs``.
    version_exists : callable
        ``version_exists("v3") -> bool``; an alias can only point at an existing version.
    """

    def __init__(
        self, fs: fsspec.AbstractFileSystem, root: str, version_exists: Callable[[str], bool]
    ) -> None:
        self.fs = fs
        self.root = root
        self.version_exists = version_exists

    @property
    def folder(self) -> str:
        """Folder of the alias files."""
        return f"{self.root}/aliases"

    @property
    def history_folder(self) -> str:
        """Folder of the append-only history events."""
        return f"{self.folder}/_history"

    def _alias_path(self, name: str) -> str:
        return f"{self.folder}/{name}.json"

    def get(self, name: str) -> str | None:
        """Version the alias points at, or None when the alias is not set."""
        path = self._alias_path(check_alias_name(name))
        if not self.fs.exists(path):
            return None
        return self._target(name, path)

    def all(self, damaged: dict[str, str] | None = None) -> dict[str, str]:
        """Every alias that is set, name -> version, sorted by name.

        Parameters
        ----------
        damaged : dict, optional
            When given, a damaged alias file is left out and recorded here (name -> the
            problem) instead of raising.

        Raises
        ------
        RegistryError
            If an alias file is damaged and ``damaged`` is not given.
        """
        if not self.fs.exists(self.folder):
            return {}
        out = {}
        for path in sorted(self.fs.glob(f"{self.folder}/*.json")):
            name = path.rsplit("/", 1)[1][: -len(".json")]
            if not ALIAS_PATTERN.fullmatch(name):
                continue
            try:
                out[name] = self._target(name, path)
            except RegistryError as exc:
                if damaged is None:
                    raise
                damaged[name] = str(exc)
        return out

    def _target(self, name: str, path: str) -> str:
        """The version an alias file names; a damaged file is one clear error."""
        try:
            version = read_json(self.fs, path)["version"]
        except (ValueError, KeyError, TypeError):
            version = None
        if not isinstance(version, str) or not re.fullmatch(r"v\d+", version):
            raise RegistryError(
                f"alias file 'aliases/{name}.json' is damaged (expected JSON such as "
                f'{{"version": "v3"}}); set the alias again with `estimo models alias {name} '
                f"VERSION` (its history is in aliases/_history) or delete the file"
            )
        return version

    def aliases_of(self, version: str) -> list[str]:
        """Names of the aliases pointing at ``version``."""
        return [name for name, target in self.all(damaged={}).items() if target == version]

    def set(
        self,
        name: str,
        version: str,
        *,
        reason: str = "",
        by: str | None = None,
        decision: str | None = None,
        expected: str | None | Literal["any"] = "any",
    ) -> AliasEvent:
        """Point ``name`` at ``version`` and record the change.

        Parameters
        ----------
        name : str
            Alias name (``champion``, ``challenger``, ...).
        version : str
            An existing version id.
        reason : str
            Why; kept in the history.
        by : str, optional
            Who (default: ``user@host``).
        decision : str, optional
            Id of the gate decision behind the change.
        expected : str or None, optional
            When given, the version the alias must point at now (None: not set); the change
            is refused otherwise, so two promotions decided on the same champion cannot both
            silently win.
        """
        return self._change(name, "set", version, reason, by, decision, expected)

    def delete(self, name: str, *, reason: str = "", by: str | None = None) -> AliasEvent:
        """Remove an alias (the history keeps the event)."""
        event = self._event(name, "delete", self.get(name), None, reason, by, None)
        if event.from_version is None:
            raise RegistryError(f"alias {name!r} is not set; set aliases: {self._listing()}")
        self._append_history(event)
        self.fs.rm(self._alias_path(name))
        return event

    def rollback(
        self, name: str, *, to: str | None = None, reason: str = "", by: str | None = None
    ) -> AliasEvent:
        """Point ``name`` back at the version that held it before the current one.

        Parameters
        ----------
        name : str
            Alias name.
        to : str, optional
            Roll back to this version instead (it must exist).
        reason, by : str
            Recorded in the history.

        Raises
        ------
        RegistryError
            If the alias is not set or has no earlier version.
        """
        current = self.get(name)
        if current is None:
            raise RegistryError(f"alias {name!r} is not set; set aliases: {self._listing()}")
        if to is None:
            stack = self._stack(name)
            if len(stack) < 2:
                raise RegistryError(
                    f"alias {name!r} has no earlier version to roll back to from {current!r}; "
                    "give the version with --to VERSION"
                )
            to = stack[-2]
        return self._change(name, "rollback", to, reason, by, None, "any")

    def previous(self, name: str) -> str | None:
        """The version that held ``name`` before its current one (None if none did): what
        :meth:`rollback` goes back to without ``to``."""
        stack = self._stack(name)
        return stack[-2] if len(stack) >= 2 else None

    def history(self, name: str | None = None) -> list[AliasEvent]:
        """Events of one alias (or of all aliases), oldest first."""
        if name is not None:
            check_alias_name(name)
        if not self.fs.exists(self.history_folder):
            return []
        events = []
        for path in sorted(self.fs.glob(f"{self.history_folder}/*.json")):
            event = AliasEvent.model_validate(read_json(self.fs, path))
            if name is None or event.alias == name:
                events.append(event)
        return events

    # ------------------------------------------------------------------ internals

    def _stack(self, name: str) -> list[str]:
        stack: list[str] = []
        for event in self.history(name):
            if event.action == "delete" or event.to_version is None:
                stack.clear()
            elif event.action == "rollback":
                while stack and stack[-1] != event.to_version:
                    stack.pop()
                if not stack:
                    stack.append(event.to_version)
            elif not stack or stack[-1] != event.to_version:  # v2 -> v2 again: one entry
                stack.append(event.to_version)
        return stack

    def _change(
        self,
        name: str,
        action: Literal["set", "rollback"],
        version: str,
        reason: str,
        by: str | None,
        decision: str | None,
        expected: str | None | Literal["any"],
    ) -> AliasEvent:
        check_alias_name(name)
        if not self.version_exists(version):
            raise RegistryError(
                f"cannot point alias {name!r} at {version!r}: no such version in the registry"
            )
        try:
            current = self.get(name)
        except RegistryError:  # a damaged alias file: setting it by hand repairs it
            if expected != "any":
                raise
            log.warning("alias %s: its damaged file is replaced", name)
            current = None
        if expected != "any" and current != expected:
            raise RegistryError(
                f"alias {name!r} points at {current!r}, expected {expected!r}; it was changed "
                "by someone else meanwhile, decide again"
            )
        event = self._event(name, action, current, version, reason, by, decision)
        self._append_history(event)
        write_atomic(
            self.fs,
            self._alias_path(name),
            dumps(
                {
                    "alias": name,
                    "version": version,
                    "set_at": event.at.isoformat(),
                    "set_by": event.by,
                    "reason": reason,
                    "previous": current,
                    "decision": decision,
                }
            ),
        )
        log.info("alias %s: %s -> %s (%s)", name, current, version, reason or action)
        return event

    def _event(
        self,
        name: str,
        action: Literal["set", "rollback", "delete"],
        from_version: str | None,
        to_version: str | None,
        reason: str,
        by: str | None,
        decision: str | None,
    ) -> AliasEvent:
        return AliasEvent(
            alias=check_alias_name(name),
            action=action,
            from_version=from_version,
            to_version=to_version,
            at=utc_now(),
            by=by or current_user(),
            reason=reason,
            decision=decision,
        )

    def _append_history(self, event: AliasEvent) -> None:
        # Nanosecond time first so a sorted listing is chronological; uuid keeps names unique.
        name = f"{time.time_ns():020d}-{event.alias}-{uuid.uuid4().hex[:8]}.json"
        write_atomic(
            self.fs, f"{self.history_folder}/{name}", event.model_dump_json(indent=2).encode()
        )

    def _listing(self) -> str:
        current = self.all()
        return ", ".join(f"{k} -> {v}" for k, v in current.items()) or "none"
