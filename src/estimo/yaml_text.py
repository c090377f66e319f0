"""Strict reading of the project file's YAML and of ``ESTIMO_*`` override values.

PyYAML keeps the last of two equal keys silently and raises its own errors; here a
duplicate key, a file that is not UTF-8 text and text that is not YAML each become one
:class:`~estimo.errors.ConfigError` naming the file (or variable), the key or byte, the line
and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from estimo.errors import ConfigError


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader refusing a mapping that repeats a key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            if first is not None:
                raise ConfigError(
                    f"key {key!r} appears twice (lines {first} and {line}); "
                    "expected each key once: keep one of them"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date as YAML writes one; a value shaped like a date that is not one
        (``2023-13-01``) stays text, for the setting's own check to name it."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


UniqueKeyLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", UniqueKeyLoader.construct_yaml_timestamp
)

# YAML 1.2 booleans: only true/false (any case). PyYAML's YAML 1.1 also reads yes/no/on/off/
# y/n as booleans, so `currency: NO` (Norwegian krone) became False; such words stay text
# (a yes/no setting still reads them as booleans when it validates).
UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml_file(path: Path, shown: str | None = None) -> Any:
    """The YAML document of a project file, strictly read.

    Parameters
    ----------
    path : Path
        The file.
    shown : str, optional
        How messages name the file (default: ``str(path)``, as the user gave it).

    Raises
    ------
    ConfigError
        If the file is not UTF-8 text, not valid YAML, or repeats a key; the message names
        the file as given.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d, "estimo.yaml")
    ...     _ = p.write_text("data:\\n  path: a.csv\\n  path: b.csv\\n")
    ...     read_yaml_file(p, shown="estimo.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estimo.errors.ConfigError: project file 'estimo.yaml': key 'path' appears twice (lines 2 ...
    """
    name = str(path) if shown is None else shown
    content = path.read_bytes()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"project file {name!r} is not UTF-8 text: byte {content[exc.start]:#04x} on "
            f"line {line} cannot be read; save the file as UTF-8"
        ) from None
    return parse_yaml(text, f"project file {name!r}")


def parse_yaml(text: str, source: str) -> Any:
    """``text`` as YAML, refusing repeated keys; errors name ``source``.

    Examples
    --------
    >>> parse_yaml("a: 1", "x")
    {'a': 1}
    >>> parse_yaml("[", "environment variable ESTIMO_ENGINE__N_ESTIMATORS")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estimo.errors.ConfigError: environment variable ESTIMO_ENGINE__N_ESTIMATORS is not valid ...
    """
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(
            f"{source} is not valid YAML{where}: {problem}; expected YAML such as "
            "'key: value' (quote text that starts with [, {, : or #)"
        ) from None
