"""The API key store on SQLite and PostgreSQL, and `estimo keys`."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from _guard_backends import POSTGRES_URL, require_server
from typer.testing import CliRunner

from estimo.cli import app
from estimo.serve.guard.keys import KeyStore, KeyStoreError, parse_key


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield KeyStore.from_url(f"sqlite:///{tmp_path / 'keys.db'}", cache_seconds=0)
        return
    require_server("PostgreSQL", "127.0.0.1", 5432)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    keys = KeyStore.from_url(POSTGRES_URL, cache_seconds=0, table_prefix=prefix)
    yield keys
    keys.table.drop(keys.engine)
    keys.engine.dispose()


def test_only_a_salted_hash_is_stored(store: KeyStore) -> None:
    first, plain = store.create("valuation form", "public")
    second, plain2 = store.create("valuation form", "public")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(store.table)).all()
    stored = b"".join(bytes(r.digest) + bytes(r.salt) + r.name.encode() for r in rows)
    for key in (plain, plain2):
        assert parse_key(key)[1].encode() not in stored
    assert rows[0].salt != rows[1].salt and rows[0].digest != rows[1].digest
    assert len(rows[0].digest) == 32


def test_verify_list_revoke_round_trip(store: KeyStore) -> None:
    internal, plain_internal = store.create("analysts", "internal")
    public, plain_public = store.create("form", "public")
    assert store.verify(plain_internal).tier == "internal"
    assert store.verify(plain_public).key_id == public.key_id
    assert store.verify(plain_public[:-1] + ("A" if plain_public[-1] != "A" else "B")) is None
    assert store.verify("est_000000000000_nope") is None
    assert store.verify("not a key") is None
    assert [k.key_id for k in store.list()] == [internal.key_id, public.key_id]
    revoked = store.revoke(public.key_id)
    assert revoked.revoked and revoked.revoked_at.tzinfo is not None
    assert store.verify(plain_public) is None
    assert [k.key_id for k in store.list()] == [internal.key_id]
    assert len(store.list(include_revoked=True)) == 2


def test_bad_tier_and_unknown_key_are_named(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match=r"tier 'boss' is unknown; expected one of internal"):
        store.create("x", "boss")
    with pytest.raises(KeyStoreError, match=r"key 'abc' is unknown"):
        store.revoke("abc")


def test_cache_keeps_a_verified_key_until_this_process_revokes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    cached = KeyStore.from_url(url, cache_seconds=3600)
    key, plain = cached.create("form", "partner")
    assert cached.verify(plain).tier == "partner"
    KeyStore.from_url(url).revoke(key.key_id)  # another process
    assert cached.verify(plain) is not None  # within cache_seconds
    cached.revoke(key.key_id)
    assert cached.verify(plain) is None


def test_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'keys.db'}"
    runner = CliRunner()
    made = runner.invoke(
        app, ["keys", "create", "partner: Acme", "--tier", "partner", "--store", url]
    )
    assert made.exit_code == 0, made.output
    plain = made.output.strip().splitlines()[-1]
    key_id = parse_key(plain)[0]
    listed = runner.invoke(app, ["keys", "list", "--json", "--store", url])
    assert f'"key_id": "{key_id}"' in listed.output and '"tier": "partner"' in listed.output
    assert plain not in listed.output
    assert runner.invoke(app, ["keys", "revoke", key_id, "--store", url]).exit_code == 0
    assert KeyStore.from_url(url).verify(plain) is None
    bad = runner.invoke(app, ["keys", "create", "x", "--tier", "boss", "--store", url])
    assert bad.exit_code != 0 and "tier 'boss' is unknown" in bad.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data:\n  path: m.parquet\n engine: {\n", "is not valid YAML"),
        ("serve: [1, 2]\n", "serve is list; expected a section"),
        ("serve:\n  guard:\n    keys_ulr: sqlite:///k.db\n", "serve.guard.keys_ulr"),
    ],
)
def test_keys_cli_checks_the_project_file_as_the_service_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    """A YAML error or an odd serve: section crashed as a bug; a typo was ignored (the
    keys then went to the default store)."""
    project = tmp_path / "estimo.yaml"
    project.write_text(text)
    monkeypatch.setenv("ESTIMO_CONFIG", str(project))
    monkeypatch.delenv("ESTIMO_SERVE__GUARD__KEYS_URL", raising=False)
    result = CliRunner().invoke(app, ["keys", "list"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "unexpected" not in result.output


def test_keys_cli_says_when_there_is_no_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    listed = CliRunner().invoke(app, ["keys", "list", "--store", url])
    assert listed.exit_code == 0 and "no keys yet" in listed.output
