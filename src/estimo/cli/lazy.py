"""Commands registered by name and imported only when run: a fast ``estimo --help``.

Each command module imports what its command needs (pandas, LightGBM, scipy, rich tables);
importing them all to print the list of commands took seconds. :class:`LazyGroup` knows
every command by a :class:`LazyCommand` entry (module, attribute, one-line help): it lists
them from the entries and imports a module only when its command is run or asked for its
own help. A command module may define a function (one command) or a ``typer.Typer`` (a
group of commands, e.g. ``estimo models ...``).

Examples
--------
>>> entry = LazyCommand("estimo.cli.models", "promote", "promote through the gate")
>>> entry.load("promote").name
'promote'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["LazyCommand", "LazyGroup"]


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives and what it does, in one line (shown by ``estimo --help``)."""

    module: str
    attribute: str
    help: str

    def load(self, name: str) -> Any:
        """Import the module and build the click command named ``name``."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        if isinstance(target, typer.Typer):
            group = typer.main.get_group(target)
            group.name = name
            return group
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """A Typer group whose commands (``lazy_commands``, name -> :class:`LazyCommand`) are
    imported on first use; the help page lists them without importing them."""

    lazy_commands: dict[str, LazyCommand] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        """The lazy commands in their order, then any registered directly."""
        names = list(self.lazy_commands)
        return names + [n for n in super().list_commands(ctx) if n not in self.lazy_commands]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command; while the help page is drawn, a light stand-in with its help line."""
        loaded = self.commands.get(cmd_name)
        entry = self.lazy_commands.get(cmd_name)
        if loaded is not None or entry is None:
            return loaded
        if self._listing:
            return typer.core.TyperCommand(cmd_name, help=entry.help, short_help=entry.help)
        command = entry.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Draw the help page from the entries (no command module is imported)."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
