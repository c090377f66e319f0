"""The owner's notes say what was done with what they gave: swapped or ignored coordinates,
an unusual area per room."""

from __future__ import annotations

import pytest

from estimo.explain.labels import Labeler
from estimo.explain.text import note_sentences

IGNORED = "coordinates were implausible (outside city); ignored"
NONE = "the property has no coordinates: comparables were matched on features only"
SWAPPED = "latitude and longitude were swapped; swapped back"
LARGE = (
    "300 m² for 2 rooms is 150 m² per room, more than the usual 120: check the area and rooms; "
    "the range is widened"
)


@pytest.mark.parametrize("lang", ["en", "it", "es"])
def test_repairs_of_what_the_owner_gave_are_said(lang: str) -> None:
    notes = note_sentences([IGNORED, NONE, SWAPPED, LARGE], Labeler(lang))
    assert len(notes) == 3  # ignored coordinates say why; not also "we do not know where"
    assert any("150 m²" in n and "300 m²" in n for n in notes)
    alone = note_sentences([NONE], Labeler(lang))
    assert len(alone) == 1 and alone[0] not in notes


def test_english_says_an_eight_room_house_and_a_whole_imputed_year() -> None:
    """'A 8-room house' and 'year_built was missing; used 1986.5 (city)'."""
    from estimo.explain.text import english_article
    from estimo.quality.clean import _as_people_count

    assert [english_article(n) for n in (8, 11, 18, 83, 2)] == ["an", "an", "an", "an", "a"]
    assert _as_people_count("year_built", 1986.5) == 1986.0
    assert _as_people_count("area_m2", 82.5) == 82.5
