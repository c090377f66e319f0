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
import yaml

from estimo.cli._common import console, handle_errors
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
        path = Path(os.environ.get("ESTIMO_CONFIG", "estimo.yaml"))
        serve: dict[str, Any] = {}
        if path.is_file():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            serve = (loaded.get("serve") or {}) if isinstance(loaded, dict) else {}
        guard, monitor = serve.get("guard") or {}, serve.get("monitor") or {}
        url = str(
            guard.get("keys_url")
            or os.environ.get("ESTIMO_SERVE__MONITOR__STORE_URL")
            or monitor.get("store_url")
            or DEFAULT_KEYS_URL
        )
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return KeyStore.from_url(url, cache_seconds=0)


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
    for key in _store(store).list(include_revoked=all_keys):
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
            console.print(f"{key.key_id}  {key.tier:<8}  {state:<28}  {key.name}")


@keys_app.command("revoke")
@handle_errors
def revoke(
    key_id: Annotated[str, typer.Argument(help="id from `estimo keys list`")],
    store: StoreOption = None,
) -> None:
    """Stop a key from working (other service processes follow within keys_cache_seconds)."""
    key = _store(store).revoke(key_id)
    console.print(f"key {key.key_id} ({key.name!r}) is revoked")
