"""How a snapshot finds each delivery's batch: runs of batch ids that follow each other."""

from __future__ import annotations

from broadcasts.circulars.release import Run, runs


def test_batches_handed_out_one_after_another_are_one_run_per_language() -> None:
    made = [("en", 10), ("en", 11), ("ja", 12), ("ja", 13), ("ja", 14)]
    assert list(runs(made)) == [Run("en", 0, 1, 10), Run("ja", 0, 2, 12)]


def test_ids_taken_in_between_split_a_language_into_runs() -> None:
    # Another transaction took 15 to 19 while this one made its batches (PostgreSQL).
    made = [("ja", 13), ("ja", 14), ("ja", 20), ("ja", 21), ("zh", 30)]
    found = list(runs(made))
    assert found == [Run("ja", 0, 1, 13), Run("ja", 2, 3, 18), Run("zh", 0, 0, 30)]
    # The n-th batch of each language is n + offset within its run.
    for language, position_and_id in (("ja", [(0, 13), (1, 14), (2, 20), (3, 21)]),):
        for n, batch_id in position_and_id:
            run = next(r for r in found if r.language == language and r.first <= n <= r.last)
            assert n + run.offset == batch_id


def test_no_batches_no_runs() -> None:
    assert list(runs([])) == []
