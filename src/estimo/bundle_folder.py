"""A folder of a saved bundle (local path or fsspec URL): text, JSON and Parquet files only.

Every fitted component saves and loads itself through one :class:`BundleFolder`:
``component.to_bundle(folder) -> dict`` writes its tables and returns the JSON-ready facts
that :meth:`from_bundle` (a classmethod) reads back with the same folder. Nothing stored
executes code: no pickles.

Examples
--------
>>> import tempfile
>>> folder = BundleFolder(tempfile.mkdtemp()).sub("part")
>>> folder.write_json("facts.json", {"a": 1})
>>> folder.read_json("facts.json"), folder.exists("facts.json"), folder.exists("other.json")
({'a': 1}, True, False)
"""

from __future__ import annotations

import io
import json
from typing import Any

import fsspec
import pandas as pd


class BundleFolder:
    """Files under one folder of a bundle.

    Parameters
    ----------
    url : str
        Local path or fsspec URL of the folder (created on first write).
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)

    def __repr__(self) -> str:
        return f"BundleFolder({self.url!r})"

    def path(self, name: str) -> str:
        """Filesystem path of a file of this folder."""
        return f"{self.root}/{name}"

    def sub(self, name: str) -> BundleFolder:
        """The sub-folder ``name``."""
        return BundleFolder(f"{self.url}/{name}")

    def exists(self, name: str) -> bool:
        """Whether the file ``name`` exists."""
        return bool(self.fs.exists(self.path(name)))

    def _parent(self, name: str) -> None:
        parent = self.path(name).rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)

    def write_text(self, name: str, text: str) -> None:
        """Write a text file."""
        self._parent(name)
        with self.fs.open(self.path(name), "w") as fh:
            fh.write(text)

    def read_text(self, name: str) -> str:
        """Read a text file."""
        with self.fs.open(self.path(name), "r") as fh:
            return str(fh.read())

    def write_json(self, name: str, data: Any) -> None:
        """Write JSON (indented, for people reading the bundle)."""
        self.write_text(name, json.dumps(data, indent=2))

    def read_json(self, name: str) -> Any:
        """Read JSON."""
        return json.loads(self.read_text(name))

    def write_parquet(self, name: str, table: pd.DataFrame) -> None:
        """Write a table as Parquet (its index is not kept: reset it first if it matters)."""
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        self._parent(name)
        with self.fs.open(self.path(name), "wb") as fh:
            fh.write(buffer.getvalue())

    def read_parquet(self, name: str) -> pd.DataFrame:
        """Read a Parquet table."""
        with self.fs.open(self.path(name), "rb") as fh:
            return pd.read_parquet(io.BytesIO(fh.read()))
