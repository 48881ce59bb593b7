"""StableKD's stage arithmetic: partitions of the block chain and epochs per stage.

This module is the single source of truth shared by the ``StableKD`` model, the
``StableKDStageHook`` and the ``StageCyclicLR`` scheduler.

Blocks are numbered 1..k and boundaries 0..k-2 (boundary ``b`` sits between block ``b+1`` and
block ``b+2``). A *partition* is given by its active boundaries: a block group ends at every
active boundary.
"""
from typing import List, Optional, Sequence, Tuple


def recompose(active: Sequence[int]) -> Tuple[int, ...]:
    """Apply the recomposing function R once.

    R merges groups i and i+1 for every odd i (1-based). The boundary between groups i and
    i+1 is the i-th active boundary, so R drops the 1st, 3rd, 5th ... active boundary.

    Args:
        active (Sequence[int]): Sorted active boundary indices.

    Returns:
        tuple[int]: The active boundaries after recomposition.
    """
    return tuple(b for pos, b in enumerate(sorted(active), start=1) if pos % 2 == 0)


def max_recompositions(num_blocks: int) -> int:
    """Number of recompositions after which a chain of ``num_blocks`` is one group."""
    active, n = tuple(range(num_blocks - 1)), 0
    while active:
        active, n = recompose(active), n + 1
    return n


def stage_partitions(num_blocks: int, num_recompositions: int) -> List[Tuple[int, ...]]:
    """Active boundaries of every stage of StableKD-k/n.

    Args:
        num_blocks (int): k, the number of blocks (the classifier is the last one).
        num_recompositions (int): n, how many times R is applied.

    Returns:
        list[tuple[int]]: n+1 entries; entry s holds the active boundaries of stage s.
    """
    if num_blocks < 1:
        raise ValueError(f'num_blocks must be >= 1, got {num_blocks}')
    limit = max_recompositions(num_blocks)
    if not 0 <= num_recompositions <= limit:
        raise ValueError(
            f'num_recompositions must be in [0, {limit}] for {num_blocks} blocks '
            f'(after {limit} recompositions a single group is left), got {num_recompositions}')
    stages = [tuple(range(num_blocks - 1))]
    for _ in range(num_recompositions):
        stages.append(recompose(stages[-1]))
    return stages


def groups_of(active: Sequence[int], num_blocks: int) -> List[List[int]]:
    """The block groups (1-based block numbers) that a set of active boundaries makes.

    >>> groups_of((1, 3), 5)
    [[1, 2], [3, 4], [5]]
    """
    groups, current = [], []
    for block in range(1, num_blocks + 1):
        current.append(block)
        if block - 1 in active:
            groups.append(current)
            current = []
    groups.append(current)
    return groups


def format_partition(active: Sequence[int], num_blocks: int) -> str:
    """Human-readable partition, e.g. ``'{12}{34}{5}'``."""
    return ''.join('{' + ''.join(map(str, g)) + '}' for g in groups_of(active, num_blocks))


def stage_epochs(max_epochs: int, num_stages: int,
                 explicit: Optional[Sequence[int]] = None) -> List[int]:
    """Epochs of every training stage.

    The paper's rule for three stages is ``e0 = e1 = floor(e/3), e2 = e - 2*floor(e/3)``. For
    ``num_stages`` stages every stage but the last gets ``floor(e/num_stages)`` epochs and the
    last one the rest.

    Args:
        max_epochs (int): e, total training epochs (``train_cfg.max_epochs``).
        num_stages (int): n+1.
        explicit (Sequence[int], optional): Stage epochs given by the user; must have
            ``num_stages`` positive entries summing to ``max_epochs``.

    Returns:
        list[int]: epochs per stage, summing to ``max_epochs``.
    """
    if explicit is not None:
        explicit = [int(e) for e in explicit]
        if len(explicit) != num_stages or sum(explicit) != max_epochs or min(explicit) < 1:
            raise ValueError(
                f'stage_epochs={explicit} must have {num_stages} positive entries summing to '
                f'train_cfg.max_epochs={max_epochs}')
        return explicit
    if max_epochs < num_stages:
        raise ValueError(
            f'train_cfg.max_epochs={max_epochs} is smaller than the number of training stages '
            f'({num_stages}); every stage needs at least one epoch')
    head = max_epochs // num_stages
    return [head] * (num_stages - 1) + [max_epochs - head * (num_stages - 1)]


def stage_at(epoch: int, epochs_per_stage: Sequence[int]) -> int:
    """Stage index that contains the 0-based ``epoch``."""
    end = 0
    for stage, length in enumerate(epochs_per_stage):
        end += length
        if epoch < end:
            return stage
    return len(epochs_per_stage) - 1
