"""`estimo keys create|list|revoke`: the API keys of the valuation service.

The store is ``serve.guard.keys_url`` of the project file (or
``ESTIMO_SERVE__GUARD__KEYS_URL``; ``--store`` wins): the monitoring database by default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from estimo.cli._common import console, esc, handle_errors
from estimo.errors import ConfigError

keys_app = typer.Typer(help="API keys of the valuation service (tiers: internal, partner, public).")

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="key store URL (default: serve.guard.keys_url, else the service's monitoring store)",
    ),
]
SERVE_EXTRA = 'API keys need the serve extra: pip install "estimo[serve]"'


def _store(url: str | None) -> Any:
    try:
        from estimo.serve.guard.keys import KeyStore
        from estimo.serve.guard.settings import DEFAULT_KEYS_URL
    except ImportError as exc:
        raise ConfigError(f"{SERVE_EXTRA} ({exc})") from None
    if url is None:
        url = os.environ.get("ESTIMO_SERVE__GUARD__KEYS_URL")
    if url is None:
        guard, monitor = _serve_sections(Path(os.environ.get("ESTIMO_CONFIG", "estimo.yaml")))
        url = str(
            guard.get("keys_url")
            or os.environ.get("ESTIMO_SERVE__MONITOR__STORE_URL")
            or monitor.get("store_url")
            or DEFAULT_KEYS_URL
        )
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return KeyStore.from_url(url, cache_seconds=0)


def _serve_sections(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``serve.guard`` and ``serve.monitor`` sections of the project file, checked as
    the service checks them (a typo such as ``keys_ulr`` is refused, not ignored).

    Raises
    ------
    ConfigError
        If the file is not YAML or a section is not what the service reads.
    """
    from pydantic import ValidationError

    from estimo.config import resolve_sqlite_url
    from estimo.serve.guard.settings import GuardSettings
    from estimo.serve.settings import MonitorSettings
    from estimo.yaml_text import read_yaml_file

    if not path.is_file():
        return {}, {}
    content = read_yaml_file(path)
    serve = content.get("serve") if isinstance(content, dict) else None
    if serve is None:
        return {}, {}
    if not isinstance(serve, dict):
        raise ConfigError(f"{str(path)!r}: serve is {type(serve).__name__}; expected a section")
    sections = {"guard": GuardSettings, "monitor": MonitorSettings}
    out = []
    for name, model in sections.items():
        section = serve.get(name) or {}
        try:
            model.model_validate(section)
        except ValidationError as exc:
            problems = "; ".join(
                f"serve.{name}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"{str(path)!r} is invalid: {problems}") from None
        out.append(dict(section))
    base = path.resolve().parent  # relative SQLite stores: next to the project file
    for section, key in zip(out, ("keys_url", "store_url"), strict=True):
        if isinstance(section.get(key), str):
            section[key] = resolve_sqlite_url(section[key], base)
    return out[0], out[1]


@keys_app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Argument(help="who holds the key ('valuation form')")],
    tier: Annotated[str, typer.Option(help="internal, partner or public")] = "public",
    store: StoreOption = None,
) -> None:
    """Create a key; the key itself is printed once and never stored."""
    key, plain = _store(store).create(name, tier)
    console.print(f"key id {key.key_id} ({key.tier}) for {key.name!r}; the key (shown once):")
    typer.echo(plain)


@keys_app.command("list")
@handle_errors
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="revoked keys too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per key")] = False,
    store: StoreOption = None,
) -> None:
    """The keys (ids, holders, tiers, dates; never the keys themselves)."""
    keys = _store(store).list(include_revoked=all_keys)
    if not keys and not as_json:
        console.print("no keys yet: create one with `estimo keys create NAME --tier TIER`")
    for key in keys:
        row = {
            "key_id": key.key_id,
            "name": key.name,
            "tier": key.tier,
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            state = f"revoked {row['revoked_at'][:19]}" if key.revoked else "active"
            created = row["created_at"][:10]
            console.print(f"{key.key_id}  {key.tier:<8}  {created}  {state:<28}  {esc(key.name)}")


@keys_app.command("revoke")
@handle_errors
def revoke(
    key_id: Annotated[str, typer.Argument(help="id from `estimo keys list`")],
    store: StoreOption = None,
) -> None:
    """Stop a key from working (other service processes follow within keys_cache_seconds)."""
    key = _store(store).revoke(key_id)
    console.print(f"key {key.key_id} ({key.name!r}) is revoked")
