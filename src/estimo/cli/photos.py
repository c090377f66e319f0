"""`estimo photos check | labels`: seller photos (needs the ``estimo[photos]`` extra).

The photo modules are imported inside the commands, so ``estimo`` starts without them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

photos_app = typer.Typer(
    help="Seller photos: room checklist, privacy (faces, EXIF/GPS), label quality.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _handle_errors(func: F) -> F:
    """Photo errors -> one message on stderr; exit 1 (bad photos, missing extra), 2 (bad usage)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ImportError as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=1) from None
        except (OSError, ValueError) as exc:
            from estimo.photos.images import PhotoError

            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            code = 1 if isinstance(exc, PhotoError | OSError) else 2
            raise typer.Exit(code=code) from None

    return wrapper  # type: ignore[return-value]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _refuse_unsafe_out(folder: Path, out: Path, names: list[str], force: bool) -> None:
    """Refuse an ``--out`` that would overwrite the originals or other files (exit 2).

    Parameters
    ----------
    folder : Path
        The folder of the original photos.
    out : Path
        The ``--out`` folder.
    names : list of str
        The files the check would write into ``out``.
    force : bool
        ``--force``: replacing files already in ``out`` (never the originals) is allowed.

    Raises
    ------
    typer.BadParameter
        When ``out`` is ``folder`` or inside it, or (without ``force``) already holds a file
        the check would write.
    """
    source, target = folder.resolve(), out.resolve()
    if target == source or target.is_relative_to(source):
        where = "the photo folder" if target == source else "inside the photo folder"
        raise typer.BadParameter(
            f"{str(out)!r} is {where} {str(folder)!r}: the cleaned photos would replace or "
            "mix with the originals; "
            "expected a folder outside it",
            param_hint="'--out'",
        )
    taken = [name for name in names if (out / name).exists()]
    if taken and not force:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise typer.BadParameter(
            f"{str(out)!r} already holds {shown}; expected an empty or new folder "
            "(or pass --force to replace those files)",
            param_hint="'--out'",
        )


@photos_app.command("check")
def check(
    folder: Annotated[Path, typer.Argument(help="folder with the photos of one listing")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="write cleaned photos (faces blurred, no EXIF/GPS) and check.json here",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    property_type: Annotated[
        str | None, typer.Option("--property-type", "-t", help="e.g. flat, house, land")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON file: property type -> required rooms (with a 'default')"),
    ] = None,
    privacy: Annotated[
        bool, typer.Option("--privacy/--no-privacy", help="detect and blur faces")
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="replace files of the same name already in --out (never the originals)"
        ),
    ] = False,
) -> None:
    """Room type of each photo, the checklist of required rooms, duplicates, faces blurred.

    --out must be a folder outside the photo folder; files already in it are not replaced
    without --force.
    """
    _check(folder, out, as_json, property_type, policy, privacy, force)


@_handle_errors
def _check(
    folder: Path,
    out: Path | None,
    as_json: bool,
    property_type: str | None,
    policy_file: Path | None,
    privacy: bool,
    force: bool = False,
) -> None:
    from estimo.photos.check import check_listing, cleaned_names
    from estimo.photos.checklist import ChecklistPolicy
    from estimo.photos.images import describe_skipped, scan_folder

    policy = ChecklistPolicy.from_file(policy_file) if policy_file else ChecklistPolicy()
    found = scan_folder(folder)
    files = found.photos
    if found.skipped:
        err_console.print(
            f"[yellow]warning:[/] {escape(describe_skipped(found.skipped))}",
            highlight=False,
            soft_wrap=True,
        )
    if out is not None:
        written = [*cleaned_names([path.name for path in files]), "check.json"]
        _refuse_unsafe_out(folder, out, written, force)
    photos = [(path.name, path.read_bytes()) for path in files]
    result = check_listing(
        photos, property_type=property_type, policy=policy, privacy=privacy or out is not None
    )
    body = {**result.to_dict(), "skipped": found.skipped}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in result.cleaned_files().items():
            _write_atomic(out / name, data)
        _write_atomic(out / "check.json", json.dumps(body, indent=2).encode())
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    table = Table("file", "room", "probability", "faces", "privacy")
    for photo in body["photos"]:
        room = photo["room"] if photo["room"] != "other" else f"other ({photo['candidate']}?)"
        if photo["unusable"]:
            room = "not a room photo"
        table.add_row(
            photo["file"],
            room,
            f"{photo['probability']:.2f}",
            str(photo["faces"]),
            ", ".join(photo["privacy_actions"]) or "-",
        )
    console.print(table)
    checklist = body["checklist"]
    for key in ("present", "doubtful", "missing"):
        console.print(f"{key}: {', '.join(checklist[key]) or '-'}")
    for group in checklist["duplicates"]:
        console.print(f"duplicates: {', '.join(group)}")
    for file, reason in checklist["unusable"].items():
        console.print(f"not a photo of a room: {escape(file)}: {escape(reason)}", highlight=False)
    if out is not None:
        console.print(f"cleaned photos and check.json in {out}")


@photos_app.command("labels")
def labels(
    labelled: Annotated[
        Path, typer.Argument(help="labelled photos: <house>_<room>.jpg, or one folder per room")
    ],
    unlabelled: Annotated[
        Path | None, typer.Option(help="photos without labels, ranked by labelling value")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write labels.json here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    top: Annotated[int, typer.Option(min=0, help="how many suspects / photos to show")] = 20,
    cache: Annotated[
        Path | None, typer.Option(help="folder to cache photo features between runs")
    ] = None,
    folds: Annotated[
        int, typer.Option(min=2, help="cross-validation folds, grouped by house (at least 2)")
    ] = 5,
) -> None:
    """Probably-mislabelled photos (out-of-fold, confident learning) and what to label next."""
    _labels(labelled, unlabelled, out, as_json, top, cache, folds)


@_handle_errors
def _labels(
    labelled: Path,
    unlabelled: Path | None,
    out: Path | None,
    as_json: bool,
    top: int,
    cache: Path | None,
    folds: int,
) -> None:
    from estimo.photos.labels import label_report

    report = label_report(labelled, unlabelled, cache_dir=cache, n_folds=folds, progress=True)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write_atomic(out / "labels.json", json.dumps(report.to_dict(), indent=2).encode())
    if as_json:
        typer.echo(json.dumps(report.to_dict(top), indent=2))
        return
    body = report.to_dict(top)
    console.print(
        f"{body['n_issues']} of {body['n_labelled']} labels look wrong "
        f"(cross-validated accuracy {body['metrics']['accuracy']:.3f})"
    )
    table = Table("file", "label", "suggested", "p(label)", "issue", title="most suspect labels")
    for row in body["suspects"]:
        table.add_row(
            Path(row["file"]).name,
            row["label"],
            row["suggested"],
            f"{row['label_probability']:.2f}",
            "yes" if row["issue"] else "",
        )
    console.print(table)
    if body["to_label"]:
        table = Table("file", "model's guess", "probability", "value", title="label these first")
        for row in body["to_label"]:
            table.add_row(
                Path(row["file"]).name,
                row["candidate"],
                f"{row['probability']:.2f}",
                f"{row['value']:.2f}",
            )
        console.print(table)
    if out is not None:
        console.print(f"full report: {out / 'labels.json'}")
