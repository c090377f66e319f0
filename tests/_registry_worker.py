"""Worker of the multi-process registry test; imports only the light registry modules."""

from __future__ import annotations

from typing import Any


def save_copies(url: str, folder: str, n: int, queue: Any, barrier: Any) -> None:
    """Register ``folder`` ``n`` times in the registry at ``url``; report the versions.

    Every worker waits at ``barrier`` first, so the saves really race.
    """
    from estimo.registry.store import Registry

    registry = Registry(url)
    barrier.wait(timeout=60)
    queue.put([registry.add_folder(folder, validate=False).version for _ in range(n)])
