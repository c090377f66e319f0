from __future__ import annotations

import pandas as pd
import pytest

from estimo.errors import DataError
from estimo.split import default_cutoff, out_of_time_split


def frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "price": range(1, len(rows) + 1),
        }
    )


def test_relisted_property_never_lands_on_both_sides(market) -> None:
    split = out_of_time_split(market.frame, "2023-06-01")
    assert not set(split.train["id"]) & set(split.test["id"])
    assert split.test["id"].is_unique
    assert (split.train["date"] < split.cutoff).all()
    assert (split.test["date"] >= split.cutoff).all()


def test_test_side_keeps_first_appearance_after_cutoff() -> None:
    rows = [("a", "2024-01-01"), ("b", "2024-03-05"), ("b", "2024-03-02"), ("c", "2024-04-01")]
    split = out_of_time_split(frame(rows), "2024-03-01")
    assert split.test.set_index("id").loc["b", "date"] == pd.Timestamp("2024-03-02")
    assert split.n_test_repeats == 1 and split.n_test_seen_ids == 0


def test_rows_of_seen_properties_are_counted() -> None:
    rows = [("a", "2024-01-01"), ("a", "2024-03-05"), ("c", "2024-04-01")]
    split = out_of_time_split(frame(rows), "2024-03-01")
    assert split.n_test_seen_ids == 1
    assert split.test["id"].tolist() == ["c"]


@pytest.mark.parametrize(
    ("cutoff", "fragment"),
    [("2020-01-01", "no training rows"), ("2030-01-01", "no test rows"), ("soon", "not a date")],
)
def test_cutoff_outside_the_data(cutoff: str, fragment: str) -> None:
    rows = [("a", "2024-01-01"), ("b", "2024-03-05")]
    with pytest.raises(DataError, match=fragment) as info:
        out_of_time_split(frame(rows), cutoff)
    if fragment != "not a date":
        assert "2024-01-01 to 2024-03-05" in str(info.value)


def test_cutoff_where_every_test_property_was_seen() -> None:
    rows = [("a", "2024-01-01"), ("a", "2024-03-05")]
    with pytest.raises(DataError, match="already appears"):
        out_of_time_split(frame(rows), "2024-02-01")


def test_default_cutoff_leaves_about_a_fifth_for_testing(market) -> None:
    cut = default_cutoff(market.frame)
    share = (market.frame["date"] >= cut).mean()
    assert cut.day == 1
    assert 0.1 < share < 0.35
