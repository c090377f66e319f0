"""One progress bar for every long step (rich, on stderr, removed when done)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def step_progress(
    description: str, total: int, *, enabled: bool = True, done: str = "done"
) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``total`` steps; yields ``advance(name)`` to call after each step.

    Parameters
    ----------
    description : str
        Shown before the first step completes.
    total : int
        Number of steps.
    enabled : bool
        ``False`` yields a no-op (library use, tests).
    done : str
        Verb shown with the name of the last finished step, e.g. ``"trained"``.

    Examples
    --------
    >>> with step_progress("training", 2, enabled=False) as advance:
    ...     advance("Milano")
    """
    if not enabled:
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(description, total=total)
    with bar:
        yield lambda name: bar.update(task, advance=1, description=f"{done} {name}")
