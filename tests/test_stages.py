"""Partitions and stage epochs of StableKD-k/n (utils/stages.py)."""
import pytest

from mmstablekd.utils.stages import (format_partition, max_recompositions, stage_at,
                                     stage_epochs, stage_partitions)

# Written out by hand from the paper's definition of R (merge groups i, i+1 for odd i).
EXPECTED = {
    3: ['{1}{2}{3}', '{12}{3}', '{123}'],
    4: ['{1}{2}{3}{4}', '{12}{34}', '{1234}'],
    5: ['{1}{2}{3}{4}{5}', '{12}{34}{5}', '{1234}{5}', '{12345}'],
}


@pytest.mark.parametrize('k', [3, 4, 5])
@pytest.mark.parametrize('n', [0, 1, 2, 3])
def test_partitions(k, n):
    if n > len(EXPECTED[k]) - 1:
        with pytest.raises(ValueError, match='num_recompositions must be in'):
            stage_partitions(k, n)
        return
    stages = stage_partitions(k, n)
    assert len(stages) == n + 1
    assert [format_partition(a, k) for a in stages] == EXPECTED[k][:n + 1]


def test_five_three_ends_in_vanilla_kd():
    assert stage_partitions(5, 3)[-1] == ()
    assert max_recompositions(5) == 3
    assert max_recompositions(1) == 0


def test_stage_epochs_paper_rule():
    assert stage_epochs(60, 3) == [20, 20, 20]
    assert stage_epochs(20, 3) == [6, 6, 8]  # e0 = e1 = floor(e/3), e2 = e - 2 floor(e/3)
    assert stage_epochs(3, 3) == [1, 1, 1]
    assert stage_epochs(90, 4) == [22, 22, 22, 24]
    assert stage_epochs(7, 1) == [7]
    assert stage_epochs(10, 3, explicit=[2, 3, 5]) == [2, 3, 5]


def test_stage_epochs_errors():
    with pytest.raises(ValueError, match='max_epochs=2 is smaller'):
        stage_epochs(2, 3)
    with pytest.raises(ValueError, match='summing to train_cfg.max_epochs=10'):
        stage_epochs(10, 3, explicit=[2, 3, 4])


def test_stage_at():
    epochs = [6, 6, 8]
    assert [stage_at(e, epochs) for e in (0, 5, 6, 11, 12, 19)] == [0, 0, 1, 1, 2, 2]
