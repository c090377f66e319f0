"""The checklist of a listing's photos: which required rooms are shown, missing or doubtful.

Which rooms a listing needs depends on its property type and is configurable
(:class:`ChecklistPolicy`); a required room is

- ``present`` when at least one photo is classified as that room with enough confidence;
- ``doubtful`` when no photo is, but some photo's most probable room is it (the model was
  unsure: the seller should check it or add a clearer photo);
- ``missing`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estimo.photos.rooms import ROOMS

DEFAULT_REQUIRED: dict[str, tuple[str, ...]] = {
    "default": ("exterior", "kitchen", "bathroom", "bedroom"),
    "flat": ("kitchen", "bathroom", "bedroom"),
    "apartment": ("kitchen", "bathroom", "bedroom"),
    "studio": ("kitchen", "bathroom"),
    "house": ("exterior", "kitchen", "bathroom", "bedroom"),
    "land": ("exterior",),
    "garage": ("exterior",),
    "commercial": ("exterior", "bathroom"),
}
"""Required rooms per property type; ``default`` for types not listed."""


@dataclass(frozen=True)
class ChecklistPolicy:
    """Which rooms a listing must show, per property type.

    Parameters
    ----------
    required : Mapping
        Property type (lower case) -> rooms; the ``default`` entry serves unknown types.

    Examples
    --------
    >>> ChecklistPolicy().required_for("Flat")
    ('kitchen', 'bathroom', 'bedroom')
    >>> ChecklistPolicy({"default": ["kitchen"]}).required_for(None)
    ('kitchen',)
    """

    required: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_REQUIRED))

    def __post_init__(self) -> None:
        if "default" not in self.required:
            raise ValueError(
                f"checklist policy has types {sorted(self.required)!r}; expected a 'default' entry"
            )
        for kind, rooms in self.required.items():
            if isinstance(rooms, str):
                raise ValueError(
                    f"checklist policy for {kind!r} is {rooms!r}; expected a list of rooms"
                )
            unknown = [room for room in rooms if room not in ROOMS]
            if unknown:
                raise ValueError(
                    f"checklist policy for {kind!r} names room {unknown[0]!r}; "
                    f"expected rooms among {', '.join(ROOMS)}"
                )

    def required_for(self, property_type: str | None) -> tuple[str, ...]:
        """The rooms required for a property type (the default for unknown or None)."""
        key = (property_type or "default").strip().lower()
        return tuple(self.required.get(key, self.required["default"]))

    @classmethod
    def from_file(cls, path: str | Path) -> ChecklistPolicy:
        """Read a policy from JSON or YAML: ``{default: [...], flat: [...], ...}``."""
        path = Path(path)
        text = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError(
                f"checklist policy {str(path)!r} holds {type(raw).__name__}; "
                "expected a mapping of property type -> rooms"
            )
        return cls({str(k).lower(): list(v) for k, v in raw.items()})


@dataclass(frozen=True)
class PhotoRoom:
    """The room answer for one photo, as the checklist sees it."""

    file: str
    room: str
    candidate: str
    probability: float


def build_checklist(
    photos: Sequence[PhotoRoom],
    required: Sequence[str],
    duplicates: Sequence[Sequence[str]] = (),
    unusable: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The checklist of one listing.

    Parameters
    ----------
    photos : sequence of PhotoRoom
        Room answers of the listing's photos.
    required : sequence of str
        Rooms the listing must show.
    duplicates : sequence of sequence of str
        Groups of duplicate photos (from :func:`estimo.photos.duplicates.duplicate_groups`).
    unusable : mapping of str to str, optional
        Files that are not photos of a room (too small, blank, noise) -> why; they never
        count for a room and should not be in ``photos``.

    Returns
    -------
    dict
        ``required``, ``present``, ``doubtful``, ``missing`` (room lists), ``rooms`` (room ->
        files showing it), ``doubtful_files`` (room -> files that may show it), ``duplicates``,
        ``unusable`` (file -> reason) and ``complete`` (no room missing or doubtful).

    Examples
    --------
    >>> photos = [PhotoRoom("a.jpg", "kitchen", "kitchen", 0.93),
    ...           PhotoRoom("b.jpg", "other", "bathroom", 0.51)]
    >>> c = build_checklist(photos, ["kitchen", "bathroom", "bedroom"])
    >>> c["present"], c["doubtful"], c["missing"], c["complete"]
    (['kitchen'], ['bathroom'], ['bedroom'], False)
    """
    rooms: dict[str, list[str]] = {}
    maybe: dict[str, list[str]] = {}
    for photo in photos:
        if photo.room in ROOMS:
            rooms.setdefault(photo.room, []).append(photo.file)
        else:
            maybe.setdefault(photo.candidate, []).append(photo.file)
    present = [room for room in required if room in rooms]
    doubtful = [room for room in required if room not in rooms and room in maybe]
    missing = [room for room in required if room not in rooms and room not in maybe]
    return {
        "required": list(required),
        "present": present,
        "doubtful": doubtful,
        "missing": missing,
        "rooms": rooms,
        "doubtful_files": {room: maybe[room] for room in doubtful},
        "duplicates": [list(group) for group in duplicates],
        "unusable": dict(unusable or {}),
        "complete": not (missing or doubtful),
    }
