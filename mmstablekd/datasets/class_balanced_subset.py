"""A fixed-seed, class-balanced random fraction of a training set (StableKD Table 2)."""
import copy
from typing import List, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from sklearn.model_selection import train_test_split

from mmstablekd.registry import DATASETS


def balanced_subset_indices(labels: Sequence[int], fraction: float, seed: int) -> List[int]:
    """Indices of a stratified random subset.

    ``sklearn.model_selection.train_test_split(stratify=labels, random_state=seed)`` keeps
    ``floor(fraction * N)`` of the ``N`` samples, spread over the classes in proportion to
    their size (scikit-learn rounds the per-class counts so they add up), so the class
    proportions of the full set are preserved and a balanced set (CIFAR-100: 500 per class)
    stays exactly balanced (20 %: 100 per class). ``fraction=1`` keeps everything.

    Args:
        labels (Sequence[int]): Label of every sample of the full set.
        fraction (float): Kept fraction, ``0 < fraction <= 1``.
        seed (int): Random seed; the same labels, fraction and seed give the same indices.

    Returns:
        list[int]: Sorted indices into the full set.

    Raises:
        ValueError: The split cannot be stratified (a class with a single sample, or fewer
            kept/left-out samples than classes); the message says which and why.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if fraction >= 1:
        return list(range(len(labels)))
    try:
        keep, _ = train_test_split(np.arange(len(labels)), train_size=fraction,
                                   stratify=labels, random_state=seed)
    except ValueError as e:
        raise ValueError(f'ClassBalancedSubset: cannot keep a class-balanced fraction '
                         f'{fraction} of {len(labels)} samples in '
                         f'{len(np.unique(labels))} classes: {e}') from e
    return sorted(int(i) for i in keep)


@DATASETS.register_module()
class ClassBalancedSubset:
    """Wrap a single-label classification dataset and keep a class-balanced random fraction.

    The paper's data-efficiency study (StableKD, Table 2) trains on 20/40/60/80 % of the
    training set. This wrapper selects, once, ``fraction`` of the samples of every class with
    a fixed ``seed`` (see :func:`balanced_subset_indices`), so every run and every DDP rank
    with the same seed sees the same subset; ``DefaultSampler`` then shuffles within it.
    Validation/test sets should not be wrapped.

    Example::

        train_dataloader = dict(dataset=dict(
            type='ClassBalancedSubset', fraction=0.2, seed=0,
            dataset=dict(type='CIFAR100', data_root='data/cifar100', split='train', ...)))

    Args:
        dataset (dict | BaseDataset): The full dataset or its config (any mmpretrain
            single-label dataset, or a wrapper providing ``get_cat_ids``).
        fraction (float): Kept fraction of every class, ``0 < fraction <= 1``.
        seed (int): Seed of the selection (independent of the training ``randomness``).
        lazy_init (bool): Defer loading the annotations until first use.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], fraction: float, seed: int = 0,
                 lazy_init: bool = False) -> None:
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not 0 < fraction <= 1:
            raise ValueError(f'ClassBalancedSubset: dataset.fraction must be a number in '
                             f'(0, 1], got {fraction!r}')
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f'ClassBalancedSubset: dataset.seed must be an int, got {seed!r}')
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if not hasattr(dataset, 'get_cat_ids'):
            raise TypeError(f'ClassBalancedSubset: dataset.dataset must be a classification '
                            f'dataset with get_cat_ids(), got {type(dataset).__name__}')
        self.dataset = dataset
        self.fraction = float(fraction)
        self.seed = seed
        self._metainfo = dataset.metainfo
        self.indices: List[int] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """Meta information of the wrapped dataset (e.g. ``classes``)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Load the wrapped dataset and select the subset."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        self.indices = balanced_subset_indices(self._labels(), self.fraction, self.seed)
        self._fully_initialized = True

    def _labels(self) -> List[int]:
        if hasattr(self.dataset, 'get_gt_labels'):
            return [int(y) for y in self.dataset.get_gt_labels()]
        labels = []
        for i in range(len(self.dataset)):
            cats = self.dataset.get_cat_ids(i)
            if len(cats) != 1:
                raise ValueError(f'ClassBalancedSubset needs single-label data; sample {i} has '
                                 f'labels {list(cats)}')
            labels.append(int(cats[0]))
        return labels

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """Labels of the ``idx``-th sample of the subset."""
        return self.dataset.get_cat_ids(self.indices[idx])

    @force_full_init
    def get_gt_labels(self) -> np.ndarray:
        """(len(self),) labels of the subset."""
        return np.array([self.dataset.get_cat_ids(i)[0] for i in self.indices])

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Annotation of the ``idx``-th sample of the subset."""
        return self.dataset.get_data_info(self.indices[idx])

    def __getitem__(self, idx: int):
        if not self._fully_initialized:
            self.full_init()
        return self.dataset[self.indices[idx]]

    @force_full_init
    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(fraction={self.fraction}, seed={self.seed}, '
                f'{len(self.indices)} of {len(self.dataset)} samples, dataset='
                f'{type(self.dataset).__name__})')
