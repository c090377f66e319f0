"""Light start-up: `import estimo` and `estimo --help` import none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from estimo.cli import COMMANDS, app

HEAVY = ("pandas", "scipy", "lightgbm", "sklearn", "pyarrow", "rich")


def _modules_after(code: str) -> set[str]:
    probe = (
        "import sys\ntry:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except SystemExit:\n    pass\n"
        + "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import estimo",
        "import sys; sys.argv = ['estimo', '--help']\nfrom estimo.cli import main\nmain()",
        "import sys; sys.argv = ['estimo', '--version']\nfrom estimo.cli import main\nmain()",
    ],
)
def test_start_up_imports_nothing_heavy(code: str) -> None:
    loaded = _modules_after(code)
    assert "estimo" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("code", ["import estimo.serve.main", "import estimo.registry.store"])
def test_the_service_starts_without_the_engines_libraries(code: str) -> None:
    """The app and the registry's catalog answer /readyz before pandas, LightGBM or a key
    store's SQLAlchemy are needed (they are imported with the first model or key store)."""
    loaded = _modules_after(code)
    assert not loaded & {*HEAVY, "sqlalchemy"}, sorted(loaded & {*HEAVY, "sqlalchemy"})


def test_the_help_page_lists_every_command_from_the_registry() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from estimo.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for name, entry in COMMANDS.items():
        assert name in out.stdout
        assert entry.help.split()[0] in out.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_loads(name: str) -> None:
    """Each entry names a real command (a typo would only show when the command is run)."""
    command = COMMANDS[name].load(name)
    assert command.name == name
    assert command.help or command.callback is not None


def test_a_report_command_does_not_load_the_engine() -> None:
    """A command imports what it uses: `estimo report` needs neither LightGBM nor scipy."""
    loaded = _modules_after(
        "import sys; sys.argv = ['estimo', 'report', '--help']\nfrom estimo.cli import main\nmain()"
    )
    assert not loaded & {"lightgbm", "scipy"}


def test_an_unknown_command_is_a_usage_error() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["trian"])
    assert result.exit_code == 2
    assert "trian" in result.output
