"""The room types a listing photo can show."""

from __future__ import annotations

ROOMS: tuple[str, ...] = ("bathroom", "bedroom", "exterior", "kitchen")
"""The classes the room model is trained on (alphabetical: the model's column order)."""

OTHER = "other"
"""The answer when no room is probable enough (a room the model does not know, or unsure)."""

ANSWERS: tuple[str, ...] = (*ROOMS, OTHER)

FILE_ALIASES: dict[str, str] = {
    "bathroom": "bathroom",
    "bedroom": "bedroom",
    "kitchen": "kitchen",
    "exterior": "exterior",
    "frontal": "exterior",
    "front": "exterior",
    "outside": "exterior",
}
"""Room words found in file or folder names, mapped onto :data:`ROOMS`."""


def room_from_word(word: str) -> str | None:
    """The room a file-name word names, or None.

    >>> room_from_word("Frontal"), room_from_word("garage")
    ('exterior', None)
    """
    return FILE_ALIASES.get(word.strip().lower())
