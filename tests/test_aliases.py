"""Aliases: atomic updates, append-only history, rollback, name checks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from estimo import storage as fs_module  # where the registry's atomic writes live
from estimo.registry import AliasStore, RegistryError

VERSIONS = {"v1", "v2", "v3", "v4"}


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AliasStore]:
    if request.param == "local":
        fs, root = fsspec.filesystem("file"), str(tmp_path)
    else:
        fs, root = fsspec.filesystem("memory"), f"/aliases-{uuid.uuid4().hex}"
    yield AliasStore(fs, root, version_exists=VERSIONS.__contains__)
    if request.param == "memory" and fs.exists(root):
        fs.rm(root, recursive=True)


def test_set_get_and_history(store: AliasStore) -> None:
    assert store.get("champion") is None
    store.set("champion", "v1", reason="first", by="ana")
    store.set("challenger", "v2", by="bo")
    store.set("champion", "v2", reason="better", by="ana", decision="d-1")
    assert store.get("champion") == "v2"
    assert store.all() == {"challenger": "v2", "champion": "v2"}
    assert store.aliases_of("v2") == ["challenger", "champion"]
    history = store.history("champion")
    assert [(e.from_version, e.to_version, e.by, e.reason) for e in history] == [
        (None, "v1", "ana", "first"),
        ("v1", "v2", "ana", "better"),
    ]
    assert history[1].decision == "d-1"
    assert history[0].at <= history[1].at
    assert len(store.history()) == 3


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["v1", "v2", "v3", "rb"], "v2"),
        (["v1", "v2", "v3", "rb", "rb"], "v1"),
        (["v1", "v2", "rb", "v3", "rb"], "v1"),
        (["v1", "v2", "v1", "rb"], "v2"),
        (["v1", "v2", "v3", "rb:v1"], "v1"),
        (["v1", "v2", "v3", "rb:v2", "rb"], "v1"),
        (["v1", "v2", "v2", "rb"], "v1"),  # set twice to v2: it "rolled back" v2 -> v2
        (["v1", "v2", "v2", "v3", "v3", "rb", "rb"], "v1"),
    ],
)
def test_rollback_walks_back_through_holders(
    store: AliasStore, steps: list[str], expected: str
) -> None:
    for step in steps:
        if step == "rb":
            store.rollback("champion", reason="bad")
        elif step.startswith("rb:"):
            store.rollback("champion", to=step[3:], reason="bad")
        else:
            store.set("champion", step)
    assert store.get("champion") == expected
    assert store.history("champion")[-1].action == "rollback"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "alias 'champion' is not set"),
        (["v1"], "no earlier version"),
        (["v1", "v2", "rb"], "no earlier version"),
    ],
)
def test_rollback_without_an_earlier_version_fails(
    store: AliasStore, steps: list[str], message: str
) -> None:
    for step in steps:
        store.rollback("champion") if step == "rb" else store.set("champion", step)
    with pytest.raises(RegistryError, match=message):
        store.rollback("champion")


@pytest.mark.parametrize(
    "name", ["Champion", "latest", "v3", "12", "", "a/b", "../x", "x" * 65, "-x"]
)
def test_invalid_alias_names_are_refused(store: AliasStore, name: str) -> None:
    with pytest.raises(RegistryError, match="is not a valid name"):
        store.set(name, "v1")


def test_alias_must_point_at_an_existing_version(store: AliasStore) -> None:
    with pytest.raises(RegistryError, match="'v9': no such version"):
        store.set("champion", "v9")
    assert store.history() == []


def test_expected_current_version_guards_concurrent_decisions(store: AliasStore) -> None:
    store.set("champion", "v1")
    store.set("champion", "v2", expected="v1")
    with pytest.raises(RegistryError, match="points at 'v2', expected 'v1'"):
        store.set("champion", "v3", expected="v1")
    assert store.get("champion") == "v2"


def test_delete_keeps_the_history(store: AliasStore) -> None:
    store.set("challenger", "v3")
    store.delete("challenger", reason="done")
    assert store.get("challenger") is None
    assert [e.action for e in store.history("challenger")] == ["set", "delete"]


def test_failed_alias_write_keeps_the_old_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AliasStore(fsspec.filesystem("file"), str(tmp_path), VERSIONS.__contains__)
    store.set("champion", "v1")

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut (simulated)")

    monkeypatch.setattr(fs_module.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        store.set("champion", "v2")
    monkeypatch.undo()
    assert store.get("champion") == "v1"
    leftovers = [p for p in os.listdir(tmp_path / "aliases") if p.startswith(".tmp")]
    assert leftovers == []
