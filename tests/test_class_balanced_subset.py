"""ClassBalancedSubset: fixed-seed, class-balanced fractions of mmpretrain training sets."""
import collections
import pickle

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmstablekd  # noqa: F401
from mmstablekd.datasets import ClassBalancedSubset, balanced_subset_indices
from mmstablekd.registry import DATASETS
from conftest import REPO


def test_same_seed_same_indices_other_seed_other_indices():
    labels = np.repeat(np.arange(10), 50)
    a = balanced_subset_indices(labels, 0.2, seed=0)
    assert a == balanced_subset_indices(labels, 0.2, seed=0)
    assert a != balanced_subset_indices(labels, 0.2, seed=1)
    assert a == sorted(set(a))


@pytest.mark.parametrize('fraction', [0.2, 0.4, 0.6, 0.8, 1.0])
def test_balanced_set_stays_exactly_balanced(fraction):
    labels = np.random.default_rng(3).permutation(np.repeat(np.arange(100), 50))
    idx = balanced_subset_indices(labels, fraction, seed=0)
    counts = collections.Counter(labels[idx].tolist())
    assert set(counts.values()) == {round(50 * fraction)} and len(counts) == 100


def test_imbalanced_set_keeps_class_proportions():
    labels = np.array([0] * 100 + [1] * 30 + [2] * 10 + [3] * 5)
    idx = balanced_subset_indices(labels, 0.2, seed=0)
    assert collections.Counter(labels[idx].tolist()) == {0: 20, 1: 6, 2: 2, 3: 1}
    assert balanced_subset_indices(labels, 1.0, seed=0) == list(range(len(labels)))


def test_unstratifiable_set_is_a_clear_error():
    labels = np.array([0] * 10 + [1] * 1)  # sklearn cannot stratify a one-sample class
    with pytest.raises(ValueError, match=r'ClassBalancedSubset: cannot keep .*0\.5 of 11'):
        balanced_subset_indices(labels, 0.5, seed=0)


def test_selection_is_random_not_the_first_samples_of_each_class():
    labels = np.repeat(np.arange(4), 100)
    idx = balanced_subset_indices(labels, 0.5, seed=0)
    # random, not the first half of every class
    assert idx != [i for c in range(4) for i in range(100 * c, 100 * c + 50)]


def write_fake_cifar100(root, per_class=5, seed=0):
    """A CIFAR-100 with mmpretrain's on-disk format (cifar-100-python/{train,test,meta})."""
    rng = np.random.default_rng(seed)
    folder = root / 'cifar-100-python'
    folder.mkdir(parents=True)
    for split, n in (('train', per_class), ('test', 1)):
        labels = rng.permutation(np.repeat(np.arange(100), n)).tolist()
        data = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
        (folder / split).write_bytes(pickle.dumps({'data': data, 'fine_labels': labels}))
    (folder / 'meta').write_bytes(pickle.dumps({'fine_label_names': [str(i)
                                                                     for i in range(100)]}))
    return root


@pytest.mark.parametrize('percent', [20, 40, 60, 80])
def test_table2_configs_wrap_mmpretrain_cifar100(percent, tmp_path, monkeypatch):
    # The fake files have other checksums than the real ones.
    monkeypatch.setattr('mmpretrain.datasets.cifar.check_md5', lambda *a, **k: True)
    root = write_fake_cifar100(tmp_path, per_class=10)
    cfg = Config.fromfile(REPO / f'configs/stablekd/resnet18_r34_cifar100_subset-{percent}.py')
    ds_cfg = cfg.train_dataloader.dataset
    assert ds_cfg.type == 'ClassBalancedSubset' and ds_cfg.fraction == percent / 100
    assert ds_cfg.dataset.type == 'LocalCIFAR100' and ds_cfg.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.type == 'LocalCIFAR100'  # validation on the full test set
    assert cfg.train_cfg.max_epochs == 300
    ds_cfg.dataset.data_root = str(root)
    init_default_scope('mmpretrain')
    subset = DATASETS.build(ds_cfg)
    assert len(subset) == 100 * percent // 10
    counts = collections.Counter(subset.get_cat_ids(i)[0] for i in range(len(subset)))
    assert set(counts.values()) == {percent // 10}
    item = subset[0]  # the CIFAR pipeline runs on the selected sample
    assert item['inputs'].shape == (3, 32, 32)
    assert item['data_samples'].gt_label.item() == subset.get_cat_ids(0)[0]
    assert subset.metainfo['classes'][:2] == ('apple', 'aquarium_fish')
    again = DATASETS.build(ds_cfg)  # e.g. another DDP rank: the same subset
    assert again.indices == subset.indices


def test_wraps_the_quickstart_digits_data(tmp_path):
    from mmstablekd.datasets.digits import write_digits_dataset
    meta = write_digits_dataset(tmp_path / 'digits')
    init_default_scope('mmpretrain')
    subset = ClassBalancedSubset(
        dict(type='CustomDataset', data_root=str(tmp_path / 'digits'), data_prefix='train',
             pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]),
        fraction=0.4, seed=7)
    full = subset.dataset
    counts = collections.Counter(subset.get_cat_ids(i)[0] for i in range(len(subset)))
    n_train = meta['counts']['train']
    assert len(subset) == int(0.4 * sum(n_train))
    assert all(abs(counts[c] - 0.4 * n) < 1 for c, n in enumerate(n_train))
    # the wrapper's samples are the full set's samples at the selected indices
    assert subset.get_data_info(3)['img_path'] == full.get_data_info(subset.indices[3])['img_path']
    assert subset[3]['data_samples'].gt_label.item() == subset.get_cat_ids(3)[0]


def test_wraps_the_tiny_folder_data_lazily(tiny_data_root):
    init_default_scope('mmpretrain')
    subset = DATASETS.build(dict(
        type='ClassBalancedSubset', fraction=0.5, seed=0, lazy_init=True,
        dataset=dict(type='CustomDataset', data_root=str(tiny_data_root), data_prefix='train',
                     pipeline=[dict(type='PackInputs')], lazy_init=True)))
    assert not subset._fully_initialized
    assert len(subset) == 16  # 4 classes x 8 images x 0.5
    assert sorted(subset.get_gt_labels().tolist()) == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4


@pytest.mark.parametrize('kw,err,match', [
    (dict(fraction=0), ValueError, r'dataset.fraction must be a number in \(0, 1\], got 0'),
    (dict(fraction=1.5), ValueError, 'dataset.fraction'),
    (dict(fraction='20%'), ValueError, 'dataset.fraction'),
    (dict(fraction=0.2, seed=0.5), TypeError, 'dataset.seed'),
])
def test_bad_arguments_are_clear_errors(kw, err, match, tiny_data_root):
    with pytest.raises(err, match=match):
        ClassBalancedSubset(dict(type='CustomDataset', data_root=str(tiny_data_root),
                                 data_prefix='train'), **kw)
