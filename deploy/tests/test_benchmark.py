"""The benchmark's verdict on a step's backlog (deploy/bench): bounded or growing."""
import random
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "deploy"))
from bench.benchmark import lag_bounded, slope  # noqa: E402


def samples(backlogs: list[float]) -> list[dict]:
    return [{"t": float(i), "backlog": b} for i, b in enumerate(backlogs)]


def test_slope_is_the_least_squares_fit():
    assert slope([0, 1, 2, 3], [5, 7, 9, 11]) == 2.0
    assert slope([1], [5]) == 0.0
    assert slope([2, 2], [1, 9]) == 0.0


def test_a_backlog_that_jumps_by_batches_but_does_not_grow_is_bounded():
    rng = random.Random(7)
    # 50k ticks/s, batches of up to 5k rows in flight, and one last sample caught just before a commit.
    backlog = [rng.uniform(0, 5000) for _ in range(39)] + [13_500]
    growth, bounded = lag_bounded(samples(backlog), 50_000)
    assert bounded, growth


def test_a_backlog_that_keeps_growing_is_not_bounded():
    backlog = [i * 3000 + (i % 3) * 2000 for i in range(40)]  # 3k/s more than the pipeline takes
    growth, bounded = lag_bounded(samples(backlog), 50_000)
    assert not bounded
    assert 2500 < growth < 3500


def test_a_backlog_left_at_the_end_of_more_than_three_seconds_is_not_bounded():
    growth, bounded = lag_bounded(samples([160_000] * 40), 50_000)
    assert growth == 0.0
    assert not bounded
