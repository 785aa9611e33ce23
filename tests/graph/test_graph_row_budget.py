"""``paging.RowBudget``: which pages of a top-N request are wanted (pure)."""

from __future__ import annotations

from o365sql.graph.paging import RowBudget


def _page(*values: int) -> list[dict[str, object]]:
    return [{"d": {"v": v}} for v in values]


def test_no_limit_wants_every_page() -> None:
    budget = RowBudget()
    assert all(budget.more(_page(1, 2)) for _ in range(5))


def test_limit_stops_once_reached() -> None:
    budget = RowBudget(5)
    assert budget.more(_page(1, 2, 3)) is True
    assert budget.more(_page(4, 5)) is False


def test_limit_zero_reads_one_page() -> None:
    assert RowBudget(0).more(_page(1)) is False


def test_ties_continue_while_the_page_ends_in_the_tie() -> None:
    budget = RowBudget(2, ("d/v",))
    assert budget.more(_page(9, 8)) is True  # the 2nd row's tie may go on
    assert budget.more(_page(8, 8)) is True
    assert budget.more(_page(8, 7)) is False  # a row after the tie: done


def test_ties_done_within_the_first_page() -> None:
    budget = RowBudget(2, ("d/v",))
    assert budget.more(_page(9, 8, 7)) is False
    assert RowBudget(2, ("d/v",)).more(_page(9, 8, 8)) is True
